//! Prior consent (事前同意) in the portal: a corporation's representative (an `org_admin` of the
//! organisation whose corporate number it is) grants a requester consent for scopes of an API, for a
//! purpose, until a date; lists and revokes. Grants reach the nodes with their next bundle.
//!
//! `GET /api/v1/consents`, `POST /api/v1/consents`, `POST /api/v1/consents/{id}/revoke` (session +
//! CSRF, JSON).

use crate::{
    accounts::{
        AccountError, Accounts, Role, audit,
        routes::{JsonBody, caller, require},
    },
    storage::entity::{portal_api, portal_node, portal_prior_consent},
};
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tower_sessions::Session;

pub const INDIVIDUAL: &str = "individual";
pub const COMPREHENSIVE: &str = "comprehensive";

pub fn routes() -> Router<Arc<Accounts>> {
    Router::new()
        .route("/api/v1/consents", get(list).post(grant))
        .route("/api/v1/consents/{id}/revoke", post(revoke))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Client id of the requester node.
    pub requester: String,
    /// Slug of the API.
    pub api: String,
    /// `individual` (the scopes chosen) or `comprehensive` (every scope of the API).
    pub kind: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub purpose: String,
    /// `YYYY-MM-DD`, inclusive, not before today (JST).
    pub until: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub id: i64,
    pub corporate_number: String,
    pub requester: String,
    pub requester_organisation: Option<String>,
    pub api: String,
    pub kind: String,
    pub scopes: Vec<String>,
    pub purpose: String,
    pub until: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub granted_by: Option<String>,
    pub granted_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn today() -> String {
    crate::jst::now_rfc3339()
        .get(..10)
        .unwrap_or_default()
        .to_owned()
}

fn view(c: portal_prior_consent::Model, nodes: &[portal_node::Model]) -> ConsentView {
    let status = if c.revoked_at.is_some() {
        "revoked"
    } else if c.until.as_str() < today().as_str() {
        "expired"
    } else {
        "active"
    };
    ConsentView {
        id: c.id,
        requester_organisation: nodes
            .iter()
            .find(|n| n.client_id == c.requester)
            .map(|n| n.organisation.clone()),
        corporate_number: c.corporate_number,
        requester: c.requester,
        api: c.api,
        kind: c.kind,
        scopes: serde_json::from_str(&c.scopes).unwrap_or_default(),
        purpose: c.purpose,
        until: c.until,
        status,
        granted_by: c.granted_by,
        granted_at: c.granted_at,
        revoked_at: c.revoked_at,
    }
}

/// The corporate number the caller represents; operators and accounts without one have none.
async fn represented(
    accounts: &Accounts,
    session: &Session,
    roles: &[Role],
    what: &str,
) -> Result<(crate::accounts::routes::Caller, String), AccountError> {
    let c = caller(accounts, session).await?;
    require(accounts, &c, roles, what).await?;
    let number = c
        .organisation
        .as_ref()
        .map(|o| o.corporate_number.clone())
        .ok_or(AccountError::Forbidden)?;
    Ok((c, number))
}

/// The consents the caller's corporation gave, newest first (revoked and expired ones too).
#[utoipa::path(
    get,
    path = "/api/v1/consents",
    tag = "consents",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Prior consents given for the caller's corporate number", body = Object),
    ),
)]
async fn list(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    let (_, number) = represented(
        &accounts,
        &session,
        &[Role::OrgAdmin, Role::OrgMember],
        "GET /api/v1/consents",
    )
    .await?;
    let rows = portal_prior_consent::Entity::find()
        .filter(portal_prior_consent::Column::CorporateNumber.eq(&number))
        .order_by_desc(portal_prior_consent::Column::Id)
        .all(&accounts.db)
        .await?;
    let nodes = portal_node::Entity::find().all(&accounts.db).await?;
    let consents: Vec<ConsentView> = rows.into_iter().map(|c| view(c, &nodes)).collect();
    Ok(Json(
        json!({ "corporate_number": number, "consents": consents }),
    ))
}

/// Checks a grant; every refusal names its field.
async fn validate(
    accounts: &Accounts,
    form: &Grant,
) -> Result<(portal_api::Model, Vec<String>, String, String), AccountError> {
    let requester = form.requester.trim();
    if requester.is_empty() {
        return Err(AccountError::field(
            "missing_field",
            "requester: 同意先の利用者を指定してください / Required: the requester node's client id.",
        ));
    }
    if portal_node::Entity::find_by_id(requester.to_owned())
        .one(&accounts.db)
        .await?
        .is_none()
    {
        return Err(AccountError::field(
            "unknown_requester",
            format!(
                "requester: {} は登録されていません / No node {:?} is registered.",
                crate::api_error::clip(requester),
                crate::api_error::clip(requester)
            ),
        ));
    }
    let api = portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(form.api.trim()))
        .one(&accounts.db)
        .await?
        .ok_or_else(|| {
            AccountError::field(
                "unknown_api",
                format!(
                    "api: API {:?} はカタログにありません / No API {:?} in the catalogue.",
                    crate::api_error::clip(&form.api),
                    crate::api_error::clip(&form.api)
                ),
            )
        })?;
    let api_scopes: Vec<String> = serde_json::from_str(&api.scopes).unwrap_or_default();
    let scopes = match form.kind.as_str() {
        INDIVIDUAL => {
            if form.scopes.is_empty() {
                return Err(AccountError::field(
                    "missing_scopes",
                    "scopes: 個別同意では同意する範囲を 1 つ以上選んでください / An individual consent needs at least one scope.",
                ));
            }
            let mut chosen: Vec<String> = Vec::new();
            for s in &form.scopes {
                if !api_scopes.contains(s) {
                    return Err(AccountError::field(
                        "invalid_scope",
                        format!(
                            "scopes: {:?} は {} の範囲ではありません / {:?} is not a scope of {} (offered: {}).",
                            crate::api_error::clip(s),
                            api.slug,
                            crate::api_error::clip(s),
                            api.slug,
                            api_scopes.join(", ")
                        ),
                    ));
                }
                if !chosen.contains(s) {
                    chosen.push(s.clone());
                }
            }
            chosen
        }
        COMPREHENSIVE => {
            if !form.scopes.is_empty() {
                return Err(AccountError::field(
                    "invalid_scope",
                    "scopes: 包括同意は API のすべての範囲に及ぶため、範囲を指定しないでください / A comprehensive consent covers every scope of the API: send no scopes.",
                ));
            }
            api_scopes.clone()
        }
        other => {
            return Err(AccountError::field(
                "invalid_kind",
                format!(
                    "kind: individual（個別）または comprehensive（包括）を指定してください / Use individual or comprehensive, not {:?}.",
                    crate::api_error::clip(other)
                ),
            ));
        }
    };
    let purpose = crate::accounts::policy::text("purpose", &form.purpose, 200)?;
    let until = form.until.trim();
    if until.len() != 10 || chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").is_err() {
        return Err(AccountError::field(
            "invalid_until",
            format!(
                "until: 有効期限は YYYY-MM-DD の日付で入力してください / A date YYYY-MM-DD, not {:?}.",
                crate::api_error::clip(until)
            ),
        ));
    }
    if until < today().as_str() {
        return Err(AccountError::field(
            "invalid_until",
            format!(
                "until: 有効期限 {until} は過去の日付です / {until} is in the past (today is {} JST).",
                today()
            ),
        ));
    }
    Ok((api, scopes, purpose, until.to_owned()))
}

/// A representative grants a consent in the name of their corporation.
#[utoipa::path(
    post,
    path = "/api/v1/consents",
    tag = "consents",
    request_body = Grant,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The consent is granted; it reaches the nodes in their bundles", body = Object),
    ),
)]
async fn grant(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    JsonBody(form): JsonBody<Grant>,
) -> Result<Response, AccountError> {
    let (c, number) = represented(
        &accounts,
        &session,
        &[Role::OrgAdmin],
        "POST /api/v1/consents",
    )
    .await?;
    let (api, scopes, purpose, until) = validate(&accounts, &form).await?;
    let txn = accounts.db.begin().await?;
    let row = portal_prior_consent::ActiveModel {
        id: Default::default(),
        corporate_number: Set(number.clone()),
        requester: Set(form.requester.trim().to_owned()),
        api: Set(api.slug.clone()),
        scopes: Set(json!(scopes).to_string()),
        purpose: Set(purpose),
        until: Set(until.clone()),
        revoked_at: Set(None),
        kind: Set(form.kind.clone()),
        granted_by: Set(Some(c.account.email.clone())),
        granted_at: Set(Some(crate::jst::now_rfc3339())),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &c.account.email,
        "consent.grant",
        &format!("consent:{}", row.id),
        &format!(
            "{number} → {} for {} ({}: {}) until {until}",
            row.requester,
            api.slug,
            row.kind,
            scopes.join(" ")
        ),
    )
    .await?;
    txn.commit().await?;
    let nodes = portal_node::Entity::find().all(&accounts.db).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "consent": view(row, &nodes) })),
    )
        .into_response())
}

/// A representative revokes one of their corporation's consents; the nodes lose it with their next
/// bundle.
#[utoipa::path(
    post,
    path = "/api/v1/consents/{id}/revoke",
    tag = "consents",
    params(("id" = String, Path, description = "Consent id")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The consent is revoked", body = Object),
    ),
)]
async fn revoke(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AccountError> {
    let what = "POST /api/v1/consents/{id}/revoke";
    let (c, number) = represented(&accounts, &session, &[Role::OrgAdmin], what).await?;
    let id: i64 = id.parse().map_err(|_| {
        AccountError::field(
            "invalid_id",
            "id: 同意の番号が正しくありません / The consent id must be a number.",
        )
    })?;
    let found = portal_prior_consent::Entity::find_by_id(id)
        .one(&accounts.db)
        .await?;
    // Another corporation's consent is as unknown as a missing one.
    let Some(row) = found.filter(|r| r.corporate_number == number) else {
        return Err(AccountError::NotFound("consent"));
    };
    if row.revoked_at.is_some() {
        return Err(AccountError::field(
            "already_revoked",
            "id: この同意は撤回済みです / This consent has already been revoked.",
        ));
    }
    let txn = accounts.db.begin().await?;
    let mut active: portal_prior_consent::ActiveModel = row.into();
    active.revoked_at = Set(Some(crate::jst::now_rfc3339()));
    let row = active.update(&txn).await?;
    audit::record(
        &txn,
        &c.account.email,
        "consent.revoke",
        &format!("consent:{id}"),
        &format!("{number} → {} for {}", row.requester, row.api),
    )
    .await?;
    txn.commit().await?;
    let nodes = portal_node::Entity::find().all(&accounts.db).await?;
    Ok(Json(json!({ "consent": view(row, &nodes) })))
}
