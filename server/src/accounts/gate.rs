//! Request guards: the optional site-wide HTTP Basic gate, the CSRF check on every state-changing request, and refusal logging for unknown session cookies.

use super::{AccountError, Accounts, audit};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use std::sync::Arc;
use tower_sessions::Session;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "renkei_session";
/// Session key of the CSRF token.
pub const CSRF_KEY: &str = "csrf";
/// Header a script sends the CSRF token in; HTML forms send the hidden field `csrf_token`.
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";

/// Site-wide HTTP Basic credentials; only the Argon2 hash of the password is configured.
pub struct BasicGate {
    user: String,
    password_hash: String,
    cache: crate::password::VerifiedCache,
}

impl std::fmt::Debug for BasicGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicGate")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Clone for BasicGate {
    fn clone(&self) -> Self {
        BasicGate::new(self.user.clone(), self.password_hash.clone())
    }
}

impl BasicGate {
    pub fn new(user: String, password_hash: String) -> BasicGate {
        BasicGate {
            user,
            password_hash,
            cache: Default::default(),
        }
    }

    async fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(encoded) = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let Some(decoded) = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            return false;
        };
        let Some((user, password)) = decoded.split_once(':') else {
            return false;
        };
        user == self.user && self.cache.check(user, password, &self.password_hash).await
    }
}

/// Paths a node or a monitor calls with its own credentials: never behind the browser gate.
fn exempt_from_gate(path: &str) -> bool {
    path == crate::node::shipper::INGEST_PATH
        || path == "/healthcheck"
        // Nodes redeem OIDC codes with their own key (the browser's authorize page stays gated).
        || crate::consent::oidc::NODE_PATHS.contains(&path)
}

pub async fn basic_gate(
    State(gate): State<Arc<BasicGate>>,
    request: Request,
    next: Next,
) -> Response {
    if exempt_from_gate(request.uri().path())
        || gate
            .admits(request.headers().get(header::AUTHORIZATION))
            .await
    {
        return next.run(request).await;
    }
    let mut response = crate::api_error::ApiError::new(
        StatusCode::UNAUTHORIZED,
        "basic_auth_required",
        "このサイトの閲覧には認証が必要です / This site asks for its access credentials.",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"renkei\", charset=\"UTF-8\""),
    );
    response
}

fn has_session_cookie(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim().starts_with(&format!("{SESSION_COOKIE}=")))
}

fn same_secret(a: &str, b: &str) -> bool {
    // Compare digests so the time taken says nothing about how much of the token matched.
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Logs a session cookie that names no live session (forged, tampered, expired or logged out),
/// and refuses any state-changing request whose CSRF token (header, or the form field of an
/// urlencoded form) does not match the session's.
pub async fn session_and_csrf(
    State(accounts): State<Arc<Accounts>>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let expected: Option<String> = match session.get(CSRF_KEY).await {
        Ok(token) => token,
        Err(e) => return AccountError::from(e).into_response(),
    };
    let path = request.uri().path().to_owned();
    if has_session_cookie(&request) && session.id().is_none() {
        audit::security(
            &accounts.db,
            audit::ANONYMOUS,
            "security.session_rejected",
            &path,
            "session cookie names no live session",
        )
        .await;
    }
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (request, sent) = match csrf_sent(request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match (expected, sent) {
        (Some(expected), Some(sent)) if same_secret(&expected, &sent) => next.run(request).await,
        (expected, sent) => {
            let why = match (expected.is_some(), sent.is_some()) {
                (false, _) => "no CSRF token in the session",
                (true, false) => "no CSRF token sent",
                (true, true) => "wrong CSRF token",
            };
            audit::security(
                &accounts.db,
                audit::ANONYMOUS,
                "security.csrf_refused",
                &path,
                why,
            )
            .await;
            AccountError::Csrf.into_response()
        }
    }
}

/// The token the client sent; a form body is read and put back for the handler.
async fn csrf_sent(request: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(v) = request.headers().get(CSRF_HEADER) {
        let token = v.to_str().ok().map(str::to_owned);
        return Ok((request, token));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}
