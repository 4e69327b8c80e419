//! An organisation's systems (its nodes) and the APIs it publishes on them.
//!
//! A system is a `portal_node` row (endpoint, Ed25519 key: what every bundle lists) plus a
//! `portal_system` row saying which organisation owns it. An API is a `portal_api` row owned by the
//! organisation of the system it runs on; its OpenAPI document is checked on every save.

use super::{
    PortalState,
    catalogue::{self, PUBLISHED, UNPUBLISHED},
    openapi_doc,
    workflow::{JsonBody, WorkflowError, org_caller, org_id},
};
use crate::{
    accounts::{Role, audit, policy, routes::Caller},
    storage::entity::{portal_api, portal_api_version, portal_node, portal_system},
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tower_sessions::Session;

const ORG_ROLES: &[Role] = &[Role::Operator, Role::OrgAdmin, Role::OrgMember];

// ---- input rules ------------------------------------------------------------------------------

/// Lower-case letters, digits and `-`, 3 to 64 characters, starting with a letter or digit.
fn identifier(code: &str, field: &str, input: &str) -> Result<String, WorkflowError> {
    let s = input.trim();
    let ok = (3..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-');
    if !ok {
        return Err(WorkflowError::field(
            code,
            field,
            "英小文字・数字・ハイフンで 3〜64 文字 / 3 to 64 lower-case letters, digits or hyphens.",
        ));
    }
    Ok(s.to_owned())
}

/// An `http`/`https` URL with a host and nothing else (no user info, query or fragment).
pub fn endpoint(input: &str) -> Result<String, WorkflowError> {
    let bad = |why: &str| {
        WorkflowError::field(
            "invalid_endpoint",
            "endpoint",
            format!("URL が正しくありません / Not a usable endpoint URL: {why}."),
        )
    };
    let url = reqwest::Url::parse(input.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no user name or password in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A raw Ed25519 public key, base64url without padding (32 bytes), that is a valid, non-weak point.
pub fn public_key(input: &str) -> Result<String, WorkflowError> {
    use base64::Engine;
    let bad = |why: &str| {
        WorkflowError::field(
            "invalid_public_key",
            "public_key",
            format!(
                "Ed25519 公開鍵（base64url）ではありません / Not an Ed25519 public key (base64url, 32 bytes): {why}."
            ),
        )
    };
    let text = input.trim().trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| bad("not base64url"))?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| bad(&format!("{} bytes", bytes.len())))?;
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not a curve point"))?;
    if key.is_weak() {
        return Err(bad("a weak key"));
    }
    Ok(text.to_owned())
}

/// A standard-data scope (`basic`, `finance`, …) or an extension block (`x-…`).
fn scope(input: &str) -> Result<String, WorkflowError> {
    let s = input.trim();
    let extension = renkei_standard::is_extension_block(s)
        && s.len() <= 40
        && s[2..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.len() > 2;
    if renkei_standard::block_of_scope(s).is_none() && !extension {
        let known: Vec<&str> = renkei_standard::SCOPES.iter().map(|(n, _)| *n).collect();
        return Err(WorkflowError::field(
            "invalid_scope",
            "scopes",
            format!(
                "{} は法人標準データのスコープではありません / {} is not a standard-data scope (one of {} or x-…).",
                crate::api_error::clip(s),
                crate::api_error::clip(s),
                known.join(", ")
            ),
        ));
    }
    Ok(s.to_owned())
}

/// Scopes, each checked, in the given order without repeats; at least one.
pub fn scopes(input: &[String]) -> Result<Vec<String>, WorkflowError> {
    let mut out: Vec<String> = Vec::new();
    for s in input {
        let s = scope(s)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() || out.len() > 20 {
        return Err(WorkflowError::field(
            "invalid_scope",
            "scopes",
            "1〜20 個のスコープを指定してください / Give 1 to 20 scopes.",
        ));
    }
    Ok(out)
}

fn categories(input: &[String]) -> Result<Vec<String>, WorkflowError> {
    let mut out: Vec<String> = Vec::new();
    for c in input {
        let c = policy::text("categories", c, 50)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.is_empty() || out.len() > 10 {
        return Err(WorkflowError::field(
            "invalid_field",
            "categories",
            "1〜10 個のカテゴリを指定してください / Give 1 to 10 categories.",
        ));
    }
    Ok(out)
}

fn path_template(input: &str) -> Result<String, WorkflowError> {
    let s = input.trim();
    if !s.starts_with('/')
        || s.len() > 200
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(WorkflowError::field(
            "invalid_field",
            "path_template",
            "/ で始まる 200 文字以内のパス / A path of at most 200 characters starting with /.",
        ));
    }
    Ok(s.to_owned())
}

/// The OpenAPI document, as text (JSON or YAML) or inline JSON.
fn document(input: &serde_json::Value) -> Result<openapi_doc::CheckedDocument, WorkflowError> {
    let checked = match input {
        serde_json::Value::String(text) => openapi_doc::check_text(text),
        serde_json::Value::Null => {
            return Err(WorkflowError::field(
                "invalid_openapi",
                "openapi",
                "OpenAPI 3 の文書を指定してください / Give the OpenAPI 3 document.",
            ));
        }
        value => openapi_doc::check_value(value.clone()),
    };
    checked.map_err(|e| {
        WorkflowError::field(
            "invalid_openapi",
            "openapi",
            format!("{}: {}", e.at, e.problem),
        )
    })
}

// ---- systems ----------------------------------------------------------------------------------

#[derive(Serialize, utoipa::ToSchema)]
pub struct SystemView {
    pub client_id: String,
    pub name: String,
    pub organisation_id: i64,
    pub endpoint: String,
    pub public_key: String,
    pub created_at: String,
    pub updated_at: String,
}

fn system_view(s: &portal_system::Model, n: Option<&portal_node::Model>) -> SystemView {
    SystemView {
        client_id: s.client_id.clone(),
        name: s.name.clone(),
        organisation_id: s.organisation_id,
        endpoint: n.map(|n| n.endpoint.clone()).unwrap_or_default(),
        public_key: n.map(|n| n.public_key.clone()).unwrap_or_default(),
        created_at: s.created_at.clone(),
        updated_at: s.updated_at.clone(),
    }
}

/// The system `client_id` if the caller's organisation owns it (operators: any), else 404.
pub async fn visible_system(
    state: &PortalState,
    c: &Caller,
    client_id: &str,
) -> Result<portal_system::Model, WorkflowError> {
    let system = portal_system::Entity::find_by_id(client_id.to_owned())
        .one(&state.db)
        .await?
        .ok_or_else(|| WorkflowError::not_found("system"))?;
    if c.role != Role::Operator && org_id(c) != Some(system.organisation_id) {
        audit::security(
            &state.db,
            &c.account.email,
            "security.forbidden",
            &format!("system:{}", crate::api_error::clip(client_id)),
            "system of another organisation",
        )
        .await;
        return Err(WorkflowError::not_found("system"));
    }
    Ok(system)
}

#[utoipa::path(
    get,
    path = "/api/v1/systems",
    tag = "systems",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The organisation's systems (operators: all)", body = Object),
    ),
)]
pub async fn list_systems(
    State(state): State<Arc<PortalState>>,
    session: Session,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, ORG_ROLES, "/api/v1/systems").await?;
    let mut query = portal_system::Entity::find().order_by_asc(portal_system::Column::ClientId);
    if c.role != Role::Operator {
        query = query.filter(portal_system::Column::OrganisationId.eq(org_id(&c)));
    }
    let systems = query.all(&state.db).await?;
    let nodes = portal_node::Entity::find().all(&state.db).await?;
    let views: Vec<SystemView> = systems
        .iter()
        .map(|s| system_view(s, nodes.iter().find(|n| n.client_id == s.client_id)))
        .collect();
    Ok(Json(json!({ "systems": views })))
}

#[utoipa::path(
    get,
    path = "/api/v1/systems/{client_id}",
    tag = "systems",
    params(("client_id" = String, Path, description = "System (node) client id")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The system", body = Object),
    ),
)]
pub async fn get_system(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(client_id): Path<String>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, ORG_ROLES, "/api/v1/systems/{client_id}").await?;
    let system = visible_system(&state, &c, &client_id).await?;
    let node = portal_node::Entity::find_by_id(client_id)
        .one(&state.db)
        .await?;
    Ok(Json(
        json!({ "system": system_view(&system, node.as_ref()) }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSystem {
    pub client_id: String,
    pub name: String,
    pub endpoint: String,
    pub public_key: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SystemUpdate {
    pub name: String,
    pub endpoint: String,
    pub public_key: String,
}

/// An organisation admin registers a system; it joins every node's bundle as a node.
#[utoipa::path(
    post,
    path = "/api/v1/systems",
    tag = "systems",
    request_body = NewSystem,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The system is registered", body = Object),
    ),
)]
pub async fn register_system(
    State(state): State<Arc<PortalState>>,
    session: Session,
    JsonBody(form): JsonBody<NewSystem>,
) -> Result<Response, WorkflowError> {
    let c = org_caller(&state, &session, &[Role::OrgAdmin], "POST /api/v1/systems").await?;
    let org = c
        .organisation
        .clone()
        .ok_or_else(|| WorkflowError::from(crate::accounts::AccountError::Forbidden))?;
    let client_id = identifier("invalid_client_id", "client_id", &form.client_id)?;
    let name = policy::text("name", &form.name, 200)?;
    let endpoint = endpoint(&form.endpoint)?;
    let public_key = public_key(&form.public_key)?;
    let taken = portal_node::Entity::find_by_id(client_id.clone())
        .one(&state.db)
        .await?
        .is_some()
        || portal_system::Entity::find_by_id(client_id.clone())
            .one(&state.db)
            .await?
            .is_some();
    if taken {
        return Err(WorkflowError::conflict(
            "client_id_taken",
            format!(
                "client_id: {client_id} は登録済みです / A system {client_id} is already registered."
            ),
        ));
    }
    let now = crate::jst::now_rfc3339();
    let system = portal_system::ActiveModel {
        client_id: Set(client_id.clone()),
        organisation_id: Set(org.id),
        name: Set(name.clone()),
        created_at: Set(now.clone()),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await
    .map_err(|e| {
        if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
            WorkflowError::conflict("client_id_taken", format!("client_id: {client_id} は登録済みです / A system {client_id} is already registered."))
        } else {
            e.into()
        }
    })?;
    let node = portal_node::Model {
        client_id: client_id.clone(),
        organisation: org.name.clone(),
        endpoint,
        public_key,
    };
    state.register_node(node.clone()).await?;
    audit::record(
        &state.db,
        &c.account.email,
        "system.register",
        &format!("system:{client_id}"),
        &format!("{name} {}", node.endpoint),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "system": system_view(&system, Some(&node)) })),
    )
        .into_response())
}

/// The owner's admin changes a system's name, endpoint or key (a key change reaches every node's
/// next bundle).
#[utoipa::path(
    put,
    path = "/api/v1/systems/{client_id}",
    tag = "systems",
    params(("client_id" = String, Path, description = "System (node) client id")),
    request_body = SystemUpdate,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The system is updated", body = Object),
    ),
)]
pub async fn update_system(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(client_id): Path<String>,
    JsonBody(form): JsonBody<SystemUpdate>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(
        &state,
        &session,
        &[Role::OrgAdmin],
        "PUT /api/v1/systems/{client_id}",
    )
    .await?;
    let system = visible_system(&state, &c, &client_id).await?;
    let org = c
        .organisation
        .clone()
        .ok_or_else(|| WorkflowError::from(crate::accounts::AccountError::Forbidden))?;
    let name = policy::text("name", &form.name, 200)?;
    let endpoint = endpoint(&form.endpoint)?;
    let public_key = public_key(&form.public_key)?;
    let mut active: portal_system::ActiveModel = system.into();
    active.name = Set(name.clone());
    active.updated_at = Set(crate::jst::now_rfc3339());
    let system = active.update(&state.db).await?;
    let node = portal_node::Model {
        client_id: client_id.clone(),
        organisation: org.name,
        endpoint,
        public_key,
    };
    state.register_node(node.clone()).await?;
    audit::record(
        &state.db,
        &c.account.email,
        "system.update",
        &format!("system:{client_id}"),
        &format!("{name} {}", node.endpoint),
    )
    .await?;
    Ok(Json(json!({ "system": system_view(&system, Some(&node)) })))
}

// ---- API publication --------------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ApiForm {
    /// Only when publishing; a slug never changes.
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    /// The client id of one of the organisation's systems.
    pub system: String,
    pub categories: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub consent_required: bool,
    #[serde(default)]
    pub terms: String,
    pub path_template: String,
    /// The OpenAPI 3.0 document: JSON or YAML text, or a JSON object.
    #[serde(default)]
    pub openapi: serde_json::Value,
    /// Version label; the document's `info.version` when left out.
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VersionForm {
    #[serde(default)]
    pub version: Option<String>,
    pub openapi: serde_json::Value,
}

fn version_label(
    given: Option<&str>,
    doc: &openapi_doc::CheckedDocument,
) -> Result<String, WorkflowError> {
    match given.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Ok(policy::text("version", v, 50)?),
        None => Ok(policy::text("version", &doc.version, 50)?),
    }
}

/// The API `slug` if the caller's organisation publishes it (operators: any), else 404.
async fn own_api(
    state: &PortalState,
    c: &Caller,
    slug: &str,
) -> Result<portal_api::Model, WorkflowError> {
    let api = portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(slug))
        .one(&state.db)
        .await?
        .ok_or_else(|| WorkflowError::not_found("api"))?;
    if c.role != Role::Operator
        && (api.organisation_id.is_none() || api.organisation_id != org_id(c))
    {
        audit::security(
            &state.db,
            &c.account.email,
            "security.forbidden",
            &format!("api:{}", crate::api_error::clip(slug)),
            "API of another organisation",
        )
        .await;
        return Err(WorkflowError::not_found("api"));
    }
    Ok(api)
}

/// Checks the form and builds the row (owner, provider name and system from the caller).
async fn api_row(
    state: &PortalState,
    c: &Caller,
    slug: String,
    form: &ApiForm,
) -> Result<portal_api::Model, WorkflowError> {
    let org = c
        .organisation
        .clone()
        .ok_or_else(|| WorkflowError::from(crate::accounts::AccountError::Forbidden))?;
    let name = policy::text("name", &form.name, 200)?;
    let summary = policy::text("summary", &form.summary, 500)?;
    let description = policy::comment("description", Some(&form.description), 20_000)?;
    let system = portal_system::Entity::find_by_id(form.system.trim().to_owned())
        .one(&state.db)
        .await?
        .filter(|s| s.organisation_id == org.id)
        .ok_or_else(|| {
            WorkflowError::field("invalid_system", "system", "自組織のシステムの client_id を指定してください / Give the client id of one of your organisation's systems.")
        })?;
    let categories = categories(&form.categories)?;
    let scopes = scopes(&form.scopes)?;
    let terms = policy::comment("terms", Some(&form.terms), 20_000)?;
    let path_template = path_template(&form.path_template)?;
    let doc = document(&form.openapi)?;
    let version = version_label(form.version.as_deref(), &doc)?;
    Ok(portal_api::Model {
        id: 0,
        slug,
        name,
        summary,
        description,
        provider: org.name.clone(),
        provider_client_id: system.client_id,
        categories: json!(categories).to_string(),
        scopes: json!(scopes).to_string(),
        consent_required: form.consent_required,
        path_template,
        openapi: doc.json,
        organisation_id: Some(org.id),
        terms,
        status: PUBLISHED.to_owned(),
        version,
        updated_at: String::new(),
    })
}

/// `POST /api/v1/published-apis`: a provider's admin publishes an API on one of its systems.
#[utoipa::path(
    post,
    path = "/api/v1/published-apis",
    tag = "published-apis",
    request_body = ApiForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The API is published", body = Object),
    ),
)]
pub async fn publish(
    State(state): State<Arc<PortalState>>,
    session: Session,
    JsonBody(form): JsonBody<ApiForm>,
) -> Result<Response, WorkflowError> {
    let c = org_caller(
        &state,
        &session,
        &[Role::OrgAdmin],
        "POST /api/v1/published-apis",
    )
    .await?;
    let slug = identifier(
        "invalid_slug",
        "slug",
        form.slug.as_deref().unwrap_or_default(),
    )?;
    let row = api_row(&state, &c, slug.clone(), &form).await?;
    if portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(&slug))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(WorkflowError::conflict(
            "slug_taken",
            format!("slug: {slug} は使用済みです / An API {slug} already exists."),
        ));
    }
    let stored = catalogue::store_api(&state.db, row).await?;
    audit::record(
        &state.db,
        &c.account.email,
        "api.publish",
        &format!("api:{slug}"),
        &format!("{} v{}", stored.name, stored.version),
    )
    .await?;
    let detail = catalogue::detail(&state.db, &stored).await?;
    Ok((StatusCode::CREATED, Json(detail)).into_response())
}

/// `PUT /api/v1/published-apis/{slug}`: replaces the listing; a new version label adds a version.
#[utoipa::path(
    put,
    path = "/api/v1/published-apis/{slug}",
    tag = "published-apis",
    params(("slug" = String, Path, description = "API slug")),
    request_body = ApiForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The listing is replaced", body = Object),
    ),
)]
pub async fn update_api(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(slug): Path<String>,
    JsonBody(form): JsonBody<ApiForm>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(
        &state,
        &session,
        &[Role::OrgAdmin],
        "PUT /api/v1/published-apis/{slug}",
    )
    .await?;
    let current = own_api(&state, &c, &slug).await?;
    let mut row = api_row(&state, &c, current.slug.clone(), &form).await?;
    row.status = current.status.clone();
    let stored = catalogue::store_api(&state.db, row).await?;
    audit::record(
        &state.db,
        &c.account.email,
        "api.update",
        &format!("api:{slug}"),
        &format!("{} v{}", stored.name, stored.version),
    )
    .await?;
    Ok(Json(catalogue::detail(&state.db, &stored).await?))
}

/// `POST /api/v1/published-apis/{slug}/versions`: a new OpenAPI document under a new version label.
#[utoipa::path(
    post,
    path = "/api/v1/published-apis/{slug}/versions",
    tag = "published-apis",
    params(("slug" = String, Path, description = "API slug")),
    request_body = VersionForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The new version is current", body = Object),
    ),
)]
pub async fn add_version(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(slug): Path<String>,
    JsonBody(form): JsonBody<VersionForm>,
) -> Result<Response, WorkflowError> {
    let c = org_caller(
        &state,
        &session,
        &[Role::OrgAdmin],
        "POST /api/v1/published-apis/{slug}/versions",
    )
    .await?;
    let current = own_api(&state, &c, &slug).await?;
    let doc = document(&form.openapi)?;
    let version = version_label(form.version.as_deref(), &doc)?;
    let exists = portal_api_version::Entity::find()
        .filter(portal_api_version::Column::ApiId.eq(current.id))
        .filter(portal_api_version::Column::Version.eq(&version))
        .one(&state.db)
        .await?
        .is_some();
    if exists {
        return Err(WorkflowError::conflict(
            "duplicate_version",
            format!(
                "version: {version} は公開済みです / Version {version} already exists; give a new label."
            ),
        ));
    }
    let mut row = current;
    row.openapi = doc.json;
    row.version = version.clone();
    let stored = catalogue::store_api(&state.db, row).await?;
    audit::record(
        &state.db,
        &c.account.email,
        "api.version",
        &format!("api:{slug}"),
        &version,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(catalogue::detail(&state.db, &stored).await?),
    )
        .into_response())
}

async fn set_status(
    state: &PortalState,
    session: &Session,
    slug: &str,
    status: &str,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(
        state,
        session,
        &[Role::OrgAdmin],
        "POST /api/v1/published-apis/{slug}/(un)publish",
    )
    .await?;
    let current = own_api(state, &c, slug).await?;
    let changed = current.status != status;
    let stored = if changed {
        let stored = catalogue::set_status(&state.db, current, status).await?;
        let action = if status == PUBLISHED {
            "api.republish"
        } else {
            "api.unpublish"
        };
        audit::record(
            &state.db,
            &c.account.email,
            action,
            &format!("api:{slug}"),
            "",
        )
        .await?;
        stored
    } else {
        current
    };
    let mut detail = catalogue::detail(&state.db, &stored).await?;
    detail["changed"] = json!(changed);
    Ok(Json(detail))
}

/// `POST /api/v1/published-apis/{slug}/unpublish`: out of the catalogue; no new applications. Existing
/// approvals stay until revoked. Repeating it changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/published-apis/{slug}/unpublish",
    tag = "published-apis",
    params(("slug" = String, Path, description = "API slug")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Out of the catalogue", body = Object),
    ),
)]
pub async fn unpublish(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    set_status(&state, &session, &slug, UNPUBLISHED).await
}

#[utoipa::path(
    post,
    path = "/api/v1/published-apis/{slug}/publish",
    tag = "published-apis",
    params(("slug" = String, Path, description = "API slug")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Back in the catalogue", body = Object),
    ),
)]
pub async fn republish(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    set_status(&state, &session, &slug, PUBLISHED).await
}

/// `GET /api/v1/published-apis`: the caller's organisation's APIs, published or not (operators: all).
#[utoipa::path(
    get,
    path = "/api/v1/published-apis",
    tag = "published-apis",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The organisation's APIs, published or not", body = Object),
    ),
)]
pub async fn list_own_apis(
    State(state): State<Arc<PortalState>>,
    session: Session,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, ORG_ROLES, "/api/v1/published-apis").await?;
    let mut query = portal_api::Entity::find()
        .order_by_asc(portal_api::Column::Name)
        .order_by_asc(portal_api::Column::Id);
    if c.role != Role::Operator {
        query = query.filter(portal_api::Column::OrganisationId.eq(org_id(&c)));
    }
    let apis = query.all(&state.db).await?;
    let items: Vec<serde_json::Value> = apis
        .iter()
        .map(|a| {
            let mut v = json!(catalogue::CatalogueItem::from(a));
            v["status"] = json!(a.status);
            v
        })
        .collect();
    Ok(Json(json!({ "apis": items })))
}

#[utoipa::path(
    get,
    path = "/api/v1/published-apis/{slug}",
    tag = "published-apis",
    params(("slug" = String, Path, description = "API slug")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The API", body = Object),
    ),
)]
pub async fn get_own_api(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, ORG_ROLES, "/api/v1/published-apis/{slug}").await?;
    let api = own_api(&state, &c, &slug).await?;
    Ok(Json(catalogue::detail(&state.db, &api).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(r: Result<T, WorkflowError>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => e.0.code,
        }
    }

    #[test]
    fn keys_endpoints_and_scopes_are_checked() {
        let key = crate::keys::NodeKey::generate().public_b64();
        assert_eq!(public_key(&key).unwrap(), key);
        assert_eq!(code(public_key("not base64!")), "invalid_public_key");
        assert_eq!(code(public_key("AAAA")), "invalid_public_key");
        // The identity point is a valid encoding but a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        use base64::Engine;
        let weak = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(identity);
        assert_eq!(code(public_key(&weak)), "invalid_public_key");
        assert_eq!(
            endpoint("https://node.example.jp/").unwrap(),
            "https://node.example.jp"
        );
        for bad in [
            "ftp://x",
            "https://",
            "not a url",
            "https://u:p@x.jp",
            "https://x.jp/?a=1",
        ] {
            assert_eq!(code(endpoint(bad)), "invalid_endpoint", "{bad}");
        }
        assert_eq!(
            scopes(&["basic".into(), "x-nta".into(), "basic".into()]).unwrap(),
            ["basic", "x-nta"]
        );
        assert_eq!(code(scopes(&["everything".into()])), "invalid_scope");
        assert_eq!(code(scopes(&[])), "invalid_scope");
        assert_eq!(
            code(identifier("invalid_slug", "slug", "Bad Slug")),
            "invalid_slug"
        );
    }
}
