//! The public catalogue: storing an API with its search index, and searching by text and categories.
//!
//! Search is served from two narrow indexed tables: `portal_api_category` (one row per API and category,
//! so several categories combine with OR through one indexed `IN`) and `portal_api_search` (status, name
//! and lower-cased
//! text; every query word must occur). Results come by name, then id, so paging is stable.

use super::PortalState;
use crate::{
    api_error::ApiError,
    storage::entity::{
        organisation, portal_api, portal_api_category, portal_api_search, portal_api_version,
    },
};
use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait, LikeExpr, OnConflict, Query},
};
use serde::Serialize;
use std::sync::Arc;

pub const PUBLISHED: &str = "published";
pub const UNPUBLISHED: &str = "unpublished";
pub const DEFAULT_PER_PAGE: u64 = 20;
pub const MAX_PER_PAGE: u64 = 100;
/// At most this many categories and query words count; more is a 400.
pub const MAX_FILTERS: usize = 20;

pub fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// What text search looks in, lower-cased.
pub fn search_text(api: &portal_api::Model) -> String {
    let categories = json_list(&api.categories).join(" ");
    [
        api.name.as_str(),
        api.slug.as_str(),
        api.summary.as_str(),
        api.description.as_str(),
        api.provider.as_str(),
        categories.as_str(),
    ]
    .join("\n")
    .to_lowercase()
}

/// Upserts the API by slug, then replaces its category rows and records its current version.
pub async fn store_api(
    db: &sea_orm::DatabaseConnection,
    mut api: portal_api::Model,
) -> Result<portal_api::Model, DbErr> {
    if api.status.is_empty() {
        api.status = PUBLISHED.to_owned();
    }
    let text = search_text(&api);
    api.updated_at = crate::jst::now_rfc3339();
    let txn = db.begin().await?;
    use portal_api::Column as C;
    let mut update = vec![
        C::Name,
        C::Summary,
        C::Description,
        C::Provider,
        C::ProviderClientId,
        C::Categories,
        C::Scopes,
        C::ConsentRequired,
        C::PathTemplate,
        C::Openapi,
        C::Terms,
        C::Status,
        C::Version,
        C::UpdatedAt,
    ];
    if api.organisation_id.is_some() {
        update.push(C::OrganisationId);
    }
    let row = portal_api::ActiveModel {
        id: Default::default(),
        slug: Set(api.slug.clone()),
        name: Set(api.name),
        summary: Set(api.summary),
        description: Set(api.description),
        provider: Set(api.provider),
        provider_client_id: Set(api.provider_client_id),
        categories: Set(api.categories),
        scopes: Set(api.scopes),
        consent_required: Set(api.consent_required),
        path_template: Set(api.path_template),
        openapi: Set(api.openapi.clone()),
        organisation_id: Set(api.organisation_id),
        terms: Set(api.terms),
        status: Set(api.status),
        version: Set(api.version.clone()),
        updated_at: Set(api.updated_at.clone()),
    };
    portal_api::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::Slug)
                .update_columns(update)
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    let stored = portal_api::Entity::find()
        .filter(C::Slug.eq(&api.slug))
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(api.slug.clone()))?;
    write_search_row(&txn, &stored, text).await?;
    portal_api_category::Entity::delete_many()
        .filter(portal_api_category::Column::ApiId.eq(stored.id))
        .exec(&txn)
        .await?;
    let mut categories = json_list(&stored.categories);
    categories.sort();
    categories.dedup();
    if !categories.is_empty() {
        portal_api_category::Entity::insert_many(categories.into_iter().map(|category| {
            portal_api_category::ActiveModel {
                id: Default::default(),
                api_id: Set(stored.id),
                category: Set(category),
            }
        }))
        .exec(&txn)
        .await?;
    }
    if !stored.version.is_empty() {
        use portal_api_version::Column as V;
        portal_api_version::Entity::insert(portal_api_version::ActiveModel {
            id: Default::default(),
            api_id: Set(stored.id),
            version: Set(stored.version.clone()),
            openapi: Set(stored.openapi.clone()),
            created_at: Set(stored.updated_at.clone()),
        })
        .on_conflict(
            OnConflict::columns([V::ApiId, V::Version])
                .update_column(V::Openapi)
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(stored)
}

async fn write_search_row(
    db: &impl ConnectionTrait,
    api: &portal_api::Model,
    text: String,
) -> Result<(), DbErr> {
    use portal_api_search::Column as S;
    portal_api_search::Entity::insert(portal_api_search::ActiveModel {
        api_id: Set(api.id),
        status: Set(api.status.clone()),
        name: Set(api.name.clone()),
        search_text: Set(text),
    })
    .on_conflict(
        OnConflict::column(S::ApiId)
            .update_columns([S::Status, S::Name, S::SearchText])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Publishes or unpublishes `api` (catalogue row and search row together).
pub async fn set_status(
    db: &sea_orm::DatabaseConnection,
    api: portal_api::Model,
    status: &str,
) -> Result<portal_api::Model, DbErr> {
    use sea_orm::ActiveModelTrait;
    let txn = db.begin().await?;
    let text = search_text(&api);
    let mut active: portal_api::ActiveModel = api.into();
    active.status = Set(status.to_owned());
    active.updated_at = Set(crate::jst::now_rfc3339());
    let stored = active.update(&txn).await?;
    write_search_row(&txn, &stored, text).await?;
    txn.commit().await?;
    Ok(stored)
}

/// A catalogue search: words that must all occur, categories of which one must match, a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub words: Vec<String>,
    pub categories: Vec<String>,
    /// From 1.
    pub page: u64,
    pub per_page: u64,
}

impl SearchQuery {
    /// `q=…&category=…&category=…&page=…&per_page=…`; repeated `category` means any of them.
    pub fn parse(raw: Option<&str>) -> Result<SearchQuery, ApiError> {
        let mut query = SearchQuery {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            ..Default::default()
        };
        let number = |field: &str, value: &str, max: u64| -> Result<u64, ApiError> {
            value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!(
                            "{field}: 1 から {max} までの整数 / A whole number from 1 to {max}."
                        ),
                    )
                })
        };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "q" => query
                    .words
                    .extend(value.to_lowercase().split_whitespace().map(str::to_owned)),
                "category" => {
                    let c = value.trim();
                    if !c.is_empty() && !query.categories.iter().any(|x| x == c) {
                        query.categories.push(c.to_owned());
                    }
                }
                "page" => query.page = number("page", &value, 1_000_000)?,
                "per_page" => query.per_page = number("per_page", &value, MAX_PER_PAGE)?,
                _ => {}
            }
        }
        if query.words.len() > MAX_FILTERS || query.categories.len() > MAX_FILTERS {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "q, category: 検索語・カテゴリはそれぞれ {MAX_FILTERS} 個まで / At most {MAX_FILTERS} words and {MAX_FILTERS} categories."
                ),
            ));
        }
        Ok(query)
    }
}

/// One catalogue tile.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CatalogueItem {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub provider: String,
    pub provider_client_id: String,
    pub categories: Vec<String>,
    pub scopes: Vec<String>,
    pub consent_required: bool,
    pub version: String,
    pub updated_at: String,
}

impl From<&portal_api::Model> for CatalogueItem {
    fn from(a: &portal_api::Model) -> Self {
        CatalogueItem {
            slug: a.slug.clone(),
            name: a.name.clone(),
            summary: a.summary.clone(),
            provider: a.provider.clone(),
            provider_client_id: a.provider_client_id.clone(),
            categories: json_list(&a.categories),
            scopes: json_list(&a.scopes),
            consent_required: a.consent_required,
            version: a.version.clone(),
            updated_at: a.updated_at.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SearchPage {
    pub items: Vec<CatalogueItem>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
}

/// `%`, `_` and `\` in a word match themselves.
fn like_pattern(word: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(word.len() + 2);
    escaped.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

/// Published APIs matching `query`, by name then id: the ids of one page come from the narrow search
/// rows (and the category index), then the page's catalogue rows are read by id.
pub async fn search(db: &impl ConnectionTrait, query: &SearchQuery) -> Result<SearchPage, DbErr> {
    use portal_api_search::Column as S;
    let mut condition = Condition::all().add(S::Status.eq(PUBLISHED));
    for word in &query.words {
        condition = condition.add(Expr::col(S::SearchText).like(like_pattern(word)));
    }
    if !query.categories.is_empty() {
        condition = condition.add(
            S::ApiId.in_subquery(
                Query::select()
                    .column(portal_api_category::Column::ApiId)
                    .from(portal_api_category::Entity)
                    .and_where(
                        portal_api_category::Column::Category.is_in(query.categories.clone()),
                    )
                    .to_owned(),
            ),
        );
    }
    let select = portal_api_search::Entity::find().filter(condition);
    let total = select.clone().count(db).await?;
    let ids: Vec<i64> = select
        .select_only()
        .column(S::ApiId)
        .order_by_asc(S::Name)
        .order_by_asc(S::ApiId)
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
        .into_tuple()
        .all(db)
        .await?;
    let mut rows = portal_api::Entity::find()
        .filter(portal_api::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(SearchPage {
        items: rows.iter().map(CatalogueItem::from).collect(),
        total,
        page: query.page,
        per_page: query.per_page,
        pages: total.div_ceil(query.per_page),
    })
}

/// `GET /api/v1/catalogue?q=&category=&category=&page=&per_page=` (no login).
#[utoipa::path(
    get,
    path = "/api/v1/catalogue",
    tag = "catalogue",
    params(("q" = Option<String>, Query, description = "Words, all must match"), ("category" = Option<Vec<String>>, Query, description = "Categories, any may match (repeat the parameter)"), ("page" = Option<u64>, Query, description = "Page, from 1"), ("per_page" = Option<u64>, Query, description = "Items per page")),
    responses(
        (status = 200, description = "A page of published APIs", body = SearchPage),
    ),
)]
pub async fn search_json(
    State(state): State<Arc<PortalState>>,
    RawQuery(raw): RawQuery,
) -> Result<super::workflow::SafeJson<SearchPage>, ApiError> {
    let query = SearchQuery::parse(raw.as_deref())?;
    search(&state.db, &query)
        .await
        .map(super::workflow::SafeJson)
        .map_err(ApiError::internal)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: String,
    pub created_at: String,
}

/// Every category in use by a published API, with how many APIs carry it (for the filter list).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub apis: i64,
}

/// `GET /api/v1/catalogue/categories`.
#[utoipa::path(
    get,
    path = "/api/v1/catalogue/categories",
    tag = "catalogue",
    responses(
        (status = 200, description = "Every category in use, with its number of APIs", body = Object),
    ),
)]
pub async fn categories_json(
    State(state): State<Arc<PortalState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = category_counts(&state.db)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({ "categories": list })))
}

/// Every category of a published API with its number of APIs, by name.
pub async fn category_counts(db: &impl ConnectionTrait) -> Result<Vec<CategoryCount>, DbErr> {
    use portal_api_category::Column as K;
    let rows: Vec<(String, i64)> = portal_api_category::Entity::find()
        .select_only()
        .column(K::Category)
        .column_as(K::ApiId.count(), "apis")
        .filter(
            K::ApiId.in_subquery(
                Query::select()
                    .column(portal_api::Column::Id)
                    .from(portal_api::Entity)
                    .and_where(portal_api::Column::Status.eq(PUBLISHED))
                    .to_owned(),
            ),
        )
        .group_by(K::Category)
        .order_by_asc(K::Category)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(category, apis)| CategoryCount { category, apis })
        .collect())
}

/// The detail of one API: everything of a tile, plus description, terms, versions and the document.
pub async fn detail(
    db: &impl ConnectionTrait,
    api: &portal_api::Model,
) -> Result<serde_json::Value, DbErr> {
    let versions = portal_api_version::Entity::find()
        .filter(portal_api_version::Column::ApiId.eq(api.id))
        .order_by_desc(portal_api_version::Column::Id)
        .all(db)
        .await?;
    let organisation = match api.organisation_id {
        Some(id) => organisation::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let openapi: serde_json::Value =
        serde_json::from_str(&api.openapi).unwrap_or(serde_json::Value::Null);
    Ok(serde_json::json!({
        "api": CatalogueItem::from(api),
        "description": api.description,
        "terms": api.terms,
        "status": api.status,
        "path_template": api.path_template,
        "provider_organisation": organisation.map(|o| serde_json::json!({ "id": o.id, "name": o.name })),
        "versions": versions.iter().map(|v| VersionView { version: v.version.clone(), created_at: v.created_at.clone() }).collect::<Vec<_>>(),
        "openapi": openapi,
    }))
}

/// `GET /api/v1/catalogue/{slug}` (no login): a published API's detail, else 404.
#[utoipa::path(
    get,
    path = "/api/v1/catalogue/{slug}",
    tag = "catalogue",
    params(("slug" = String, Path, description = "API slug")),
    responses(
        (status = 200, description = "The API with its OpenAPI document and versions", body = Object),
    ),
)]
pub async fn detail_json(
    State(state): State<Arc<PortalState>>,
    Path(slug): Path<String>,
) -> Result<super::workflow::SafeJson<serde_json::Value>, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "api: {} は公開されていません / No published API {}.",
                crate::api_error::clip(&slug),
                crate::api_error::clip(&slug)
            ),
        )
    };
    let api = portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(&slug))
        .one(&state.db)
        .await
        .map_err(ApiError::internal)?
        .filter(|a| a.status == PUBLISHED)
        .ok_or_else(not_found)?;
    detail(&state.db, &api)
        .await
        .map(super::workflow::SafeJson)
        .map_err(ApiError::internal)
}
