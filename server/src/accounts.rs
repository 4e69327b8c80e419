//! Portal accounts: organisations' applications and operator review, login sessions, CSRF, throttling, one-time links, mail, audit log and notices.
//!
//! Everything here answers JSON under `/api/v1/…` (see [`router`]); errors go through
//! [`AccountError`], which is the one place that maps them to HTTP status and error code.

pub mod admin;
pub mod audit;
pub mod gate;
pub mod mail;
pub mod policy;
pub mod routes;
pub mod seed;
pub mod session_store;
pub mod throttle;
pub mod tokens;

use crate::api_error::ApiError;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sea_orm::{DatabaseConnection, DbErr};
use std::{sync::Arc, time::Duration};

/// How the portal runs its accounts; [`AccountsConfig::default`] is the embedded demo setting.
#[derive(Clone, Debug)]
pub struct AccountsConfig {
    /// Shown as a banner and put before every mail subject as `[name] `; `None` in production.
    pub environment: Option<String>,
    /// The portal's address as users reach it; links in mails start with it.
    pub public_url: String,
    /// Sender and transport of mails; `None` keeps them in the outbox table only.
    pub smtp: Option<mail::SmtpConfig>,
    /// A session unused this long is gone.
    pub idle_timeout: Duration,
    /// A login is over this long after it began, however busy.
    pub absolute_timeout: Duration,
    /// Set when users reach the portal over TLS: the session cookie gets `Secure`.
    pub secure_cookies: bool,
    pub throttle: throttle::ThrottlePolicy,
    /// Lifetime of password-reset and email-change links.
    pub link_ttl: Duration,
    /// Lifetime of a new member's invitation link.
    pub invite_ttl: Duration,
    /// Optional site-wide HTTP Basic gate (a trial environment's fence); off by default.
    pub basic_gate: Option<gate::BasicGate>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            environment: None,
            public_url: "http://127.0.0.1:3000".into(),
            smtp: None,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            throttle: throttle::ThrottlePolicy::default(),
            link_ttl: Duration::from_secs(3600),
            invite_ttl: Duration::from_secs(7 * 24 * 3600),
            basic_gate: None,
        }
    }
}

impl AccountsConfig {
    /// Reads the optional settings from the environment (documented in the README):
    /// `RENKEI_ENVIRONMENT`, `RENKEI_PUBLIC_URL`, `RENKEI_SMTP_URL` + `RENKEI_MAIL_FROM`,
    /// `RENKEI_SECURE_COOKIES=1`, `RENKEI_BASIC_GATE_USER` + `RENKEI_BASIC_GATE_HASH` (Argon2 PHC).
    pub fn from_env(mut self) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(env) = var("RENKEI_ENVIRONMENT") {
            self.environment = Some(env);
        }
        if let Some(url) = var("RENKEI_PUBLIC_URL") {
            self.public_url = url.trim_end_matches('/').to_owned();
        }
        if let (Some(url), Some(from)) = (var("RENKEI_SMTP_URL"), var("RENKEI_MAIL_FROM")) {
            self.smtp = Some(mail::SmtpConfig { url, from });
        }
        if var("RENKEI_SECURE_COOKIES").is_some_and(|v| v == "1" || v == "true") {
            self.secure_cookies = true;
        }
        if let (Some(user), Some(password_hash)) =
            (var("RENKEI_BASIC_GATE_USER"), var("RENKEI_BASIC_GATE_HASH"))
        {
            self.basic_gate = Some(gate::BasicGate::new(user, password_hash));
        }
        self
    }
}

/// The accounts service: its database, settings and mailer, shared by every handler.
pub struct Accounts {
    pub db: DatabaseConnection,
    pub config: AccountsConfig,
    pub mailer: Arc<dyn mail::Mailer>,
}

impl Accounts {
    /// Uses SMTP when configured, else the outbox table.
    pub fn new(
        db: DatabaseConnection,
        config: AccountsConfig,
    ) -> Result<Accounts, mail::MailError> {
        let mailer: Arc<dyn mail::Mailer> = match &config.smtp {
            Some(smtp) => Arc::new(mail::SmtpMailer::new(smtp, db.clone())?),
            None => Arc::new(mail::OutboxMailer { db: db.clone() }),
        };
        Ok(Accounts { db, config, mailer })
    }

    /// Composes and sends one mail (subject prefixed with the environment name).
    pub async fn send(&self, to: &str, letter: mail::Letter) -> Result<(), AccountError> {
        let mail = letter.into_mail(to, self.config.environment.as_deref());
        self.mailer.send(&mail).await?;
        Ok(())
    }
}

/// Who a portal account is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Operator,
    OrgAdmin,
    OrgMember,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::OrgAdmin => "org_admin",
            Role::OrgMember => "org_member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "operator" => Some(Role::Operator),
            "org_admin" => Some(Role::OrgAdmin),
            "org_member" => Some(Role::OrgMember),
            _ => None,
        }
    }
}

/// Where an organisation's application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgStatus {
    Pending,
    Approved,
    Rejected,
}

impl OrgStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Pending => "pending",
            OrgStatus::Approved => "approved",
            OrgStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<OrgStatus> {
        match s {
            "pending" => Some(OrgStatus::Pending),
            "approved" => Some(OrgStatus::Approved),
            "rejected" => Some(OrgStatus::Rejected),
            _ => None,
        }
    }
}

/// Why a link token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Invalid,
    Expired,
    Used,
}

/// Everything an accounts handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A form field is missing or malformed; `code` is specific, the message names the field.
    #[error("{message}")]
    Field { code: &'static str, message: String },
    #[error("email already registered")]
    DuplicateEmail,
    #[error("corporate number already registered")]
    DuplicateOrganisation,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("too many failed logins")]
    Throttled { minutes: i64 },
    #[error("application still pending")]
    Pending,
    #[error("application rejected")]
    Rejected,
    #[error("not logged in")]
    Unauthenticated,
    #[error("session expired")]
    SessionExpired,
    #[error("forbidden")]
    Forbidden,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("already reviewed")]
    AlreadyReviewed,
    #[error("link token: {0:?}")]
    Token(TokenProblem),
    /// The account is suspended (by an operator) or deactivated (by its organisation's admin).
    #[error("account suspended")]
    Suspended,
    /// An account change that would break a rule (the last operator or admin, one's own
    /// account); `code` names the rule, the message explains it.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl AccountError {
    pub fn field(code: &'static str, message: impl Into<String>) -> AccountError {
        AccountError::Field {
            code,
            message: message.into(),
        }
    }

    /// The one mapping from an accounts error to status, code and (bilingual) message.
    pub fn to_api(&self) -> ApiError {
        use StatusCode as S;
        let (status, code, message): (StatusCode, &str, String) = match self {
            AccountError::Field { code, message } => (S::BAD_REQUEST, code, message.clone()),
            AccountError::DuplicateEmail => (
                S::CONFLICT,
                "duplicate_email",
                "email: このメールアドレスは登録済みです / This email address is already registered.".into(),
            ),
            AccountError::DuplicateOrganisation => (
                S::CONFLICT,
                "duplicate_corporate_number",
                "corporate_number: この法人番号は申請済みです / An organisation with this corporate number has already applied.".into(),
            ),
            AccountError::InvalidCredentials => (
                S::UNAUTHORIZED,
                "invalid_credentials",
                "メールアドレスまたはパスワードが違います / Wrong email or password.".into(),
            ),
            AccountError::Throttled { minutes } => (
                S::TOO_MANY_REQUESTS,
                "throttled",
                format!(
                    "ログインの失敗が多すぎます。{minutes} 分後に再度お試しください / Too many failed logins: try again in {minutes} minutes."
                ),
            ),
            AccountError::Pending => (
                S::FORBIDDEN,
                "account_pending",
                "利用申請は審査中です / Your organisation's application is still being reviewed.".into(),
            ),
            AccountError::Rejected => (
                S::FORBIDDEN,
                "account_rejected",
                "利用申請は承認されませんでした / Your organisation's application was rejected.".into(),
            ),
            AccountError::Unauthenticated => (
                S::UNAUTHORIZED,
                "unauthenticated",
                "ログインしてください / Please log in.".into(),
            ),
            AccountError::SessionExpired => (
                S::UNAUTHORIZED,
                "session_expired",
                "セッションの有効期限が切れました。再度ログインしてください / Your session has expired: please log in again.".into(),
            ),
            AccountError::Forbidden => (
                S::FORBIDDEN,
                "forbidden",
                "この操作を行う権限がありません / You may not do this.".into(),
            ),
            AccountError::Csrf => (
                S::FORBIDDEN,
                "csrf",
                "フォームの有効期限が切れたか不正です。ページを再読み込みしてください / The form's security token is missing or wrong: reload the page.".into(),
            ),
            AccountError::NotFound(what) => (
                S::NOT_FOUND,
                "not_found",
                format!("{what} が見つかりません / No such {what}."),
            ),
            AccountError::AlreadyReviewed => (
                S::CONFLICT,
                "already_reviewed",
                "この申請は審査済みです / This application has already been reviewed.".into(),
            ),
            AccountError::Token(problem) => {
                let (code, text) = match problem {
                    TokenProblem::Invalid => (
                        "token_invalid",
                        "token: リンクが正しくありません / This link is not valid.",
                    ),
                    TokenProblem::Expired => (
                        "token_expired",
                        "token: リンクの有効期限が切れています / This link has expired.",
                    ),
                    TokenProblem::Used => (
                        "token_used",
                        "token: このリンクは使用済みです / This link has already been used.",
                    ),
                };
                (S::BAD_REQUEST, code, text.into())
            }
            AccountError::Suspended => (
                S::FORBIDDEN,
                "account_suspended",
                "このアカウントは利用停止中です。運営事務局または組織の管理者にお問い合わせください / This account is suspended: contact the operator or your organisation's admin.".into(),
            ),
            AccountError::Conflict { code, message } => (S::CONFLICT, code, message.clone()),
            AccountError::Unexpected(detail) => return ApiError::internal(detail),
        };
        ApiError::new(status, code, message)
    }
}

impl IntoResponse for AccountError {
    fn into_response(self) -> Response {
        self.to_api().into_response()
    }
}

impl From<DbErr> for AccountError {
    fn from(e: DbErr) -> Self {
        AccountError::Unexpected(format!("database: {e}"))
    }
}

impl From<tower_sessions::session::Error> for AccountError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AccountError::Unexpected(format!("session: {e}"))
    }
}

impl From<mail::MailError> for AccountError {
    fn from(e: mail::MailError) -> Self {
        AccountError::Unexpected(format!("mail: {e}"))
    }
}

/// Unix seconds now (expiry arithmetic); display times use [`crate::jst`].
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub use routes::router;
