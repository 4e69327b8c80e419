//! Account administration. Operators suspend, reactivate and change the role of any account
//! (`/api/v1/operator/accounts/{id}/…`); an organisation's admin deactivates, reactivates and
//! changes the role of its own organisation's people (`/api/v1/org/members/{id}/…`).
//!
//! Rules, each refused with its own code, checked in this order: the last active operator is 409
//! `last_operator`; an organisation's last active admin is 409 `last_admin` (an operator's
//! suspension is the one exception: it is the operator's tool against misuse); one's own account
//! is 409 `self_change`. Another organisation's account is 403 `forbidden`; an admin cannot lift an operator's
//! suspension (409 `suspended_by_operator`). A repeat (suspending a suspended account, giving the
//! role it has) answers 200 with `"changed": false` and writes nothing. Each change is one
//! transaction with its audit row; what the rules count is locked first, so two admins demoting
//! each other at once cannot leave the organisation without one.

use super::{
    AccountError, Accounts, OrgStatus, Role, audit, policy,
    routes::{AccountView, Caller, JsonBody, caller, operator, require},
};
use crate::storage::entity::{account, account_suspension, organisation};
use axum::{
    Json, Router,
    extract::{Path, State},
    routing::post,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, TransactionTrait,
};
use serde::Deserialize;
use serde_json::json;
use std::{collections::HashMap, sync::Arc};
use tower_sessions::Session;

pub fn routes() -> Router<Arc<Accounts>> {
    Router::new()
        .route(
            "/api/v1/operator/accounts/{id}/suspend",
            post(operator_suspend),
        )
        .route(
            "/api/v1/operator/accounts/{id}/reactivate",
            post(operator_reactivate),
        )
        .route("/api/v1/operator/accounts/{id}/role", post(operator_role))
        .route(
            "/api/v1/org/members/{id}/deactivate",
            post(admin_deactivate),
        )
        .route(
            "/api/v1/org/members/{id}/reactivate",
            post(admin_reactivate),
        )
        .route("/api/v1/org/members/{id}/role", post(admin_role))
}

/// The account's suspension, if it is suspended.
pub async fn suspension(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Option<account_suspension::Model>, DbErr> {
    account_suspension::Entity::find_by_id(account_id)
        .one(db)
        .await
}

/// The suspensions among `ids`, by account id.
pub async fn suspensions(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, account_suspension::Model>, DbErr> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut found = HashMap::new();
    // Bounded IN lists: the operator's list is at most 500 rows, but keep every query small.
    for chunk in ids.chunks(200) {
        for row in account_suspension::Entity::find()
            .filter(account_suspension::Column::AccountId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            found.insert(row.account_id, row);
        }
    }
    Ok(found)
}

/// Who is acting: the operator over every account, or an admin over their organisation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Operator,
    OrgAdmin,
}

impl By {
    fn role(self) -> Role {
        match self {
            By::Operator => Role::Operator,
            By::OrgAdmin => Role::OrgAdmin,
        }
    }

    /// The audit action's name.
    fn action(self, what: &str) -> String {
        match self {
            By::Operator => format!("account.{what}"),
            By::OrgAdmin => format!(
                "member.{}",
                if what == "suspend" {
                    "deactivate"
                } else {
                    what
                }
            ),
        }
    }
}

fn conflict(code: &'static str, message: &str) -> AccountError {
    AccountError::Conflict {
        code,
        message: message.to_owned(),
    }
}

fn last_operator() -> AccountError {
    conflict(
        "last_operator",
        "最後の運営事務局アカウントは降格・停止できません / The last operator account cannot be demoted or suspended.",
    )
}

fn last_admin() -> AccountError {
    conflict(
        "last_admin",
        "組織の最後の管理者は降格・停止できません。先に別の人を管理者にしてください / An organisation's last admin cannot be demoted or deactivated: make someone else admin first.",
    )
}

fn self_change() -> AccountError {
    conflict(
        "self_change",
        "自分自身のアカウントの権限変更・停止はできません / You cannot change the role of, or suspend, your own account.",
    )
}

/// The logged-in operator, or the logged-in admin of an (approved) organisation.
async fn acting(
    accounts: &Accounts,
    session: &Session,
    by: By,
    what: &str,
) -> Result<Caller, AccountError> {
    match by {
        By::Operator => operator(accounts, session, what).await,
        By::OrgAdmin => {
            let c = caller(accounts, session).await?;
            require(accounts, &c, &[Role::OrgAdmin], what).await?;
            Ok(c)
        }
    }
}

/// The account `id`, which the caller may manage: 404 when there is none, 403 (logged) when it
/// belongs to another organisation than the admin's.
async fn target(
    accounts: &Accounts,
    c: &Caller,
    by: By,
    id: i64,
    what: &str,
) -> Result<account::Model, AccountError> {
    let target = account::Entity::find_by_id(id)
        .one(&accounts.db)
        .await?
        .ok_or(AccountError::NotFound("account"))?;
    if by == By::OrgAdmin && target.organisation_id != c.account.organisation_id {
        audit::security(
            &accounts.db,
            &c.account.email,
            "security.forbidden",
            what,
            &format!("account:{id} belongs to another organisation"),
        )
        .await;
        return Err(AccountError::Forbidden);
    }
    Ok(target)
}

/// Locks what the last-operator and last-admin rules count, then re-reads the target inside the
/// transaction. The locks are no-op updates, the transaction's first statements: PostgreSQL locks
/// the rows (a concurrent change of the same organisation or of the operators waits until this
/// one commits), and SQLite takes its one write lock before anything is read (so a concurrent
/// writer waits instead of failing on a stale snapshot). Always in the same order: the
/// operators, the organisation, the target.
async fn lock_and_reload(
    txn: &DatabaseTransaction,
    target: &account::Model,
    operators: bool,
) -> Result<account::Model, AccountError> {
    use sea_orm::sea_query::Expr;
    if operators {
        account::Entity::update_many()
            .col_expr(account::Column::Role, Expr::col(account::Column::Role))
            .filter(account::Column::Role.eq(Role::Operator.as_str()))
            .exec(txn)
            .await?;
    }
    if let Some(org) = target.organisation_id {
        organisation::Entity::update_many()
            .col_expr(
                organisation::Column::Id,
                Expr::col(organisation::Column::Id),
            )
            .filter(organisation::Column::Id.eq(org))
            .exec(txn)
            .await?;
    }
    account::Entity::update_many()
        .col_expr(account::Column::Id, Expr::col(account::Column::Id))
        .filter(account::Column::Id.eq(target.id))
        .exec(txn)
        .await?;
    account::Entity::find_by_id(target.id)
        .one(txn)
        .await?
        .ok_or(AccountError::NotFound("account"))
}

/// How many other accounts with `role` (in `organisation`, for an organisation role) can act:
/// a password set and not suspended.
async fn others_active(
    txn: &DatabaseTransaction,
    role: Role,
    organisation: Option<i64>,
    except: i64,
) -> Result<usize, AccountError> {
    let mut query = account::Entity::find()
        .filter(account::Column::Role.eq(role.as_str()))
        .filter(account::Column::Id.ne(except))
        .filter(account::Column::PasswordHash.ne(""));
    if role != Role::Operator {
        query = query.filter(account::Column::OrganisationId.eq(organisation));
    }
    let ids: Vec<i64> = query.all(txn).await?.iter().map(|a| a.id).collect();
    let suspended = suspensions(txn, ids.iter().copied()).await?;
    Ok(ids.iter().filter(|id| !suspended.contains_key(id)).count())
}

fn answer(
    account: &account::Model,
    suspension: Option<&account_suspension::Model>,
    changed: bool,
) -> Json<serde_json::Value> {
    Json(json!({
        "account": AccountView::with_suspension(account, suspension),
        "changed": changed,
    }))
}

// ---- suspend / deactivate ---------------------------------------------------------------------

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct SuspendForm {
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/accounts/{id}/suspend",
    tag = "operator",
    params(("id" = i64, Path, description = "Account id")),
    request_body = SuspendForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The account is suspended: no login, its sessions end; `changed: false` when it already was", body = Object),
        (status = 403, description = "Not allowed (another organisation's account, or not an admin / operator)", body = crate::api_error::ErrorBody),
        (status = 409, description = "last_operator, last_admin, self_change or suspended_by_operator", body = crate::api_error::ErrorBody),
    ),
)]
pub(crate) async fn operator_suspend(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<SuspendForm>,
) -> Result<Json<serde_json::Value>, AccountError> {
    suspend(&accounts, &session, By::Operator, id, form).await
}

#[utoipa::path(
    post,
    path = "/api/v1/org/members/{id}/deactivate",
    tag = "organisation",
    params(("id" = i64, Path, description = "Account id")),
    request_body = SuspendForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The member is deactivated; `changed: false` when it already was", body = Object),
        (status = 403, description = "Not allowed (another organisation's account, or not an admin / operator)", body = crate::api_error::ErrorBody),
        (status = 409, description = "last_operator, last_admin, self_change or suspended_by_operator", body = crate::api_error::ErrorBody),
    ),
)]
pub(crate) async fn admin_deactivate(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<SuspendForm>,
) -> Result<Json<serde_json::Value>, AccountError> {
    suspend(&accounts, &session, By::OrgAdmin, id, form).await
}

async fn suspend(
    accounts: &Accounts,
    session: &Session,
    by: By,
    id: i64,
    form: SuspendForm,
) -> Result<Json<serde_json::Value>, AccountError> {
    let what = match by {
        By::Operator => "POST /api/v1/operator/accounts/{id}/suspend",
        By::OrgAdmin => "POST /api/v1/org/members/{id}/deactivate",
    };
    let c = acting(accounts, session, by, what).await?;
    let reason = policy::comment("reason", form.reason.as_deref(), 500)?;
    let found = target(accounts, &c, by, id, what).await?;
    let txn = accounts.db.begin().await?;
    let target = lock_and_reload(&txn, &found, found.role == Role::Operator.as_str()).await?;
    let existing = suspension(&txn, target.id).await?;
    // Suspended already (by the operator, or by the admin when the admin asks again): nothing to do.
    if let Some(s) = &existing
        && (s.by_role == Role::Operator.as_str() || by == By::OrgAdmin)
    {
        return Ok(answer(&target, Some(s), false));
    }
    if target.role == Role::Operator.as_str()
        && others_active(&txn, Role::Operator, None, target.id).await? == 0
    {
        return Err(last_operator());
    }
    if by == By::OrgAdmin
        && target.role == Role::OrgAdmin.as_str()
        && others_active(&txn, Role::OrgAdmin, target.organisation_id, target.id).await? == 0
    {
        return Err(last_admin());
    }
    if target.id == c.account.id {
        return Err(self_change());
    }
    let row = account_suspension::ActiveModel {
        account_id: Set(target.id),
        suspended_at: Set(crate::jst::now_rfc3339()),
        suspended_by: Set(c.account.email.clone()),
        by_role: Set(by.role().as_str().to_owned()),
        reason: Set(reason.clone()),
    };
    // An admin's deactivation becomes the operator's suspension (the admin can no longer lift it).
    let row = match existing {
        Some(_) => row.update(&txn).await?,
        None => row.insert(&txn).await?,
    };
    let detail = if reason.is_empty() {
        target.email.clone()
    } else {
        format!("{}: {reason}", target.email)
    };
    audit::record(
        &txn,
        &c.account.email,
        &by.action("suspend"),
        &format!("account:{}", target.id),
        &detail,
    )
    .await?;
    txn.commit().await?;
    Ok(answer(&target, Some(&row), true))
}

// ---- reactivate -------------------------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/api/v1/operator/accounts/{id}/reactivate",
    tag = "operator",
    params(("id" = i64, Path, description = "Account id")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The account is active again; `changed: false` when it already was", body = Object),
        (status = 403, description = "Not allowed (another organisation's account, or not an admin / operator)", body = crate::api_error::ErrorBody),
        (status = 409, description = "last_operator, last_admin, self_change or suspended_by_operator", body = crate::api_error::ErrorBody),
    ),
)]
pub(crate) async fn operator_reactivate(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AccountError> {
    reactivate(&accounts, &session, By::Operator, id).await
}

#[utoipa::path(
    post,
    path = "/api/v1/org/members/{id}/reactivate",
    tag = "organisation",
    params(("id" = i64, Path, description = "Account id")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The member is active again; `changed: false` when it already was", body = Object),
        (status = 403, description = "Not allowed (another organisation's account, or not an admin / operator)", body = crate::api_error::ErrorBody),
        (status = 409, description = "last_operator, last_admin, self_change or suspended_by_operator", body = crate::api_error::ErrorBody),
    ),
)]
pub(crate) async fn admin_reactivate(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AccountError> {
    reactivate(&accounts, &session, By::OrgAdmin, id).await
}

async fn reactivate(
    accounts: &Accounts,
    session: &Session,
    by: By,
    id: i64,
) -> Result<Json<serde_json::Value>, AccountError> {
    let what = match by {
        By::Operator => "POST /api/v1/operator/accounts/{id}/reactivate",
        By::OrgAdmin => "POST /api/v1/org/members/{id}/reactivate",
    };
    let c = acting(accounts, session, by, what).await?;
    let found = target(accounts, &c, by, id, what).await?;
    let txn = accounts.db.begin().await?;
    let target = lock_and_reload(&txn, &found, false).await?;
    let Some(existing) = suspension(&txn, target.id).await? else {
        return Ok(answer(&target, None, false));
    };
    if by == By::OrgAdmin && existing.by_role == Role::Operator.as_str() {
        return Err(conflict(
            "suspended_by_operator",
            "運営事務局が停止したアカウントは、運営事務局のみが再開できます / Only the operator can reactivate an account the operator suspended.",
        ));
    }
    account_suspension::Entity::delete_by_id(target.id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &c.account.email,
        &by.action("reactivate"),
        &format!("account:{}", target.id),
        &target.email,
    )
    .await?;
    txn.commit().await?;
    Ok(answer(&target, None, true))
}

// ---- role -------------------------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleForm {
    /// Missing is refused as an invalid role, after the caller was checked.
    #[serde(default)]
    pub role: String,
    /// Only for an operator account given an organisation role: the organisation it joins.
    #[serde(default)]
    pub organisation_id: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/accounts/{id}/role",
    tag = "operator",
    params(("id" = i64, Path, description = "Account id")),
    request_body = RoleForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The account has the new role; `changed: false` when it already was", body = Object),
        (status = 403, description = "Not allowed (another organisation's account, or not an admin / operator)", body = crate::api_error::ErrorBody),
        (status = 409, description = "last_operator, last_admin, self_change or suspended_by_operator", body = crate::api_error::ErrorBody),
    ),
)]
pub(crate) async fn operator_role(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<RoleForm>,
) -> Result<Json<serde_json::Value>, AccountError> {
    change_role(&accounts, &session, By::Operator, id, form).await
}

#[utoipa::path(
    post,
    path = "/api/v1/org/members/{id}/role",
    tag = "organisation",
    params(("id" = i64, Path, description = "Account id")),
    request_body = RoleForm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The member has the new role; `changed: false` when it already was", body = Object),
        (status = 403, description = "Not allowed (another organisation's account, or not an admin / operator)", body = crate::api_error::ErrorBody),
        (status = 409, description = "last_operator, last_admin, self_change or suspended_by_operator", body = crate::api_error::ErrorBody),
    ),
)]
pub(crate) async fn admin_role(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<RoleForm>,
) -> Result<Json<serde_json::Value>, AccountError> {
    change_role(&accounts, &session, By::OrgAdmin, id, form).await
}

/// The new role and organisation, checked against what `by` may give.
async fn wanted(
    accounts: &Accounts,
    by: By,
    target: &account::Model,
    form: &RoleForm,
) -> Result<(Role, Option<i64>), AccountError> {
    let role = match (by, Role::parse(form.role.trim())) {
        (By::Operator, Some(role)) => role,
        (By::OrgAdmin, Some(role @ (Role::OrgAdmin | Role::OrgMember))) => role,
        (By::Operator, None) => {
            return Err(AccountError::field(
                "invalid_role",
                "role: operator / org_admin / org_member のいずれかを指定してください / Use operator, org_admin or org_member.",
            ));
        }
        (By::OrgAdmin, _) => {
            return Err(AccountError::field(
                "invalid_role",
                "role: org_admin または org_member を指定してください / Use org_admin or org_member.",
            ));
        }
    };
    if role == Role::Operator {
        return Ok((role, None));
    }
    match (target.organisation_id, form.organisation_id) {
        (Some(current), Some(asked)) if asked != current => Err(AccountError::field(
            "invalid_organisation",
            "organisation_id: 所属組織は変更できません / An account cannot move to another organisation.",
        )),
        (Some(current), _) => Ok((role, Some(current))),
        (None, None) => Err(AccountError::field(
            "missing_field",
            "organisation_id: 組織の権限にするには所属組織を指定してください / Give the organisation the account joins.",
        )),
        (None, Some(asked)) => {
            let org = organisation::Entity::find_by_id(asked)
                .one(&accounts.db)
                .await?
                .ok_or(AccountError::NotFound("organisation"))?;
            if org.status != OrgStatus::Approved.as_str() {
                return Err(AccountError::field(
                    "invalid_organisation",
                    "organisation_id: 承認済みの組織を指定してください / The organisation must be approved.",
                ));
            }
            Ok((role, Some(org.id)))
        }
    }
}

async fn change_role(
    accounts: &Accounts,
    session: &Session,
    by: By,
    id: i64,
    form: RoleForm,
) -> Result<Json<serde_json::Value>, AccountError> {
    let what = match by {
        By::Operator => "POST /api/v1/operator/accounts/{id}/role",
        By::OrgAdmin => "POST /api/v1/org/members/{id}/role",
    };
    let c = acting(accounts, session, by, what).await?;
    let found = target(accounts, &c, by, id, what).await?;
    let (role, organisation_id) = wanted(accounts, by, &found, &form).await?;
    let involves_operators = found.role == Role::Operator.as_str() || role == Role::Operator;
    let txn = accounts.db.begin().await?;
    let target = lock_and_reload(&txn, &found, involves_operators).await?;
    let current = suspension(&txn, target.id).await?;
    if target.role == role.as_str() && target.organisation_id == organisation_id {
        return Ok(answer(&target, current.as_ref(), false));
    }
    if target.role == Role::Operator.as_str()
        && others_active(&txn, Role::Operator, None, target.id).await? == 0
    {
        return Err(last_operator());
    }
    let leaves_admins = target.role == Role::OrgAdmin.as_str()
        && (role != Role::OrgAdmin || organisation_id != target.organisation_id);
    if leaves_admins
        && others_active(&txn, Role::OrgAdmin, target.organisation_id, target.id).await? == 0
    {
        return Err(last_admin());
    }
    if target.id == c.account.id {
        return Err(self_change());
    }
    let before = target.role.clone();
    let mut active: account::ActiveModel = target.into();
    active.role = Set(role.as_str().to_owned());
    active.organisation_id = Set(organisation_id);
    let updated = active.update(&txn).await?;
    audit::record(
        &txn,
        &c.account.email,
        &by.action("role_change"),
        &format!("account:{}", updated.id),
        &format!("{}: {before} → {}", updated.email, role.as_str()),
    )
    .await?;
    txn.commit().await?;
    Ok(answer(&updated, current.as_ref(), true))
}
