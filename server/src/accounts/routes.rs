//! The accounts HTTP API (`/api/v1/…`, JSON): sign-up, review, login, links, members, operator lists, notices.

use super::{
    AccountError, Accounts, OrgStatus, Role, TokenProblem, audit,
    gate::{CSRF_KEY, SESSION_COOKIE, session_and_csrf},
    mail::{Letter, clip_comment},
    policy,
    session_store::DbSessionStore,
    throttle,
    tokens::{self, Purpose},
    unix_now,
};
use crate::storage::entity::{
    account, account_suspension, audit_log, mail_outbox, notice, organisation,
};
use axum::{
    Json, Router,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use renkei_standard::CorporateNumber;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;
use std::{net::SocketAddr, sync::Arc, sync::LazyLock};
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};

const ACCOUNT_KEY: &str = "account_id";
const LOGIN_AT_KEY: &str = "login_at";
/// How many rows the operator lists return at most.
const LIST_LIMIT: u64 = 500;

/// Every accounts route, behind the session layer (database store), the CSRF guard and the
/// shared JSON API limits.
pub fn router(accounts: Arc<Accounts>) -> Router {
    let routes = Router::new()
        .route("/api/v1/session", get(session_info))
        .route("/api/v1/signup", post(sign_up))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/email", post(request_email_change))
        .route("/api/v1/email-change/confirm", post(confirm_email_change))
        .route("/api/v1/password-reset", post(request_password_reset))
        .route(
            "/api/v1/password-reset/confirm",
            post(confirm_password_reset),
        )
        .route("/api/v1/invitations/accept", post(accept_invitation))
        .route("/api/v1/org", get(own_organisation))
        .route("/api/v1/org/members", get(list_members).post(invite_member))
        .route("/api/v1/notices", get(list_notices))
        .route("/api/v1/operator/organisations", get(list_organisations))
        .route(
            "/api/v1/operator/organisations/{id}/approve",
            post(approve_organisation),
        )
        .route(
            "/api/v1/operator/organisations/{id}/reject",
            post(reject_organisation),
        )
        .route("/api/v1/operator/accounts", get(list_accounts))
        .route("/api/v1/operator/audit", get(list_audit))
        .route("/api/v1/operator/outbox", get(list_outbox))
        .route("/api/v1/operator/notices", post(publish_notice))
        .merge(super::admin::routes())
        .merge(crate::consent::prior::routes())
        .with_state(accounts.clone());
    with_sessions(routes, accounts)
}

/// Puts `routes` behind the session layer (database store), the CSRF guard and the shared JSON API
/// limits; other portal modules whose handlers need the logged-in caller use it too.
pub fn with_sessions(routes: Router, accounts: Arc<Accounts>) -> Router {
    let config = &accounts.config;
    let idle = time::Duration::seconds(config.idle_timeout.as_secs() as i64);
    let sessions = SessionManagerLayer::new(DbSessionStore::new(accounts.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));
    let routes = routes
        .layer(axum::middleware::from_fn_with_state(
            accounts,
            session_and_csrf,
        ))
        .layer(sessions);
    crate::api_error::api_layers(routes)
}

// ---- extractors -------------------------------------------------------------------------------

/// A JSON body whose rejection (bad JSON, missing field) is a 400 naming the problem.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AccountError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(AccountError::field("invalid_body", rejection.body_text())),
        }
    }
}

/// The peer's IP address (the listener is served with connect info); `unknown` without it.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string()),
        ))
    }
}

// ---- views ------------------------------------------------------------------------------------

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub organisation_id: Option<i64>,
    pub created_at: String,
    /// When the account was suspended or deactivated (JST); `null` while it is active.
    pub suspended_at: Option<String>,
    /// `operator` or `org_admin`: who suspended it; `null` while it is active.
    pub suspended_by: Option<String>,
}

impl From<&account::Model> for AccountView {
    fn from(a: &account::Model) -> Self {
        AccountView {
            id: a.id,
            email: a.email.clone(),
            display_name: a.display_name.clone(),
            role: a.role.clone(),
            organisation_id: a.organisation_id,
            created_at: a.created_at.clone(),
            suspended_at: None,
            suspended_by: None,
        }
    }
}

impl AccountView {
    /// The view with its suspension, if any.
    pub fn with_suspension(
        a: &account::Model,
        suspension: Option<&account_suspension::Model>,
    ) -> Self {
        let mut view = AccountView::from(a);
        if let Some(s) = suspension {
            view.suspended_at = Some(s.suspended_at.clone());
            view.suspended_by = Some(s.by_role.clone());
        }
        view
    }

    /// Views of `all`, each with its suspension (one query for the lot).
    pub async fn list(
        db: &impl sea_orm::ConnectionTrait,
        all: &[account::Model],
    ) -> Result<Vec<AccountView>, AccountError> {
        let suspended = super::admin::suspensions(db, all.iter().map(|a| a.id)).await?;
        Ok(all
            .iter()
            .map(|a| AccountView::with_suspension(a, suspended.get(&a.id)))
            .collect())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: i64,
    pub name: String,
    pub corporate_number: String,
    pub contact_name: String,
    pub status: String,
    pub review_comment: Option<String>,
    pub created_at: String,
    pub reviewed_at: Option<String>,
}

impl From<&organisation::Model> for OrganisationView {
    fn from(o: &organisation::Model) -> Self {
        OrganisationView {
            id: o.id,
            name: o.name.clone(),
            corporate_number: o.corporate_number.clone(),
            contact_name: o.contact_name.clone(),
            status: o.status.clone(),
            review_comment: o.review_comment.clone(),
            created_at: o.created_at.clone(),
            reviewed_at: o.reviewed_at.clone(),
        }
    }
}

// ---- who is calling ---------------------------------------------------------------------------

/// The logged-in account behind a request.
pub struct Caller {
    pub account: account::Model,
    pub role: Role,
    pub organisation: Option<organisation::Model>,
}

/// The session's account, or 401. A login past the absolute timeout ends here, and so does one
/// whose account vanished or whose organisation is no longer approved.
pub(crate) async fn caller(accounts: &Accounts, session: &Session) -> Result<Caller, AccountError> {
    let Some(account_id) = session.get::<i64>(ACCOUNT_KEY).await? else {
        return Err(AccountError::Unauthenticated);
    };
    let login_at: i64 = session.get(LOGIN_AT_KEY).await?.unwrap_or(0);
    if unix_now() - login_at >= accounts.config.absolute_timeout.as_secs() as i64 {
        session.flush().await?;
        audit::security(
            &accounts.db,
            audit::ANONYMOUS,
            "security.session_expired",
            &format!("account:{account_id}"),
            "absolute session lifetime reached",
        )
        .await;
        return Err(AccountError::SessionExpired);
    }
    let Some(account) = account::Entity::find_by_id(account_id)
        .one(&accounts.db)
        .await?
    else {
        session.flush().await?;
        return Err(AccountError::Unauthenticated);
    };
    if let Some(suspension) = super::admin::suspension(&accounts.db, account.id).await? {
        // Suspended since this login began: the session ends here, at its next request.
        session.flush().await?;
        audit::security(
            &accounts.db,
            &account.email,
            "security.session_suspended",
            &format!("account:{}", account.id),
            &format!(
                "suspended at {} by {}",
                suspension.suspended_at, suspension.suspended_by
            ),
        )
        .await;
        return Err(AccountError::Suspended);
    }
    let role = Role::parse(&account.role).ok_or_else(|| {
        AccountError::Unexpected(format!(
            "account {} has role {:?}",
            account.id, account.role
        ))
    })?;
    let organisation = match account.organisation_id {
        Some(id) => {
            organisation::Entity::find_by_id(id)
                .one(&accounts.db)
                .await?
        }
        None => None,
    };
    if role != Role::Operator
        && organisation.as_ref().map(|o| o.status.as_str()) != Some(OrgStatus::Approved.as_str())
    {
        session.flush().await?;
        return Err(AccountError::Unauthenticated);
    }
    Ok(Caller {
        account,
        role,
        organisation,
    })
}

/// Refuses (and logs) a caller without one of `roles`.
pub(crate) async fn require(
    accounts: &Accounts,
    caller: &Caller,
    roles: &[Role],
    what: &str,
) -> Result<(), AccountError> {
    if roles.contains(&caller.role) {
        return Ok(());
    }
    audit::security(
        &accounts.db,
        &caller.account.email,
        "security.forbidden",
        what,
        caller.role.as_str(),
    )
    .await;
    Err(AccountError::Forbidden)
}

pub(crate) async fn operator(
    accounts: &Accounts,
    session: &Session,
    what: &str,
) -> Result<Caller, AccountError> {
    let caller = caller(accounts, session).await?;
    require(accounts, &caller, &[Role::Operator], what).await?;
    Ok(caller)
}

fn new_csrf_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn ensure_csrf(session: &Session) -> Result<String, AccountError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token = new_csrf_token();
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

async fn hash_password(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || crate::password::hash(&password))
        .await
        .map_err(|e| AccountError::Unexpected(format!("hashing task: {e}")))
}

async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || crate::password::verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// Checked when the email is unknown, so a wrong address costs as long as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| crate::password::hash("renkei-no-such-account"));

fn link(accounts: &Accounts, page: &str, token: &str) -> String {
    format!("{}/{page}?token={token}", accounts.config.public_url)
}

async fn log_refused_token(accounts: &Accounts, purpose: Purpose, error: &AccountError) {
    if let AccountError::Token(problem) = error {
        audit::security(
            &accounts.db,
            audit::ANONYMOUS,
            "security.token_refused",
            purpose.as_str(),
            match problem {
                TokenProblem::Invalid => "invalid",
                TokenProblem::Expired => "expired",
                TokenProblem::Used => "used",
            },
        )
        .await;
    }
}

fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

// ---- session, sign-up, login ------------------------------------------------------------------

/// The CSRF token for this browser (a session is made if needed) and who is logged in.
#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "accounts",
    responses(
        (status = 200, description = "The CSRF token for this session and the logged-in account (null when logged out)", body = Object),
    ),
)]
async fn session_info(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    let account = match caller(&accounts, &session).await {
        Ok(c) => Some(AccountView::from(&c.account)),
        Err(
            AccountError::Unauthenticated | AccountError::SessionExpired | AccountError::Suspended,
        ) => None,
        Err(e) => return Err(e),
    };
    let csrf_token = ensure_csrf(&session).await?;
    Ok(Json(
        json!({ "csrf_token": csrf_token, "account": account }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignUp {
    pub organisation_name: String,
    pub corporate_number: String,
    pub contact_name: String,
    pub email: String,
    pub password: String,
}

/// An organisation applies: it and its first admin account are stored pending review.
#[utoipa::path(
    post,
    path = "/api/v1/signup",
    tag = "accounts",
    request_body = SignUp,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The organisation and its first admin are stored, pending review", body = Object),
    ),
)]
async fn sign_up(
    State(accounts): State<Arc<Accounts>>,
    JsonBody(form): JsonBody<SignUp>,
) -> Result<Response, AccountError> {
    let name = policy::text("organisation_name", &form.organisation_name, 200)?;
    let number = CorporateNumber::parse(form.corporate_number.trim()).map_err(|e| {
        AccountError::field(
            "invalid_corporate_number",
            format!(
                "corporate_number: 法人番号が正しくありません / Not a valid corporate number: {e}"
            ),
        )
    })?;
    let contact_name = policy::text("contact_name", &form.contact_name, 100)?;
    let email = policy::email("email", &form.email)?;
    policy::password(&form.password, &email)?;
    let db = &accounts.db;
    if account::Entity::find()
        .filter(account::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AccountError::DuplicateEmail);
    }
    if organisation::Entity::find()
        .filter(organisation::Column::CorporateNumber.eq(number.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AccountError::DuplicateOrganisation);
    }
    let password_hash = hash_password(form.password).await?;
    let now = crate::jst::now_rfc3339();
    let txn = db.begin().await?;
    let org = organisation::ActiveModel {
        id: Default::default(),
        name: Set(name.clone()),
        corporate_number: Set(number.as_str().to_owned()),
        contact_name: Set(contact_name.clone()),
        status: Set(OrgStatus::Pending.as_str().to_owned()),
        review_comment: Set(None),
        created_at: Set(now.clone()),
        reviewed_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AccountError::DuplicateOrganisation
        } else {
            e.into()
        }
    })?;
    let admin = account::ActiveModel {
        id: Default::default(),
        organisation_id: Set(Some(org.id)),
        email: Set(email.clone()),
        display_name: Set(contact_name),
        password_hash: Set(password_hash),
        role: Set(Role::OrgAdmin.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AccountError::DuplicateEmail
        } else {
            e.into()
        }
    })?;
    audit::record(
        &txn,
        &email,
        "organisation.apply",
        &format!("organisation:{}", org.id),
        &name,
    )
    .await?;
    txn.commit().await?;
    accounts
        .send(
            &email,
            Letter {
                subject_ja: "利用申請を受け付けました".into(),
                subject_en: "We received your application".into(),
                body_ja: format!("{name} 様\n\n利用申請を受け付けました。運営事務局の審査結果をメールでお知らせします。"),
                body_en: format!("Dear {name},\n\nWe received your application. The operator will review it and tell you the result by mail."),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "organisation": OrganisationView::from(&org),
            "account": AccountView::from(&admin),
        })),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// Checks the password (throttled per account and per address), then starts a fresh session:
/// new session id, new CSRF token.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "accounts",
    request_body = Login,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Logged in: a fresh session and CSRF token", body = Object),
    ),
)]
async fn login(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    ClientAddr(addr): ClientAddr,
    JsonBody(form): JsonBody<Login>,
) -> Result<Json<serde_json::Value>, AccountError> {
    let db = &accounts.db;
    let email = form.email.trim().to_lowercase();
    let policy = accounts.config.throttle;
    let (account_key, address_key) = (throttle::account_key(&email), throttle::address_key(&addr));
    let now = unix_now();
    if let Err(e) = throttle::check(
        db,
        &policy,
        [
            (&account_key, policy.per_account),
            (&address_key, policy.per_address),
        ],
        now,
    )
    .await
    {
        if matches!(e, AccountError::Throttled { .. }) {
            audit::security(db, &email, "security.login_throttled", &address_key, "").await;
        }
        return Err(e);
    }
    let found = account::Entity::find()
        .filter(account::Column::Email.eq(&email))
        .one(db)
        .await?;
    let stored = found
        .as_ref()
        .map(|a| a.password_hash.clone())
        .filter(|h| !h.is_empty());
    let matches = verify_password(
        form.password,
        stored.clone().unwrap_or_else(|| DUMMY_HASH.clone()),
    )
    .await;
    let Some(account) = found.filter(|_| matches && stored.is_some()) else {
        throttle::record_failure(db, [&account_key, &address_key], now).await?;
        audit::security(
            db,
            &email,
            "security.login_failed",
            &address_key,
            "wrong email or password",
        )
        .await;
        return Err(AccountError::InvalidCredentials);
    };
    throttle::clear(db, &account_key).await?;
    if super::admin::suspension(db, account.id).await?.is_some() {
        audit::security(
            db,
            &email,
            "security.login_suspended",
            &format!("account:{}", account.id),
            "",
        )
        .await;
        return Err(AccountError::Suspended);
    }
    if account.role != Role::Operator.as_str() {
        let org = match account.organisation_id {
            Some(id) => organisation::Entity::find_by_id(id).one(db).await?,
            None => None,
        };
        match org.as_ref().and_then(|o| OrgStatus::parse(&o.status)) {
            Some(OrgStatus::Approved) => {}
            Some(OrgStatus::Rejected) => return Err(AccountError::Rejected),
            _ => return Err(AccountError::Pending),
        }
    }
    // A new id at login, so a session id planted before login is worth nothing after it.
    session.cycle_id().await?;
    session.insert(ACCOUNT_KEY, account.id).await?;
    session.insert(LOGIN_AT_KEY, now).await?;
    let csrf_token = new_csrf_token();
    session.insert(CSRF_KEY, &csrf_token).await?;
    Ok(Json(
        json!({ "account": AccountView::from(&account), "csrf_token": csrf_token }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "accounts",
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 204, description = "Logged out"),
    ),
)]
async fn logout(session: Session) -> Result<StatusCode, AccountError> {
    session.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "accounts",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The account and its organisation", body = Object),
    ),
)]
async fn me(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    let c = caller(&accounts, &session).await?;
    Ok(Json(json!({
        "account": AccountView::from(&c.account),
        "organisation": c.organisation.as_ref().map(OrganisationView::from),
    })))
}

// ---- password reset, invitations --------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

/// Mails a single-use reset link if the address has an account; answers the same either way,
/// so the form does not tell who has an account.
#[utoipa::path(
    post,
    path = "/api/v1/password-reset",
    tag = "accounts",
    request_body = ResetRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 202, description = "A reset link is mailed when the address is known (the answer does not tell)", body = Object),
    ),
)]
async fn request_password_reset(
    State(accounts): State<Arc<Accounts>>,
    JsonBody(form): JsonBody<ResetRequest>,
) -> Result<Response, AccountError> {
    let email = policy::email("email", &form.email)?;
    if let Some(account) = account::Entity::find()
        .filter(account::Column::Email.eq(&email))
        .one(&accounts.db)
        .await?
    {
        let ttl = accounts.config.link_ttl.as_secs() as i64;
        let token = tokens::issue(
            &accounts.db,
            Purpose::Reset,
            account.id,
            None,
            ttl,
            unix_now(),
        )
        .await?;
        let url = link(&accounts, "password-reset", &token);
        let minutes = ttl / 60;
        accounts
            .send(
                &email,
                Letter {
                    subject_ja: "パスワード再設定のご案内".into(),
                    subject_en: "Resetting your password".into(),
                    body_ja: format!("次のリンクからパスワードを再設定してください（{minutes} 分間・1 回限り有効）。\n{url}\n\nお心当たりがない場合は、このメールを破棄してください。"),
                    body_en: format!("Set a new password at this link (valid for {minutes} minutes, once):\n{url}\n\nIf you did not ask for this, ignore this mail."),
                },
            )
            .await?;
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "accepted" }))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPassword {
    pub token: String,
    pub password: String,
}

/// Sets the password an emailed link allows. The token is spent only if the password passes
/// the policy (a refused password leaves the link usable).
async fn set_password_by_link(
    accounts: &Accounts,
    purpose: Purpose,
    form: NewPassword,
) -> Result<Json<serde_json::Value>, AccountError> {
    let txn = accounts.db.begin().await?;
    let result = async {
        let token = tokens::redeem(&txn, &form.token, purpose, unix_now()).await?;
        let account = account::Entity::find_by_id(token.account_id)
            .one(&txn)
            .await?
            .ok_or(AccountError::Token(TokenProblem::Invalid))?;
        policy::password(&form.password, &account.email)?;
        let hash = hash_password(form.password).await?;
        let mut active: account::ActiveModel = account.clone().into();
        active.password_hash = Set(hash);
        let account = active.update(&txn).await?;
        audit::record(
            &txn,
            &account.email,
            &format!(
                "account.{}",
                match purpose {
                    Purpose::Invite => "invitation_accepted",
                    _ => "password_reset",
                }
            ),
            &format!("account:{}", account.id),
            "",
        )
        .await?;
        Ok::<_, AccountError>(account)
    }
    .await;
    match result {
        Ok(account) => {
            txn.commit().await?;
            Ok(Json(json!({ "account": AccountView::from(&account) })))
        }
        Err(e) => {
            drop(txn);
            log_refused_token(accounts, purpose, &e).await;
            Err(e)
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/password-reset/confirm",
    tag = "accounts",
    request_body = NewPassword,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The password is set", body = Object),
    ),
)]
async fn confirm_password_reset(
    State(accounts): State<Arc<Accounts>>,
    JsonBody(form): JsonBody<NewPassword>,
) -> Result<Json<serde_json::Value>, AccountError> {
    set_password_by_link(&accounts, Purpose::Reset, form).await
}

#[utoipa::path(
    post,
    path = "/api/v1/invitations/accept",
    tag = "accounts",
    request_body = NewPassword,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The invited account has its password", body = Object),
    ),
)]
async fn accept_invitation(
    State(accounts): State<Arc<Accounts>>,
    JsonBody(form): JsonBody<NewPassword>,
) -> Result<Json<serde_json::Value>, AccountError> {
    set_password_by_link(&accounts, Purpose::Invite, form).await
}

// ---- email change -----------------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EmailChange {
    pub new_email: String,
    pub password: String,
}

/// Mails a confirmation link to the new address and tells the old one. Nothing changes until the
/// link is used: the old address keeps logging in.
#[utoipa::path(
    post,
    path = "/api/v1/me/email",
    tag = "accounts",
    request_body = EmailChange,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 202, description = "A confirmation link is mailed to the new address", body = Object),
    ),
)]
async fn request_email_change(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    JsonBody(form): JsonBody<EmailChange>,
) -> Result<Response, AccountError> {
    let c = caller(&accounts, &session).await?;
    let new_email = policy::email("new_email", &form.new_email)?;
    if !verify_password(form.password, c.account.password_hash.clone()).await {
        audit::security(
            &accounts.db,
            &c.account.email,
            "security.reauth_failed",
            "email_change",
            "",
        )
        .await;
        return Err(AccountError::field(
            "invalid_credentials",
            "password: パスワードが違います / Wrong password.",
        ));
    }
    if new_email == c.account.email {
        return Err(AccountError::field(
            "same_email",
            "new_email: 現在と同じアドレスです / This is already your address.",
        ));
    }
    if account::Entity::find()
        .filter(account::Column::Email.eq(&new_email))
        .one(&accounts.db)
        .await?
        .is_some()
    {
        return Err(AccountError::DuplicateEmail);
    }
    let ttl = accounts.config.link_ttl.as_secs() as i64;
    let token = tokens::issue(
        &accounts.db,
        Purpose::EmailChange,
        c.account.id,
        Some(new_email.clone()),
        ttl,
        unix_now(),
    )
    .await?;
    audit::record(
        &accounts.db,
        &c.account.email,
        "account.email_change_requested",
        &format!("account:{}", c.account.id),
        &new_email,
    )
    .await?;
    let url = link(&accounts, "email-change", &token);
    accounts
        .send(
            &new_email,
            Letter {
                subject_ja: "メールアドレス変更の確認".into(),
                subject_en: "Confirm your new email address".into(),
                body_ja: format!("次のリンクを開くと、ログインに使うメールアドレスがこのアドレスに変わります（{} 分間・1 回限り有効）。\n{url}", ttl / 60),
                body_en: format!("Open this link to make this address your login (valid for {} minutes, once):\n{url}", ttl / 60),
            },
        )
        .await?;
    accounts
        .send(
            &c.account.email,
            Letter {
                subject_ja: "メールアドレス変更の申請がありました".into(),
                subject_en: "A change of your email address was requested".into(),
                body_ja: format!("あなたのアカウントのメールアドレスを {new_email} に変更する申請がありました。新しいアドレスで確認されるまで、このアドレスでログインできます。\nお心当たりがない場合は、パスワードを変更し、運営事務局にご連絡ください。"),
                body_en: format!("Someone asked to change your account's address to {new_email}. Until it is confirmed there, this address still logs in.\nIf this was not you, change your password and tell the operator."),
            },
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "confirmation_sent", "new_email": new_email })),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Confirm {
    pub token: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/email-change/confirm",
    tag = "accounts",
    request_body = Confirm,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The email address is changed", body = Object),
    ),
)]
async fn confirm_email_change(
    State(accounts): State<Arc<Accounts>>,
    JsonBody(form): JsonBody<Confirm>,
) -> Result<Json<serde_json::Value>, AccountError> {
    let txn = accounts.db.begin().await?;
    let result = async {
        let token = tokens::redeem(&txn, &form.token, Purpose::EmailChange, unix_now()).await?;
        let new_email = token
            .new_email
            .clone()
            .ok_or(AccountError::Token(TokenProblem::Invalid))?;
        let account = account::Entity::find_by_id(token.account_id)
            .one(&txn)
            .await?
            .ok_or(AccountError::Token(TokenProblem::Invalid))?;
        if account::Entity::find()
            .filter(account::Column::Email.eq(&new_email))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(AccountError::DuplicateEmail);
        }
        let old_email = account.email.clone();
        let mut active: account::ActiveModel = account.into();
        active.email = Set(new_email.clone());
        let account = active.update(&txn).await?;
        audit::record(
            &txn,
            &old_email,
            "account.email_changed",
            &format!("account:{}", account.id),
            &format!("{old_email} → {new_email}"),
        )
        .await?;
        Ok::<_, AccountError>((account, old_email))
    }
    .await;
    let (account, old_email) = match result {
        Ok(done) => {
            txn.commit().await?;
            done
        }
        Err(e) => {
            drop(txn);
            log_refused_token(&accounts, Purpose::EmailChange, &e).await;
            return Err(e);
        }
    };
    accounts
        .send(
            &old_email,
            Letter {
                subject_ja: "メールアドレスが変更されました".into(),
                subject_en: "Your email address was changed".into(),
                body_ja: format!("あなたのアカウントのメールアドレスは {} に変更されました。今後はこのアドレスではログインできません。", account.email),
                body_en: format!("Your account's address is now {}. This address no longer logs in.", account.email),
            },
        )
        .await?;
    Ok(Json(json!({ "account": AccountView::from(&account) })))
}

// ---- organisation admin -----------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/org",
    tag = "organisation",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The caller's organisation", body = Object),
    ),
)]
async fn own_organisation(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    let c = caller(&accounts, &session).await?;
    require(
        &accounts,
        &c,
        &[Role::OrgAdmin, Role::OrgMember],
        "/api/v1/org",
    )
    .await?;
    Ok(Json(
        json!({ "organisation": c.organisation.as_ref().map(OrganisationView::from) }),
    ))
}

/// The caller's own organisation's people; never another organisation's.
#[utoipa::path(
    get,
    path = "/api/v1/org/members",
    tag = "organisation",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The organisation's accounts", body = Object),
    ),
)]
async fn list_members(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    let c = caller(&accounts, &session).await?;
    require(
        &accounts,
        &c,
        &[Role::OrgAdmin, Role::OrgMember],
        "/api/v1/org/members",
    )
    .await?;
    let members = account::Entity::find()
        .filter(account::Column::OrganisationId.eq(c.account.organisation_id))
        .order_by_asc(account::Column::Id)
        .all(&accounts.db)
        .await?;
    Ok(Json(
        json!({ "members": AccountView::list(&accounts.db, &members).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    pub email: String,
    pub display_name: String,
    pub role: String,
}

/// An organisation admin adds a person; they get an invitation link to set their password.
#[utoipa::path(
    post,
    path = "/api/v1/org/members",
    tag = "organisation",
    request_body = NewMember,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The account is created and an invitation mailed", body = Object),
    ),
)]
async fn invite_member(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    JsonBody(form): JsonBody<NewMember>,
) -> Result<Response, AccountError> {
    let c = caller(&accounts, &session).await?;
    require(&accounts, &c, &[Role::OrgAdmin], "POST /api/v1/org/members").await?;
    let email = policy::email("email", &form.email)?;
    let display_name = policy::text("display_name", &form.display_name, 100)?;
    let role = match Role::parse(&form.role) {
        Some(r @ (Role::OrgAdmin | Role::OrgMember)) => r,
        _ => {
            return Err(AccountError::field(
                "invalid_role",
                "role: org_admin または org_member を指定してください / Use org_admin or org_member.",
            ));
        }
    };
    let org = c.organisation.as_ref().ok_or(AccountError::Forbidden)?;
    let txn = accounts.db.begin().await?;
    let member = account::ActiveModel {
        id: Default::default(),
        organisation_id: Set(Some(org.id)),
        email: Set(email.clone()),
        display_name: Set(display_name),
        password_hash: Set(String::new()),
        role: Set(role.as_str().to_owned()),
        created_at: Set(crate::jst::now_rfc3339()),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AccountError::DuplicateEmail
        } else {
            e.into()
        }
    })?;
    let ttl = accounts.config.invite_ttl.as_secs() as i64;
    let token = tokens::issue(&txn, Purpose::Invite, member.id, None, ttl, unix_now()).await?;
    audit::record(
        &txn,
        &c.account.email,
        "member.invite",
        &format!("account:{}", member.id),
        &format!("{email} as {}", role.as_str()),
    )
    .await?;
    txn.commit().await?;
    let url = link(&accounts, "invitation", &token);
    accounts
        .send(
            &email,
            Letter {
                subject_ja: format!("{} への招待", org.name),
                subject_en: format!("Invitation to {}", org.name),
                body_ja: format!("{} さんが、あなたを {} のメンバーとして追加しました。次のリンクからパスワードを設定してください（{} 日間・1 回限り有効）。\n{url}", c.account.display_name, org.name, ttl / 86400),
                body_en: format!("{} added you to {}. Set your password at this link (valid for {} days, once):\n{url}", c.account.display_name, org.name, ttl / 86400),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "account": AccountView::from(&member) })),
    )
        .into_response())
}

// ---- operator ---------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct StatusFilter {
    pub status: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/operator/organisations",
    tag = "operator",
    params(("status" = Option<String>, Query, description = "pending, approved or rejected")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Organisations", body = Object),
    ),
)]
async fn list_organisations(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Query(filter): Query<StatusFilter>,
) -> Result<Json<serde_json::Value>, AccountError> {
    operator(&accounts, &session, "/api/v1/operator/organisations").await?;
    let mut query = organisation::Entity::find().order_by_asc(organisation::Column::Id);
    if let Some(status) = filter.status.as_deref() {
        let status = OrgStatus::parse(status).ok_or_else(|| {
            AccountError::field("invalid_status", "status: pending / approved / rejected のいずれか / One of pending, approved, rejected.")
        })?;
        query = query.filter(organisation::Column::Status.eq(status.as_str()));
    }
    let orgs = query.limit(LIST_LIMIT).all(&accounts.db).await?;
    Ok(Json(
        json!({ "organisations": orgs.iter().map(OrganisationView::from).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Review {
    #[serde(default)]
    pub comment: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/organisations/{id}/approve",
    tag = "operator",
    params(("id" = i64, Path, description = "Organisation id")),
    request_body = Review,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The organisation is approved", body = Object),
    ),
)]
async fn approve_organisation(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<Review>,
) -> Result<Json<serde_json::Value>, AccountError> {
    review(&accounts, &session, id, form, OrgStatus::Approved).await
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/organisations/{id}/reject",
    tag = "operator",
    params(("id" = i64, Path, description = "Organisation id")),
    request_body = Review,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The organisation is rejected", body = Object),
    ),
)]
async fn reject_organisation(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<Review>,
) -> Result<Json<serde_json::Value>, AccountError> {
    review(&accounts, &session, id, form, OrgStatus::Rejected).await
}

/// Approves or rejects a pending application (a rejection needs a reason) and mails its admins.
async fn review(
    accounts: &Accounts,
    session: &Session,
    id: i64,
    form: Review,
    decision: OrgStatus,
) -> Result<Json<serde_json::Value>, AccountError> {
    let op = operator(accounts, session, "review").await?;
    let comment = policy::comment("comment", form.comment.as_deref(), 2000)?;
    if decision == OrgStatus::Rejected && comment.is_empty() {
        return Err(AccountError::field(
            "missing_field",
            "comment: 却下の理由を入力してください / Give the reason for a rejection.",
        ));
    }
    let org = organisation::Entity::find_by_id(id)
        .one(&accounts.db)
        .await?
        .ok_or(AccountError::NotFound("organisation"))?;
    if org.status != OrgStatus::Pending.as_str() {
        return Err(AccountError::AlreadyReviewed);
    }
    let txn = accounts.db.begin().await?;
    let mut active: organisation::ActiveModel = org.into();
    active.status = Set(decision.as_str().to_owned());
    active.review_comment = Set((!comment.is_empty()).then(|| comment.clone()));
    active.reviewed_at = Set(Some(crate::jst::now_rfc3339()));
    let org = active.update(&txn).await?;
    let action = if decision == OrgStatus::Approved {
        "organisation.approve"
    } else {
        "organisation.reject"
    };
    audit::record(
        &txn,
        &op.account.email,
        action,
        &format!("organisation:{}", org.id),
        &comment,
    )
    .await?;
    txn.commit().await?;

    let admins = account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org.id))
        .filter(account::Column::Role.eq(Role::OrgAdmin.as_str()))
        .all(&accounts.db)
        .await?;
    let shown = if comment.is_empty() {
        "（なし / none）".to_owned()
    } else {
        clip_comment(&comment)
    };
    let letter = |_: ()| match decision {
        OrgStatus::Approved => Letter {
            subject_ja: "利用申請が承認されました".into(),
            subject_en: "Your application was approved".into(),
            body_ja: format!(
                "{} の利用申請を承認しました。ログインしてご利用ください。\n{}/login\n\n運営事務局からのコメント：\n{shown}",
                org.name, accounts.config.public_url
            ),
            body_en: format!(
                "The application of {} was approved. Log in at:\n{}/login\n\nComment from the operator:\n{shown}",
                org.name, accounts.config.public_url
            ),
        },
        _ => Letter {
            subject_ja: "利用申請は承認されませんでした".into(),
            subject_en: "Your application was not approved".into(),
            body_ja: format!(
                "{} の利用申請は承認されませんでした。\n\n理由：\n{shown}",
                org.name
            ),
            body_en: format!(
                "The application of {} was not approved.\n\nReason:\n{shown}",
                org.name
            ),
        },
    };
    for admin in &admins {
        accounts.send(&admin.email, letter(())).await?;
    }
    Ok(Json(
        json!({ "organisation": OrganisationView::from(&org) }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/operator/accounts",
    tag = "operator",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Every account", body = Object),
    ),
)]
async fn list_accounts(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    operator(&accounts, &session, "/api/v1/operator/accounts").await?;
    let all = account::Entity::find()
        .order_by_asc(account::Column::Id)
        .limit(LIST_LIMIT)
        .all(&accounts.db)
        .await?;
    Ok(Json(
        json!({ "accounts": AccountView::list(&accounts.db, &all).await? }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/operator/audit",
    tag = "operator",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The audit log, newest first", body = Object),
    ),
)]
async fn list_audit(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    operator(&accounts, &session, "/api/v1/operator/audit").await?;
    let rows = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(LIST_LIMIT)
        .all(&accounts.db)
        .await?;
    let entries: Vec<_> = rows
        .iter()
        .map(|r| json!({ "id": r.id, "time": r.time, "actor": r.actor, "action": r.action, "target": r.target, "detail": r.detail }))
        .collect();
    Ok(Json(json!({ "entries": entries })))
}

#[utoipa::path(
    get,
    path = "/api/v1/operator/outbox",
    tag = "operator",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Mails written to the outbox", body = Object),
    ),
)]
async fn list_outbox(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
) -> Result<Json<serde_json::Value>, AccountError> {
    operator(&accounts, &session, "/api/v1/operator/outbox").await?;
    let rows = mail_outbox::Entity::find()
        .order_by_desc(mail_outbox::Column::Id)
        .limit(LIST_LIMIT)
        .all(&accounts.db)
        .await?;
    let mails: Vec<_> = rows
        .iter()
        .map(|m| json!({ "id": m.id, "created_at": m.created_at, "to": m.to_addr, "subject": m.subject, "body": m.body }))
        .collect();
    Ok(Json(json!({ "mails": mails })))
}

// ---- notices ----------------------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewNotice {
    pub title: String,
    pub body: String,
}

fn notice_json(n: &notice::Model) -> serde_json::Value {
    json!({ "id": n.id, "title": n.title, "body": n.body, "published_at": n.published_at })
}

/// Published notices (お知らせ), newest first; public.
#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "accounts",
    responses(
        (status = 200, description = "Published notices, newest first", body = Object),
    ),
)]
async fn list_notices(
    State(accounts): State<Arc<Accounts>>,
) -> Result<Json<serde_json::Value>, AccountError> {
    let rows = notice::Entity::find()
        .order_by_desc(notice::Column::Id)
        .limit(100)
        .all(&accounts.db)
        .await?;
    Ok(Json(
        json!({ "notices": rows.iter().map(notice_json).collect::<Vec<_>>() }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/notices",
    tag = "operator",
    request_body = NewNotice,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The notice is published", body = Object),
    ),
)]
async fn publish_notice(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    JsonBody(form): JsonBody<NewNotice>,
) -> Result<Response, AccountError> {
    let op = operator(&accounts, &session, "/api/v1/operator/notices").await?;
    let title = policy::text("title", &form.title, 200)?;
    let body = policy::comment("body", Some(&form.body), 10_000)?;
    if body.is_empty() {
        return Err(AccountError::field(
            "missing_field",
            "body: 入力してください / Required.",
        ));
    }
    let txn = accounts.db.begin().await?;
    let notice = notice::ActiveModel {
        id: Default::default(),
        title: Set(title.clone()),
        body: Set(body),
        published_at: Set(crate::jst::now_rfc3339()),
        author: Set(op.account.email.clone()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &op.account.email,
        "notice.publish",
        &format!("notice:{}", notice.id),
        &title,
    )
    .await?;
    txn.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "notice": notice_json(&notice) })),
    )
        .into_response())
}
