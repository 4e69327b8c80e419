//! API-use applications: a requester organisation's system applies for an API; the provider approves
//! (possibly with narrower scopes and its own rate limit), rejects or later revokes; the requester may
//! withdraw while pending.
//!
//! Every transition is one conditional update (`… WHERE status = <expected>`) plus a history row in
//! one transaction, so two deciders racing cannot both win. Repeating the transition an application is
//! already in answers 200 with `"changed": false`; a transition its state does not allow answers 409
//! with a reason code. Approval and revocation write through to `portal_application`, the table each
//! node's bundle is built from, in the same transaction.

use super::{
    PortalState,
    bundle::{NewApplication, write_approval, write_revocation},
    catalogue::{PUBLISHED, json_list},
    systems,
    workflow::{JsonBody, SafeJson, WorkflowError, org_caller, org_id},
};
use crate::{
    accounts::{
        AccountError, Role, audit,
        mail::{Letter, clip_comment},
        policy,
        routes::Caller,
    },
    storage::entity::{
        account, organisation, portal_api, portal_api_application as app_row,
        portal_api_application_event as event_row, portal_system,
    },
};
use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tower_sessions::Session;

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";
pub const WITHDRAWN: &str = "withdrawn";
pub const REVOKED: &str = "revoked";
pub const STATUSES: [&str; 5] = [PENDING, APPROVED, REJECTED, WITHDRAWN, REVOKED];

pub const MAX_RATE_LIMIT: u32 = 100_000;
const PURPOSE_MAX: usize = 2_000;
const COMMENT_MAX: usize = 4_000;
const LIST_LIMIT: u64 = 500;

// ---- views ------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Party {
    pub organisation_id: i64,
    pub organisation: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub id: i64,
    pub api: serde_json::Value,
    pub requester: Party,
    /// The requester's system (node client id) the approval is for.
    pub system: String,
    pub provider: Party,
    pub status: String,
    pub requested_scopes: Vec<String>,
    pub granted_scopes: Option<Vec<String>>,
    pub purpose: String,
    pub requested_rate_limit_per_minute: i32,
    pub granted_rate_limit_per_minute: Option<i32>,
    /// As typed: newlines kept; render it as text.
    pub comment: String,
    /// `requester`, `provider` or `both` for the viewer's organisation; `null` for operators.
    pub side: Option<&'static str>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub time: String,
    pub actor: String,
    pub actor_organisation_id: Option<i64>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub comment: String,
    pub detail: serde_json::Value,
}

impl From<&event_row::Model> for EventView {
    fn from(e: &event_row::Model) -> Self {
        EventView {
            id: e.id,
            time: e.time.clone(),
            actor: e.actor.clone(),
            actor_organisation_id: e.actor_org_id,
            action: e.action.clone(),
            from_status: e.from_status.clone(),
            to_status: e.to_status.clone(),
            comment: e.comment.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

async fn org_name(db: &impl ConnectionTrait, id: i64) -> Result<String, sea_orm::DbErr> {
    Ok(organisation::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default())
}

fn side_of(viewer: Option<i64>, a: &app_row::Model) -> Option<&'static str> {
    let viewer = viewer?;
    match (viewer == a.requester_org_id, viewer == a.provider_org_id) {
        (true, true) => Some("both"),
        (true, false) => Some("requester"),
        (false, true) => Some("provider"),
        (false, false) => None,
    }
}

async fn view(
    db: &impl ConnectionTrait,
    viewer: Option<i64>,
    a: &app_row::Model,
) -> Result<ApplicationView, sea_orm::DbErr> {
    let api_name = portal_api::Entity::find_by_id(a.api_id)
        .one(db)
        .await?
        .map(|api| api.name)
        .unwrap_or_default();
    Ok(ApplicationView {
        id: a.id,
        api: json!({ "slug": a.api_slug, "name": api_name }),
        requester: Party {
            organisation_id: a.requester_org_id,
            organisation: org_name(db, a.requester_org_id).await?,
        },
        system: a.requester_client_id.clone(),
        provider: Party {
            organisation_id: a.provider_org_id,
            organisation: org_name(db, a.provider_org_id).await?,
        },
        status: a.status.clone(),
        requested_scopes: json_list(&a.requested_scopes),
        granted_scopes: a.granted_scopes.as_deref().map(json_list),
        purpose: a.purpose.clone(),
        requested_rate_limit_per_minute: a.requested_rate_limit,
        granted_rate_limit_per_minute: a.granted_rate_limit,
        comment: a.comment.clone(),
        side: side_of(viewer, a),
        created_at: a.created_at.clone(),
        updated_at: a.updated_at.clone(),
    })
}

async fn events(db: &impl ConnectionTrait, id: i64) -> Result<Vec<EventView>, sea_orm::DbErr> {
    Ok(event_row::Entity::find()
        .filter(event_row::Column::ApplicationId.eq(id))
        .order_by_asc(event_row::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(EventView::from)
        .collect())
}

// ---- input ------------------------------------------------------------------------------------

/// Multi-line text as typed, with `\r\n` made `\n`; at most `max` characters.
fn multiline(
    field: &'static str,
    input: Option<&str>,
    max: usize,
) -> Result<String, WorkflowError> {
    let normalised = input.unwrap_or_default().replace("\r\n", "\n");
    Ok(policy::comment(field, Some(&normalised), max)?)
}

fn rate_limit(field: &str, value: u32) -> Result<i32, WorkflowError> {
    if !(1..=MAX_RATE_LIMIT).contains(&value) {
        return Err(WorkflowError::field(
            "invalid_rate_limit",
            field,
            format!("1〜{MAX_RATE_LIMIT} 回/分 / From 1 to {MAX_RATE_LIMIT} calls per minute."),
        ));
    }
    Ok(value as i32)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Apply {
    /// Slug of the API.
    pub api: String,
    /// Client id of one of the requester organisation's systems.
    pub system: String,
    pub scopes: Vec<String>,
    pub purpose: String,
    pub rate_limit_per_minute: u32,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct Decision {
    /// Approval only: the granted scopes, a subset of the requested ones (all of them when left out).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Approval only: the granted rate limit (the requested one when left out).
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    #[serde(default)]
    pub comment: Option<String>,
}

// ---- mail -------------------------------------------------------------------------------------

async fn admins(db: &impl ConnectionTrait, org: i64) -> Result<Vec<String>, sea_orm::DbErr> {
    Ok(account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org))
        .filter(account::Column::Role.eq(Role::OrgAdmin.as_str()))
        .order_by_asc(account::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.email)
        .collect())
}

fn action_words(action: &str) -> (&'static str, &'static str) {
    match action {
        "submitted" => (
            "API 利用申請が提出されました",
            "An API-use application was submitted",
        ),
        "approved" => (
            "API 利用申請が承認されました",
            "An API-use application was approved",
        ),
        "rejected" => (
            "API 利用申請が却下されました",
            "An API-use application was rejected",
        ),
        "withdrawn" => (
            "API 利用申請が取り下げられました",
            "An API-use application was withdrawn",
        ),
        _ => (
            "API 利用の承認が取り消されました",
            "An API-use approval was revoked",
        ),
    }
}

/// Mails both organisations' admins about `action` (comment cut at 200 characters with `…`).
async fn mail_both(
    state: &PortalState,
    view: &ApplicationView,
    action: &str,
    comment: &str,
) -> Result<(), WorkflowError> {
    let (ja, en) = action_words(action);
    let shown = if comment.is_empty() {
        "（なし / none）".to_owned()
    } else {
        clip_comment(comment)
    };
    let api = view.api["name"].as_str().unwrap_or_default();
    let slug = view.api["slug"].as_str().unwrap_or_default();
    let url = format!(
        "{}/applications/{}",
        state.accounts.config.public_url, view.id
    );
    let scopes = view
        .granted_scopes
        .as_ref()
        .unwrap_or(&view.requested_scopes)
        .join(", ");
    let letter = Letter {
        subject_ja: format!("{ja}（申請番号 {}）", view.id),
        subject_en: format!("{en} (no. {})", view.id),
        body_ja: format!(
            "API：{api}（{slug}）\n申請者：{}（システム {}）\n提供者：{}\n状態：{}\nスコープ：{scopes}\n\nコメント：\n{shown}\n\n{url}",
            view.requester.organisation, view.system, view.provider.organisation, view.status
        ),
        body_en: format!(
            "API: {api} ({slug})\nRequester: {} (system {})\nProvider: {}\nStatus: {}\nScopes: {scopes}\n\nComment:\n{shown}\n\n{url}",
            view.requester.organisation, view.system, view.provider.organisation, view.status
        ),
    };
    let mut to = admins(&state.db, view.requester.organisation_id).await?;
    for a in admins(&state.db, view.provider.organisation_id).await? {
        if !to.contains(&a) {
            to.push(a);
        }
    }
    for address in to {
        state.accounts.send(&address, letter.clone()).await?;
    }
    Ok(())
}

// ---- submit -----------------------------------------------------------------------------------

/// `POST /api/v1/applications`: a requester organisation applies for a published API.
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    tag = "applications",
    request_body = Apply,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The application is submitted", body = ApplicationView),
    ),
)]
pub async fn submit(
    State(state): State<Arc<PortalState>>,
    session: Session,
    JsonBody(form): JsonBody<Apply>,
) -> Result<Response, WorkflowError> {
    let c = org_caller(
        &state,
        &session,
        &[Role::OrgAdmin, Role::OrgMember],
        "POST /api/v1/applications",
    )
    .await?;
    let org = c.organisation.clone().ok_or(AccountError::Forbidden)?;
    let api = portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(form.api.trim()))
        .one(&state.db)
        .await?
        .ok_or_else(|| WorkflowError::not_found("api"))?;
    if api.status != PUBLISHED {
        return Err(WorkflowError::conflict(
            "api_unpublished",
            format!(
                "api: {} は公開停止中です / The API {} is not published.",
                api.slug, api.slug
            ),
        ));
    }
    let Some(provider_org_id) = api.organisation_id else {
        return Err(WorkflowError::conflict(
            "api_without_provider",
            format!(
                "api: {} は提供組織が登録されていないため申請できません / The API {} has no provider organisation to decide on applications.",
                api.slug, api.slug
            ),
        ));
    };
    let system = portal_system::Entity::find_by_id(form.system.trim().to_owned())
        .one(&state.db)
        .await?
        .filter(|s| s.organisation_id == org.id)
        .ok_or_else(|| {
            WorkflowError::field("invalid_system", "system", "自組織のシステムの client_id を指定してください / Give the client id of one of your organisation's systems.")
        })?;
    let scopes = systems::scopes(&form.scopes)?;
    let offered = json_list(&api.scopes);
    if let Some(extra) = scopes.iter().find(|s| !offered.contains(s)) {
        return Err(WorkflowError::field(
            "invalid_scope",
            "scopes",
            format!(
                "{extra} はこの API が提供するスコープではありません / {extra} is not offered by this API (it offers {}).",
                offered.join(", ")
            ),
        ));
    }
    let purpose = policy::comment(
        "purpose",
        Some(&form.purpose.replace("\r\n", "\n")),
        PURPOSE_MAX,
    )?;
    if purpose.is_empty() {
        return Err(WorkflowError::field(
            "missing_field",
            "purpose",
            "利用目的を入力してください / Required.",
        ));
    }
    let rate = rate_limit("rate_limit_per_minute", form.rate_limit_per_minute)?;
    let comment = multiline("comment", form.comment.as_deref(), COMMENT_MAX)?;

    let txn = state.db.begin().await?;
    let open = app_row::Entity::find()
        .filter(app_row::Column::ApiId.eq(api.id))
        .filter(app_row::Column::RequesterClientId.eq(&system.client_id))
        .filter(app_row::Column::Status.is_in([PENDING, APPROVED]))
        .one(&txn)
        .await?;
    if let Some(open) = open {
        return Err(WorkflowError::conflict(
            "application_exists",
            format!(
                "このシステムには同じ API の申請（番号 {}、{}）があります / System {} already has application {} ({}) for this API.",
                open.id, open.status, system.client_id, open.id, open.status
            ),
        ));
    }
    let now = crate::jst::now_rfc3339();
    let row = app_row::ActiveModel {
        id: Default::default(),
        api_id: Set(api.id),
        api_slug: Set(api.slug.clone()),
        requester_org_id: Set(org.id),
        requester_client_id: Set(system.client_id.clone()),
        provider_org_id: Set(provider_org_id),
        requested_scopes: Set(json!(scopes).to_string()),
        granted_scopes: Set(None),
        purpose: Set(purpose),
        requested_rate_limit: Set(rate),
        granted_rate_limit: Set(None),
        comment: Set(comment.clone()),
        status: Set(PENDING.to_owned()),
        created_at: Set(now.clone()),
        updated_at: Set(now.clone()),
    }
    .insert(&txn)
    .await?;
    record_event(
        &txn,
        &c,
        row.id,
        "submitted",
        None,
        PENDING,
        &comment,
        json!({ "scopes": scopes, "rate_limit_per_minute": rate }),
    )
    .await?;
    audit::record(
        &txn,
        &c.account.email,
        "application.submit",
        &format!("application:{}", row.id),
        &format!("{} by {}", api.slug, system.client_id),
    )
    .await?;
    txn.commit().await?;
    let v = view(&state.db, org_id(&c), &row).await?;
    mail_both(&state, &v, "submitted", &comment).await?;
    Ok((
        StatusCode::CREATED,
        SafeJson(json!({ "application": v, "changed": true })),
    )
        .into_response())
}

#[allow(clippy::too_many_arguments)]
async fn record_event(
    db: &impl ConnectionTrait,
    c: &Caller,
    application_id: i64,
    action: &str,
    from: Option<&str>,
    to: &str,
    comment: &str,
    detail: serde_json::Value,
) -> Result<(), sea_orm::DbErr> {
    event_row::ActiveModel {
        id: Default::default(),
        application_id: Set(application_id),
        time: Set(crate::jst::now_rfc3339()),
        actor: Set(c.account.email.clone()),
        actor_org_id: Set(org_id(c)),
        action: Set(action.to_owned()),
        from_status: Set(from.map(str::to_owned)),
        to_status: Set(to.to_owned()),
        comment: Set(comment.to_owned()),
        detail: Set(detail.to_string()),
    }
    .insert(db)
    .await?;
    Ok(())
}

// ---- reading ----------------------------------------------------------------------------------

/// The application if the caller's organisation is a party to it (operators: any); else 404, logged.
async fn visible(
    state: &PortalState,
    c: &Caller,
    id: i64,
) -> Result<app_row::Model, WorkflowError> {
    let found = app_row::Entity::find_by_id(id).one(&state.db).await?;
    match found {
        Some(a) if c.role == Role::Operator || side_of(org_id(c), &a).is_some() => Ok(a),
        Some(_) => {
            audit::security(
                &state.db,
                &c.account.email,
                "security.forbidden",
                &format!("application:{id}"),
                "application of other organisations",
            )
            .await;
            Err(WorkflowError::not_found("application"))
        }
        None => Err(WorkflowError::not_found("application")),
    }
}

const READ_ROLES: &[Role] = &[Role::Operator, Role::OrgAdmin, Role::OrgMember];

/// `GET /api/v1/applications?side=requester|provider&status=pending,approved`: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/applications",
    tag = "applications",
    params(("side" = Option<String>, Query, description = "requester or provider"), ("status" = Option<String>, Query, description = "Comma-separated statuses: submitted, approved, rejected, withdrawn, revoked")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Applications the caller may see", body = Object),
    ),
)]
pub async fn list(
    State(state): State<Arc<PortalState>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, READ_ROLES, "/api/v1/applications").await?;
    let mut side: Option<String> = None;
    let mut statuses: Vec<String> = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "side" => side = Some(value.into_owned()),
            "status" => {
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !STATUSES.contains(&s) {
                        return Err(WorkflowError::field(
                            "invalid_status",
                            "status",
                            format!(
                                "{} のいずれか / One of {}.",
                                STATUSES.join(", "),
                                STATUSES.join(", ")
                            ),
                        ));
                    }
                    statuses.push(s.to_owned());
                }
            }
            _ => {}
        }
    }
    let mut query = app_row::Entity::find().order_by_desc(app_row::Column::Id);
    let viewer = org_id(&c);
    if c.role != Role::Operator {
        let org = viewer.ok_or(AccountError::Forbidden)?;
        query = query.filter(match side.as_deref() {
            None | Some("") => Condition::any()
                .add(app_row::Column::RequesterOrgId.eq(org))
                .add(app_row::Column::ProviderOrgId.eq(org)),
            Some("requester") => Condition::all().add(app_row::Column::RequesterOrgId.eq(org)),
            Some("provider") => Condition::all().add(app_row::Column::ProviderOrgId.eq(org)),
            Some(_) => {
                return Err(WorkflowError::field(
                    "invalid_side",
                    "side",
                    "requester または provider / requester or provider.",
                ));
            }
        });
    }
    if !statuses.is_empty() {
        query = query.filter(app_row::Column::Status.is_in(statuses));
    }
    let rows = query.limit(LIST_LIMIT).all(&state.db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(&state.db, viewer, r).await?);
    }
    Ok(SafeJson(json!({ "applications": out })))
}

/// `GET /api/v1/applications/{id}`: the application and its history.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The application", body = Object),
    ),
)]
pub async fn get_one(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, READ_ROLES, "/api/v1/applications/{id}").await?;
    let a = visible(&state, &c, id).await?;
    Ok(SafeJson(json!({
        "application": view(&state.db, org_id(&c), &a).await?,
        "history": events(&state.db, a.id).await?,
    })))
}

/// `GET /api/v1/applications/{id}/history`.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}/history",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The application's transitions", body = Object),
    ),
)]
pub async fn history(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    let c = org_caller(
        &state,
        &session,
        READ_ROLES,
        "/api/v1/applications/{id}/history",
    )
    .await?;
    let a = visible(&state, &c, id).await?;
    Ok(SafeJson(
        json!({ "history": events(&state.db, a.id).await? }),
    ))
}

// ---- transitions ------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Withdraw,
    Revoke,
}

impl Action {
    fn target(self) -> &'static str {
        match self {
            Action::Approve => APPROVED,
            Action::Reject => REJECTED,
            Action::Withdraw => WITHDRAWN,
            Action::Revoke => REVOKED,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
            Action::Revoke => "revoke",
        }
    }

    /// The state it moves from.
    fn from(self) -> &'static str {
        match self {
            Action::Revoke => APPROVED,
            _ => PENDING,
        }
    }
}

/// What an action does to an application in `status`.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Change,
    Unchanged,
    /// 409 with this reason code.
    Refuse(&'static str),
}

/// The transition table. `same_terms`: an approval repeats the granted terms exactly.
pub fn outcome(action: Action, status: &str, same_terms: bool) -> Outcome {
    use Outcome::*;
    match (action, status) {
        (a, s) if s == a.from() => Change,
        (Action::Approve, APPROVED) if same_terms => Unchanged,
        (Action::Approve, APPROVED) => Refuse("already_approved"),
        (a, s) if s == a.target() => Unchanged,
        (_, APPROVED) => Refuse("already_approved"),
        (_, REJECTED) => Refuse("already_rejected"),
        (_, WITHDRAWN) => Refuse("already_withdrawn"),
        (_, REVOKED) => Refuse("already_revoked"),
        (Action::Revoke, PENDING) => Refuse("not_approved"),
        _ => Refuse("invalid_transition"),
    }
}

fn refusal(code: &'static str, action: Action, status: &str) -> WorkflowError {
    let why = match code {
        "already_approved" if action == Action::Approve => {
            "承認済みです（条件を変えるには取り消してから再申請） / It is already approved with other terms: revoke it and apply again to change them."
        }
        "already_approved" => {
            "承認済みです（取り消しは revoke） / It is already approved: the provider may revoke it."
        }
        "already_rejected" => "却下済みです / It was rejected.",
        "already_withdrawn" => "取り下げ済みです / It was withdrawn.",
        "already_revoked" => "承認は取り消し済みです / Its approval was revoked.",
        "not_approved" => {
            "承認されていないため取り消せません / It is not approved, so there is nothing to revoke."
        }
        _ => "この操作はできません / This transition is not possible.",
    };
    // One language on each side of the ` / ` the UI splits the message at.
    let (why_ja, why_en) = why.split_once(" / ").unwrap_or((why, why));
    WorkflowError::conflict(
        code,
        format!(
            "{} は {status} の申請にはできません: {why_ja} / Cannot {} an application that is {status}: {why_en}",
            action.verb(),
            action.verb()
        ),
    )
}

/// The terms an approval grants: scopes narrowed from the requested ones, and a rate limit.
fn granted_terms(a: &app_row::Model, form: &Decision) -> Result<(Vec<String>, i32), WorkflowError> {
    let requested = json_list(&a.requested_scopes);
    let scopes = match &form.scopes {
        None => requested.clone(),
        Some(given) => {
            let scopes = systems::scopes(given)?;
            if let Some(extra) = scopes.iter().find(|s| !requested.contains(s)) {
                return Err(WorkflowError::field(
                    "invalid_scope",
                    "scopes",
                    format!(
                        "{extra} は申請されていません（絞り込みのみ可） / {extra} was not requested: scopes can only be narrowed (requested: {}).",
                        requested.join(", ")
                    ),
                ));
            }
            scopes
        }
    };
    let rate = match form.rate_limit_per_minute {
        None => a.requested_rate_limit,
        Some(r) => rate_limit("rate_limit_per_minute", r)?,
    };
    Ok((scopes, rate))
}

async fn transition(
    state: &PortalState,
    session: &Session,
    id: i64,
    action: Action,
    form: Decision,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    let roles: &[Role] = match action {
        Action::Withdraw => &[Role::OrgAdmin, Role::OrgMember],
        _ => &[Role::OrgAdmin],
    };
    let what = format!("POST /api/v1/applications/{id}/{}", action.verb());
    let c = org_caller(state, session, roles, &what).await?;
    let current = visible(state, &c, id).await?;
    let viewer = org_id(&c);
    let allowed = match action {
        Action::Withdraw => viewer == Some(current.requester_org_id),
        _ => viewer == Some(current.provider_org_id),
    };
    if !allowed {
        audit::security(
            &state.db,
            &c.account.email,
            "security.forbidden",
            &format!("application:{id}"),
            &format!("{} by the other party", action.verb()),
        )
        .await;
        let (code, message) = match action {
            Action::Withdraw => (
                "not_requester",
                "申請者だけが取り下げられます / Only the requester may withdraw.",
            ),
            _ => (
                "not_provider",
                "API の提供者だけが判断できます / Only the API's provider may decide.",
            ),
        };
        return Err(WorkflowError::new(StatusCode::FORBIDDEN, code, message));
    }
    let comment = multiline("comment", form.comment.as_deref(), COMMENT_MAX)?;
    if matches!(action, Action::Reject | Action::Revoke) && comment.is_empty() {
        return Err(WorkflowError::field(
            "missing_field",
            "comment",
            "理由を入力してください / Give the reason.",
        ));
    }
    let terms = match action {
        Action::Approve => Some(granted_terms(&current, &form)?),
        _ => None,
    };

    let txn = state.db.begin().await?;
    let now_row = app_row::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| WorkflowError::not_found("application"))?;
    let same_terms = terms.as_ref().is_some_and(|(scopes, rate)| {
        now_row.granted_scopes.as_deref().map(json_list).as_ref() == Some(scopes)
            && now_row.granted_rate_limit == Some(*rate)
    });
    match outcome(action, &now_row.status, same_terms) {
        Outcome::Refuse(code) => return Err(refusal(code, action, &now_row.status)),
        Outcome::Unchanged => {
            audit::record(
                &txn,
                &c.account.email,
                &format!("application.{}", action.verb()),
                &format!("application:{id}"),
                "unchanged: repeated",
            )
            .await?;
            txn.commit().await?;
            return Ok(SafeJson(
                json!({ "application": view(&state.db, viewer, &now_row).await?, "changed": false }),
            ));
        }
        Outcome::Change => {}
    }
    let now = crate::jst::now_rfc3339();
    let mut update = app_row::Entity::update_many()
        .col_expr(app_row::Column::Status, Expr::value(action.target()))
        .col_expr(app_row::Column::UpdatedAt, Expr::value(now))
        .filter(app_row::Column::Id.eq(id))
        .filter(app_row::Column::Status.eq(action.from()));
    if let Some((scopes, rate)) = &terms {
        update = update
            .col_expr(
                app_row::Column::GrantedScopes,
                Expr::value(json!(scopes).to_string()),
            )
            .col_expr(app_row::Column::GrantedRateLimit, Expr::value(*rate));
    }
    let result = update.exec(&txn).await?;
    if result.rows_affected != 1 {
        // Another decision landed first; this one is judged against it.
        drop(txn);
        let latest = app_row::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .ok_or_else(|| WorkflowError::not_found("application"))?;
        return Err(refusal(
            match outcome(action, &latest.status, false) {
                Outcome::Refuse(code) => code,
                _ => "invalid_transition",
            },
            action,
            &latest.status,
        ));
    }
    let detail = match &terms {
        Some((scopes, rate)) => json!({ "scopes": scopes, "rate_limit_per_minute": rate }),
        None => json!({}),
    };
    match (action, &terms) {
        (Action::Approve, Some((scopes, rate))) => {
            write_approval(
                &txn,
                NewApplication {
                    requester: now_row.requester_client_id.clone(),
                    api: now_row.api_slug.clone(),
                    scopes: scopes.clone(),
                    rate_limit_per_minute: *rate as u32,
                },
            )
            .await?;
        }
        (Action::Revoke, _) => {
            write_revocation(&txn, &now_row.requester_client_id, &now_row.api_slug).await?;
        }
        _ => {}
    }
    record_event(
        &txn,
        &c,
        id,
        action.target(),
        Some(&now_row.status),
        action.target(),
        &comment,
        detail.clone(),
    )
    .await?;
    audit::record(
        &txn,
        &c.account.email,
        &format!("application.{}", action.verb()),
        &format!("application:{id}"),
        &detail.to_string(),
    )
    .await?;
    txn.commit().await?;
    let updated = app_row::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| WorkflowError::not_found("application"))?;
    let v = view(&state.db, viewer, &updated).await?;
    mail_both(state, &v, action.target(), &comment).await?;
    Ok(SafeJson(json!({ "application": v, "changed": true })))
}

/// A decision's body is optional: none at all is `{}`; anything else must be the JSON object.
fn decision(body: &[u8]) -> Result<Decision, WorkflowError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Decision::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        WorkflowError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("body: {e}"),
        )
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/approve",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = Option<Decision>, description = "Optional comment; on approval, the granted scopes and rate limit"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Approved (repeating it changes nothing); 409 when not possible", body = Object),
    ),
)]
pub async fn approve(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    transition(&state, &session, id, Action::Approve, decision(&body)?).await
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/reject",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = Option<Decision>, description = "Optional comment; on approval, the granted scopes and rate limit"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Rejected", body = Object),
    ),
)]
pub async fn reject(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    transition(&state, &session, id, Action::Reject, decision(&body)?).await
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/withdraw",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = Option<Decision>, description = "Optional comment; on approval, the granted scopes and rate limit"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Withdrawn by the requester", body = Object),
    ),
)]
pub async fn withdraw(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    transition(&state, &session, id, Action::Withdraw, decision(&body)?).await
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/revoke",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = Option<Decision>, description = "Optional comment; on approval, the granted scopes and rate limit"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Revoked by the provider", body = Object),
    ),
)]
pub async fn revoke(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    transition(&state, &session, id, Action::Revoke, decision(&body)?).await
}

// ---- demo seed --------------------------------------------------------------------------------

/// What the demo's seeded approval is, as an application record.
pub struct DemoApplication<'a> {
    pub provider_admin: &'a str,
    pub requester_admin: &'a str,
    pub provider_client_id: &'a str,
    pub requester_client_id: &'a str,
    pub api: &'a str,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: u32,
}

/// Gives the demo's nodes to the seeded organisations as systems, the API to the provider, and makes
/// the demo's approval an application with its history (submitted, approved). Does nothing twice.
pub async fn seed_demo(state: &PortalState, demo: DemoApplication<'_>) -> anyhow::Result<()> {
    use anyhow::Context;
    let db = &state.db;
    let account_of = |email: &str| {
        let email = email.to_owned();
        async move {
            account::Entity::find()
                .filter(account::Column::Email.eq(&email))
                .one(db)
                .await?
                .with_context(|| format!("demo account {email} missing"))
        }
    };
    let provider = account_of(demo.provider_admin).await?;
    let requester = account_of(demo.requester_admin).await?;
    let provider_org = provider
        .organisation_id
        .context("provider admin without organisation")?;
    let requester_org = requester
        .organisation_id
        .context("requester admin without organisation")?;
    let now = crate::jst::now_rfc3339();
    for (client_id, org, name) in [
        (
            demo.provider_client_id,
            provider_org,
            "提供ノード (demo provider node)",
        ),
        (
            demo.requester_client_id,
            requester_org,
            "補助金申請システム (demo requester system)",
        ),
    ] {
        if portal_system::Entity::find_by_id(client_id.to_owned())
            .one(db)
            .await?
            .is_none()
        {
            portal_system::ActiveModel {
                client_id: Set(client_id.to_owned()),
                organisation_id: Set(org),
                name: Set(name.to_owned()),
                created_at: Set(now.clone()),
                updated_at: Set(now.clone()),
            }
            .insert(db)
            .await?;
        }
    }
    let api = portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(demo.api))
        .one(db)
        .await?
        .context("demo API missing")?;
    if api.organisation_id.is_none() {
        let mut active: portal_api::ActiveModel = api.clone().into();
        active.organisation_id = Set(Some(provider_org));
        active.update(db).await?;
    }
    let exists = app_row::Entity::find()
        .filter(app_row::Column::ApiId.eq(api.id))
        .filter(app_row::Column::RequesterClientId.eq(demo.requester_client_id))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    let scopes = json!(demo.scopes).to_string();
    let rate = i32::try_from(demo.rate_limit_per_minute).unwrap_or(i32::MAX);
    let txn = db.begin().await?;
    let row = app_row::ActiveModel {
        id: Default::default(),
        api_id: Set(api.id),
        api_slug: Set(api.slug.clone()),
        requester_org_id: Set(requester_org),
        requester_client_id: Set(demo.requester_client_id.to_owned()),
        provider_org_id: Set(provider_org),
        requested_scopes: Set(scopes.clone()),
        granted_scopes: Set(Some(scopes)),
        purpose: Set("補助金申請の審査で法人の基本情報を確認するため / To check applicants' basic facts when reviewing grant applications.".to_owned()),
        requested_rate_limit: Set(rate),
        granted_rate_limit: Set(Some(rate)),
        comment: Set("デモの申請です。\nDemo application.".to_owned()),
        status: Set(APPROVED.to_owned()),
        created_at: Set(now.clone()),
        updated_at: Set(now.clone()),
    }
    .insert(&txn)
    .await?;
    let terms = json!({ "scopes": demo.scopes, "rate_limit_per_minute": rate }).to_string();
    for (actor, org, action, from, to, comment) in [
        (
            &requester.email,
            requester_org,
            "submitted",
            None,
            PENDING,
            "デモの申請です。\nDemo application.",
        ),
        (
            &provider.email,
            provider_org,
            "approved",
            Some(PENDING),
            APPROVED,
            "demo seed",
        ),
    ] {
        event_row::ActiveModel {
            id: Default::default(),
            application_id: Set(row.id),
            time: Set(now.clone()),
            actor: Set(actor.clone()),
            actor_org_id: Set(Some(org)),
            action: Set(action.to_owned()),
            from_status: Set(from.map(str::to_owned)),
            to_status: Set(to.to_owned()),
            comment: Set(comment.to_owned()),
            detail: Set(terms.clone()),
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        "system",
        "demo.seed",
        &format!("application:{}", row.id),
        demo.api,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Action::*, Outcome::*, *};

    #[test]
    fn refusals_read_in_one_language_on_each_side() {
        let e = refusal("already_approved", Approve, APPROVED);
        let (ja, en) = e.0.message.split_once(" / ").expect("two languages");
        assert_eq!(
            ja,
            "approve は approved の申請にはできません: 承認済みです（条件を変えるには取り消してから再申請）"
        );
        assert_eq!(
            en,
            "Cannot approve an application that is approved: It is already approved with other terms: revoke it and apply again to change them."
        );
    }

    #[test]
    fn transition_table() {
        assert_eq!(outcome(Approve, PENDING, false), Change);
        assert_eq!(outcome(Approve, APPROVED, true), Unchanged);
        assert_eq!(
            outcome(Approve, APPROVED, false),
            Refuse("already_approved")
        );
        assert_eq!(
            outcome(Approve, REJECTED, false),
            Refuse("already_rejected")
        );
        assert_eq!(
            outcome(Approve, WITHDRAWN, false),
            Refuse("already_withdrawn")
        );
        assert_eq!(outcome(Approve, REVOKED, false), Refuse("already_revoked"));
        assert_eq!(outcome(Reject, PENDING, false), Change);
        assert_eq!(outcome(Reject, REJECTED, false), Unchanged);
        assert_eq!(outcome(Reject, APPROVED, false), Refuse("already_approved"));
        assert_eq!(outcome(Withdraw, PENDING, false), Change);
        assert_eq!(outcome(Withdraw, WITHDRAWN, false), Unchanged);
        assert_eq!(
            outcome(Withdraw, APPROVED, false),
            Refuse("already_approved")
        );
        assert_eq!(
            outcome(Withdraw, REJECTED, false),
            Refuse("already_rejected")
        );
        assert_eq!(outcome(Revoke, APPROVED, false), Change);
        assert_eq!(outcome(Revoke, REVOKED, false), Unchanged);
        assert_eq!(outcome(Revoke, PENDING, false), Refuse("not_approved"));
        assert_eq!(
            outcome(Revoke, WITHDRAWN, false),
            Refuse("already_withdrawn")
        );
    }
}
