//! The portal's data as the UI reads it: `PortalData` over the database, plus the same as JSON.

use super::PortalState;
use super::catalogue::{self, CatalogueItem, PUBLISHED, SearchQuery};
use crate::{
    api_error::ApiError,
    storage::entity::{organisation, portal_api, portal_exchange},
};
use axum::{Json, extract::State};
use renkei_app::model::{
    ApiDetail, ApiSummary, BoxFuture, CATALOGUE_PER_PAGE, CataloguePage, CatalogueQuery,
    CategoryCount, ExchangeView, PortalData,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::Arc;

pub struct DbPortalData {
    pub db: DatabaseConnection,
}

fn summary(api: &portal_api::Model) -> ApiSummary {
    let list = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
    ApiSummary {
        slug: api.slug.clone(),
        name: api.name.clone(),
        summary: api.summary.clone(),
        provider: api.provider.clone(),
        provider_client_id: api.provider_client_id.clone(),
        categories: list(&api.categories),
        scopes: list(&api.scopes),
        consent_required: api.consent_required,
        path_template: api.path_template.clone(),
    }
}

/// A search result as a tile shows it (tiles do not show the path template).
fn tile(item: CatalogueItem) -> ApiSummary {
    ApiSummary {
        slug: item.slug,
        name: item.name,
        summary: item.summary,
        provider: item.provider,
        provider_client_id: item.provider_client_id,
        categories: item.categories,
        scopes: item.scopes,
        consent_required: item.consent_required,
        path_template: String::new(),
    }
}

fn view(r: portal_exchange::Model) -> ExchangeView {
    ExchangeView {
        node: r.node,
        seq: r.seq,
        request_id: r.request_id,
        time: r.time,
        role: r.role,
        requester: r.requester,
        provider: r.provider,
        method: r.method,
        path: r.path,
        status: u16::try_from(r.status).unwrap_or(0),
        latency_ms: r.latency_ms,
        outcome: r.outcome,
        error_code: r.error_code,
    }
}

impl DbPortalData {
    pub async fn apis(&self) -> Result<Vec<ApiSummary>, sea_orm::DbErr> {
        let apis = portal_api::Entity::find()
            .filter(portal_api::Column::Status.eq(PUBLISHED))
            .order_by_asc(portal_api::Column::Name)
            .all(&self.db)
            .await?;
        Ok(apis.iter().map(summary).collect())
    }
}

impl PortalData for DbPortalData {
    fn list_apis(&self) -> BoxFuture<'_, Result<Vec<ApiSummary>, String>> {
        Box::pin(async move { self.apis().await.map_err(|e| e.to_string()) })
    }

    fn search_apis(&self, query: CatalogueQuery) -> BoxFuture<'_, Result<CataloguePage, String>> {
        Box::pin(async move {
            let search = SearchQuery {
                words: query.words(),
                categories: query.categories.clone(),
                page: query.page.max(1),
                per_page: CATALOGUE_PER_PAGE,
            };
            let found = catalogue::search(&self.db, &search)
                .await
                .map_err(|e| e.to_string())?;
            Ok(CataloguePage {
                items: found.items.into_iter().map(tile).collect(),
                total: found.total,
                page: found.page,
                pages: found.pages,
            })
        })
    }

    fn categories(&self) -> BoxFuture<'_, Result<Vec<CategoryCount>, String>> {
        Box::pin(async move {
            let counts = catalogue::category_counts(&self.db)
                .await
                .map_err(|e| e.to_string())?;
            Ok(counts
                .into_iter()
                .map(|c| CategoryCount {
                    name: c.category,
                    apis: u64::try_from(c.apis).unwrap_or(0),
                })
                .collect())
        })
    }

    /// Only a published API has a detail page (an unpublished or unknown slug is `None`: a 404).
    fn api_detail(&self, slug: String) -> BoxFuture<'_, Result<Option<ApiDetail>, String>> {
        Box::pin(async move {
            let api = portal_api::Entity::find()
                .filter(portal_api::Column::Slug.eq(slug))
                .filter(portal_api::Column::Status.eq(PUBLISHED))
                .one(&self.db)
                .await
                .map_err(|e| e.to_string())?;
            let Some(api) = api else {
                return Ok(None);
            };
            let provider_organisation = match api.organisation_id {
                Some(id) => organisation::Entity::find_by_id(id)
                    .one(&self.db)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|o| o.name),
                None => None,
            };
            let openapi_json = serde_json::from_str::<serde_json::Value>(&api.openapi)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| api.openapi.clone());
            Ok(Some(ApiDetail {
                api: summary(&api),
                description: api.description.clone(),
                openapi_json,
                terms: api.terms.clone(),
                provider_organisation,
            }))
        })
    }

    fn recent_exchanges(&self, limit: u64) -> BoxFuture<'_, Result<Vec<ExchangeView>, String>> {
        Box::pin(async move {
            let rows = portal_exchange::Entity::find()
                .order_by_desc(portal_exchange::Column::Time)
                .order_by_desc(portal_exchange::Column::Id)
                .limit(limit)
                .all(&self.db)
                .await
                .map_err(|e| e.to_string())?;
            Ok(rows.into_iter().map(view).collect())
        })
    }
}

/// `GET /api/v1/apis`: the catalogue as JSON.
#[utoipa::path(
    get,
    path = "/api/v1/apis",
    tag = "catalogue",
    responses(
        (status = 200, description = "Every published API (short form)", body = Vec<Object>),
    ),
)]
pub async fn list_apis_json(
    State(state): State<Arc<PortalState>>,
) -> Result<Json<Vec<ApiSummary>>, ApiError> {
    let data = DbPortalData {
        db: state.db.clone(),
    };
    data.apis().await.map(Json).map_err(ApiError::internal)
}
