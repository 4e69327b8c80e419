//! The portal as built-in OIDC provider, standing in for gBizID.
//!
//! - `GET /.well-known/openid-configuration`: discovery (code flow only, PKCE `S256`, `private_key_jwt`).
//! - `GET /oidc/jwks`: the portal's public key (OKP / Ed25519).
//! - `GET /oidc/authorize`: checks the request (registered client, exact redirect URI, scopes of one
//!   API, nonce, PKCE S256) and shows the login + consent page (Japanese with English), always, as
//!   `prompt=consent` asks; `POST /oidc/authorize` takes the login and the decision and redirects back
//!   with a code (single-use, [`CODE_LIFETIME_SECS`]) or `error=access_denied`.
//! - `POST /oidc/token`: the code for an ID token. The client authenticates with a JWT signed by its
//!   registered node key (RFC 7523 `private_key_jwt`); the code must be unused, unexpired, issued to
//!   that client for that redirect URI, and the PKCE verifier must match. Errors follow RFC 6749 §5.2
//!   (`error` is the OAuth code, so any standard client understands it) and add `error_code`, renkei's
//!   own specific code. Every refusal is written to the audit log.

use super::IdTokenClaims;
use crate::{
    accounts::{OrgStatus, Role, audit, throttle},
    api_error::{ApiError, clip},
    portal::PortalState,
    storage::entity::{
        account, oidc_client, oidc_code, organisation, portal_api, portal_application, portal_node,
    },
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
};

pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/oidc/jwks";
pub const AUTHORIZE_PATH: &str = "/oidc/authorize";
pub const TOKEN_PATH: &str = "/oidc/token";
/// How long an authorization code can be redeemed.
pub const CODE_LIFETIME_SECS: i64 = 60;
/// What nodes (not browsers) call: outside the portal's optional Basic gate.
pub const NODE_PATHS: [&str; 3] = [DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH];
/// Longest lifetime of a client assertion.
const MAX_ASSERTION_SECS: i64 = 300;
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Client assertions seen (each `jti` once).
static ASSERTIONS: LazyLock<crate::token::ReplayGuard> = LazyLock::new(Default::default);

pub fn routes(state: Arc<PortalState>) -> Router {
    Router::new()
        .route(DISCOVERY_PATH, get(discovery))
        .route(JWKS_PATH, get(jwks))
        .route(AUTHORIZE_PATH, get(authorize_page).post(authorize_decision))
        .route(TOKEN_PATH, axum::routing::post(token))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
}

fn issuer(state: &PortalState) -> String {
    state
        .config
        .accounts
        .public_url
        .trim_end_matches('/')
        .to_owned()
}

impl PortalState {
    /// Registers (or replaces) the redirect URIs of an OIDC client; the client must be a registered node.
    pub async fn register_oidc_client(
        &self,
        client_id: &str,
        redirect_uris: &[String],
    ) -> Result<(), crate::portal::PortalError> {
        let row = oidc_client::ActiveModel {
            client_id: Set(client_id.to_owned()),
            redirect_uris: Set(json!(redirect_uris).to_string()),
            created_at: Set(crate::jst::now_rfc3339()),
        };
        oidc_client::Entity::insert(row)
            .on_conflict(
                OnConflict::column(oidc_client::Column::ClientId)
                    .update_columns([oidc_client::Column::RedirectUris])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oidc",
    responses(
        (status = 200, description = "OpenID Provider metadata", body = Object),
    ),
)]
async fn discovery(State(state): State<Arc<PortalState>>) -> Json<serde_json::Value> {
    let iss = issuer(&state);
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{iss}{TOKEN_PATH}"),
        "jwks_uri": format!("{iss}{JWKS_PATH}"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "jti", "corporate_number", "account_type", "scope", "api", "provider"],
        "prompt_values_supported": ["consent"],
        "ui_locales_supported": ["ja", "en"],
    }))
}

#[utoipa::path(
    get,
    path = "/oidc/jwks",
    tag = "oidc",
    responses(
        (status = 200, description = "The portal's signing key (Ed25519, OKP)", body = Object),
    ),
)]
async fn jwks(State(state): State<Arc<PortalState>>) -> Json<serde_json::Value> {
    let x = state.key.public_b64();
    Json(json!({ "keys": [{
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": super::key_id(&x),
        "use": "sig",
        "alg": "EdDSA",
    }]}))
}

fn parse_fields(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// A checked authorization request.
struct AuthRequest {
    client_id: String,
    requester_organisation: String,
    redirect_uri: String,
    api: portal_api::Model,
    provider_organisation: String,
    scopes: Vec<String>,
    state: String,
    nonce: String,
    code_challenge: String,
}

impl AuthRequest {
    /// The hidden fields that carry the request through the login form.
    fn hidden(&self) -> String {
        let mut scope = vec!["openid".to_owned()];
        scope.extend(self.scopes.iter().cloned());
        scope.push(self.api.slug.clone());
        [
            ("response_type", "code".to_owned()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", scope.join(" ")),
            ("state", self.state.clone()),
            ("nonce", self.nonce.clone()),
            ("code_challenge", self.code_challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
            ("prompt", "consent".to_owned()),
        ]
        .iter()
        .map(|(n, v)| format!(r#"<input type="hidden" name="{n}" value="{}">"#, escape(v)))
        .collect()
    }
}

fn bad(code: &str, message: String) -> ApiError {
    ApiError::bad_request(code, message)
}

/// Checks everything about an authorization request. A request with an unknown client or a redirect
/// URI not registered for it is refused here and never redirected (no open redirect).
async fn check_request(
    state: &PortalState,
    p: &HashMap<String, String>,
) -> Result<AuthRequest, ApiError> {
    let field = |name: &str| p.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let missing = |name: &str| {
        bad(
            "missing_parameter",
            format!("{name}: 必須のパラメータがありません / The parameter {name} is required."),
        )
    };
    let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
    let Some(client) = oidc_client::Entity::find_by_id(client_id.to_owned())
        .one(&state.db)
        .await
        .map_err(ApiError::internal)?
    else {
        audit::security(
            &state.db,
            audit::ANONYMOUS,
            "security.oidc_refused",
            &format!("client:{}", clip(client_id)),
            "unknown_client",
        )
        .await;
        return Err(bad(
            "unknown_client",
            format!(
                "client_id: {} は登録されたクライアントではありません / {:?} is not a registered client.",
                clip(client_id),
                clip(client_id)
            ),
        ));
    };
    let redirect_uri = field("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
    let registered: Vec<String> = serde_json::from_str(&client.redirect_uris).unwrap_or_default();
    if !registered.iter().any(|r| r == redirect_uri) {
        audit::security(
            &state.db,
            audit::ANONYMOUS,
            "security.oidc_refused",
            &format!("client:{client_id}"),
            &format!("redirect_uri_mismatch: {}", clip(redirect_uri)),
        )
        .await;
        return Err(bad(
            "redirect_uri_mismatch",
            format!(
                "redirect_uri: {} は {client_id} に登録された URI と一致しません / {:?} is not registered for {client_id} (exact match required).",
                clip(redirect_uri),
                clip(redirect_uri)
            ),
        ));
    }
    match field("response_type") {
        Some("code") => {}
        None => return Err(missing("response_type")),
        Some(other) => {
            return Err(bad(
                "unsupported_response_type",
                format!(
                    "response_type: code のみ使えます / Only the authorization code flow (code) is supported, not {:?}.",
                    clip(other)
                ),
            ));
        }
    }
    match field("code_challenge_method") {
        Some("S256") => {}
        None => return Err(missing("code_challenge_method")),
        Some(other) => {
            return Err(bad(
                "unsupported_code_challenge_method",
                format!(
                    "code_challenge_method: S256 のみ使えます / Only PKCE S256 is accepted, not {:?}.",
                    clip(other)
                ),
            ));
        }
    }
    let code_challenge = field("code_challenge").ok_or_else(|| missing("code_challenge"))?;
    if code_challenge.len() != 43 || URL_SAFE_NO_PAD.decode(code_challenge).is_err() {
        return Err(bad(
            "invalid_code_challenge",
            "code_challenge: SHA-256 の base64url（43 文字）を指定してください / base64url(SHA-256(verifier)), 43 characters.".into(),
        ));
    }
    let nonce = field("nonce").ok_or_else(|| missing("nonce"))?;
    if nonce.len() > 256 {
        return Err(bad(
            "invalid_nonce",
            "nonce: 256 文字以内 / At most 256 characters.".into(),
        ));
    }
    let state_param = p.get("state").cloned().unwrap_or_default();
    if state_param.len() > 512 {
        return Err(bad(
            "invalid_state",
            "state: 512 文字以内 / At most 512 characters.".into(),
        ));
    }
    let scope = field("scope").ok_or_else(|| missing("scope"))?;
    let words: Vec<&str> = scope.split_whitespace().collect();
    if !words.contains(&"openid") {
        return Err(bad(
            "invalid_scope",
            "scope: openid を含めてください / The scope must include openid.".into(),
        ));
    }
    let apis = portal_api::Entity::find()
        .all(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let named: Vec<&portal_api::Model> = apis
        .iter()
        .filter(|a| words.contains(&a.slug.as_str()))
        .collect();
    let [api] = named.as_slice() else {
        return Err(bad(
            "invalid_scope",
            "scope: 同意の対象とする API をちょうど 1 つ含めてください / The scope must name exactly one API of the catalogue.".into(),
        ));
    };
    let api = (*api).clone();
    let offered: Vec<String> = serde_json::from_str(&api.scopes).unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for w in words.iter().filter(|w| **w != "openid" && **w != api.slug) {
        if !offered.iter().any(|o| o == w) {
            return Err(bad(
                "invalid_scope",
                format!(
                    "scope: {:?} は {} の範囲ではありません / {:?} is not a scope of {}.",
                    clip(w),
                    api.slug,
                    clip(w),
                    api.slug
                ),
            ));
        }
        if !scopes.iter().any(|s| s == w) {
            scopes.push((*w).to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(bad(
            "invalid_scope",
            "scope: データの範囲を 1 つ以上含めてください / Name at least one data scope.".into(),
        ));
    }
    let approved = portal_application::Entity::find()
        .filter(portal_application::Column::Requester.eq(client_id))
        .filter(portal_application::Column::Api.eq(&api.slug))
        .filter(portal_application::Column::Status.eq(crate::portal::bundle::APPROVED))
        .one(&state.db)
        .await
        .map_err(ApiError::internal)?;
    if approved.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_approved",
            format!(
                "client_id: {client_id} には {} の利用承認がありません / {client_id} has no approved application for {}.",
                api.slug, api.slug
            ),
        ));
    }
    let nodes = portal_node::Entity::find()
        .all(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let org_of = |id: &str| {
        nodes
            .iter()
            .find(|n| n.client_id == id)
            .map(|n| n.organisation.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        requester_organisation: org_of(client_id),
        redirect_uri: redirect_uri.to_owned(),
        provider_organisation: org_of(&api.provider_client_id),
        api,
        scopes,
        state: state_param,
        nonce: nonce.to_owned(),
        code_challenge: code_challenge.to_owned(),
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The login + consent page.
fn page(req: &AuthRequest, error: Option<&str>, email: &str) -> String {
    let scopes: String = req
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ログインと同意 / Log in and consent — renkei</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}.error{{color:#b00020}}dt{{font-weight:bold}}label{{display:block;margin:.5rem 0}}</style>
</head><body>
<h1>ログインと同意 <small>/ Log in and consent</small></h1>
{error}
<section aria-labelledby="consent">
<h2 id="consent">同意の内容 / What you consent to</h2>
<dl>
<dt>データを受け取る利用者 / Requester</dt><dd id="requester">{requester} (<code>{client_id}</code>)</dd>
<dt>API</dt><dd id="api">{api_name} (<code>{api_slug}</code>) — 提供者 / provider: {provider}</dd>
<dt>範囲 / Scopes</dt><dd><ul id="scopes">{scopes}</ul></dd>
</dl>
<p>同意すると、あなたの法人の上記データが 1 回限り利用者に提供されます。<br>If you approve, the data above about your corporation is given to the requester once.</p>
</section>
<form method="post" action="{action}">
{hidden}
<label>メールアドレス / Email <input type="email" name="email" autocomplete="username" required value="{email}"></label>
<label>パスワード / Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit" name="decision" value="approve">ログインして同意する / Log in and approve</button>
<button type="submit" name="decision" value="deny" formnovalidate>同意しない / Deny</button>
</form>
</body></html>"#,
        requester = escape(&req.requester_organisation),
        client_id = escape(&req.client_id),
        api_name = escape(&req.api.name),
        api_slug = escape(&req.api.slug),
        provider = escape(&req.provider_organisation),
        action = AUTHORIZE_PATH,
        hidden = req.hidden(),
        email = escape(email),
    )
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    response.extensions_mut().insert(crate::api_error::HtmlPage);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The consent screen must not be framed by another site (clickjacking).
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

#[utoipa::path(
    get,
    path = "/oidc/authorize",
    tag = "oidc",
    params(("client_id" = Option<String>, Query, description = "Requester node"), ("redirect_uri" = Option<String>, Query, description = "Registered redirect URI"), ("response_type" = Option<String>, Query, description = "code"), ("scope" = Option<String>, Query, description = "openid and the API scopes"), ("state" = Option<String>, Query, description = "Opaque state"), ("nonce" = Option<String>, Query, description = "Nonce for the ID token"), ("code_challenge" = Option<String>, Query, description = "PKCE S256 challenge"), ("code_challenge_method" = Option<String>, Query, description = "S256")),
    responses(
        (status = 200, description = "The login and consent page (HTML)", body = String, content_type = "text/html"),
    ),
)]
async fn authorize_page(
    State(state): State<Arc<PortalState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_fields(query.unwrap_or_default().as_bytes());
    match check_request(&state, &params).await {
        Ok(req) => html(StatusCode::OK, page(&req, None, "")),
        Err(e) => e.into_response(),
    }
}

/// `redirect_uri` with the query parameters added.
fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (n, v) in params {
        query.append_pair(n, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{sep}{}", query.finish());
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn random_b64(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn hash_b64(input: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

#[utoipa::path(
    post,
    path = "/oidc/authorize",
    tag = "oidc",
    request_body(content = String, description = "The consent form: the request, email, password and decision", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the redirect URI with a code, or with an error"),
    ),
)]
async fn authorize_decision(
    State(state): State<Arc<PortalState>>,
    crate::accounts::routes::ClientAddr(addr): crate::accounts::routes::ClientAddr,
    body: Bytes,
) -> Response {
    let fields = parse_fields(&body);
    let req = match check_request(&state, &fields).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if fields.get("decision").map(String::as_str) == Some("deny") {
        audit::record(
            &state.db,
            audit::ANONYMOUS,
            "oidc.consent_denied",
            &format!("client:{}", req.client_id),
            &req.api.slug,
        )
        .await
        .ok();
        return redirect_to(
            &req.redirect_uri,
            &[("error", "access_denied"), ("state", &req.state)],
        );
    }
    let email = fields
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    match login(&state, &email, password, &addr).await {
        Ok((account, org, role)) => {
            let code = random_b64(32);
            let row = oidc_code::ActiveModel {
                code_hash: Set(hash_b64(&code)),
                client_id: Set(req.client_id.clone()),
                redirect_uri: Set(req.redirect_uri.clone()),
                account_id: Set(account.id),
                scope: Set(req.scopes.join(" ")),
                api: Set(req.api.slug.clone()),
                nonce: Set(req.nonce.clone()),
                code_challenge: Set(req.code_challenge.clone()),
                expires_at: Set(crate::token::unix_now() + CODE_LIFETIME_SECS),
                used_at: Set(None),
            };
            if let Err(e) = row.insert(&state.db).await {
                return ApiError::internal(e).into_response();
            }
            let detail = format!(
                "{} ({}, account type {}) consents to {} getting {} of {}",
                org.corporate_number,
                org.name,
                super::account_type(role),
                req.client_id,
                req.scopes.join(" "),
                req.api.slug
            );
            if let Err(e) = audit::record(
                &state.db,
                &account.email,
                "oidc.consent",
                &format!("client:{}", req.client_id),
                &detail,
            )
            .await
            {
                return ApiError::internal(e).into_response();
            }
            redirect_to(&req.redirect_uri, &[("code", &code), ("state", &req.state)])
        }
        Err((status, message)) => html(status, page(&req, Some(&message), &email)),
    }
}

/// Checks the login (throttled like the portal's own); the account must belong to an approved
/// organisation, which gives the corporate number.
async fn login(
    state: &PortalState,
    email: &str,
    password: String,
    addr: &str,
) -> Result<(account::Model, organisation::Model, Role), (StatusCode, String)> {
    let db = &state.db;
    let internal = |e: sea_orm::DbErr| {
        tracing::error!(error = %e, "oidc login");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "内部エラー / Internal error.".to_owned(),
        )
    };
    let policy = state.config.accounts.throttle;
    let (account_key, address_key) = (throttle::account_key(email), throttle::address_key(addr));
    let now = crate::token::unix_now();
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
        audit::security(db, email, "security.login_throttled", &address_key, "oidc").await;
        let api = e.to_api();
        return Err((api.status, api.message));
    }
    let found = account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(db)
        .await
        .map_err(internal)?;
    let stored = found
        .as_ref()
        .map(|a| a.password_hash.clone())
        .filter(|h| !h.is_empty());
    let phc = stored
        .clone()
        .unwrap_or_else(|| crate::password::hash("renkei-no-such-account"));
    let matches = tokio::task::spawn_blocking(move || crate::password::verify(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(account) = found.filter(|_| matches && stored.is_some()) else {
        throttle::record_failure(db, [&account_key, &address_key], now)
            .await
            .map_err(internal)?;
        audit::security(
            db,
            email,
            "security.login_failed",
            &address_key,
            "oidc: wrong email or password",
        )
        .await;
        return Err((
            StatusCode::UNAUTHORIZED,
            "メールアドレスまたはパスワードが違います / Wrong email or password.".into(),
        ));
    };
    throttle::clear(db, &account_key).await.map_err(internal)?;
    if crate::accounts::admin::suspension(db, account.id)
        .await
        .map_err(internal)?
        .is_some()
    {
        audit::security(db, email, "security.login_suspended", "oidc", "").await;
        let api = crate::accounts::AccountError::Suspended.to_api();
        return Err((api.status, api.message));
    }
    let role = Role::parse(&account.role);
    let org = match account.organisation_id {
        Some(id) => organisation::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(internal)?,
        None => None,
    };
    match (role, org) {
        (Some(role @ (Role::OrgAdmin | Role::OrgMember)), Some(org))
            if org.status == OrgStatus::Approved.as_str() =>
        {
            Ok((account, org, role))
        }
        _ => {
            audit::security(
                db,
                email,
                "security.oidc_refused",
                "login",
                "no approved corporation",
            )
            .await;
            Err((StatusCode::FORBIDDEN, "同意できるのは承認済み法人のアカウントだけです / Only an account of an approved corporation can consent.".into()))
        }
    }
}

/// An RFC 6749 §5.2 error with renkei's specific code, logged to the audit log.
struct TokenError {
    status: StatusCode,
    oauth: &'static str,
    code: &'static str,
    message: String,
}

impl TokenError {
    fn grant(code: &'static str, message: impl Into<String>) -> TokenError {
        TokenError {
            status: StatusCode::BAD_REQUEST,
            oauth: "invalid_grant",
            code,
            message: message.into(),
        }
    }
    fn request(code: &'static str, message: impl Into<String>) -> TokenError {
        TokenError {
            status: StatusCode::BAD_REQUEST,
            oauth: "invalid_request",
            code,
            message: message.into(),
        }
    }
    fn client(message: impl Into<String>) -> TokenError {
        TokenError {
            status: StatusCode::UNAUTHORIZED,
            oauth: "invalid_client",
            code: "client_auth_failed",
            message: message.into(),
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.oauth, "error_description": self.message, "error_code": self.code })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[derive(Serialize, Deserialize)]
pub struct ClientAssertion {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Signs a client assertion for the token endpoint with a node's key (the node side uses it).
pub fn sign_client_assertion(
    key: &crate::keys::NodeKey,
    client_id: &str,
    token_endpoint: &str,
) -> String {
    let now = crate::token::unix_now();
    let claims = ClientAssertion {
        iss: client_id.to_owned(),
        sub: client_id.to_owned(),
        aud: token_endpoint.to_owned(),
        iat: now,
        exp: now + 60,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    jsonwebtoken::encode(&header, &claims, &key.encoding_key())
        .expect("EdDSA signing with a valid key cannot fail")
}

/// The client that signed the assertion: a registered OIDC client whose node key verifies it.
async fn authenticate_client(
    state: &PortalState,
    fields: &HashMap<String, String>,
) -> Result<String, TokenError> {
    if fields.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
        return Err(TokenError::client(format!(
            "client_assertion_type: {CLIENT_ASSERTION_TYPE} (private_key_jwt) is required"
        )));
    }
    let assertion = fields
        .get("client_assertion")
        .map(String::as_str)
        .unwrap_or_default();
    let unverified: ClientAssertion = jsonwebtoken::dangerous::insecure_decode(assertion)
        .map(|d| d.claims)
        .map_err(|e| TokenError::client(format!("client_assertion: not a JWT ({e})")))?;
    if let Some(id) = fields.get("client_id")
        && *id != unverified.iss
    {
        return Err(TokenError::client(
            "client_id differs from the client assertion's issuer",
        ));
    }
    let node = portal_node::Entity::find_by_id(unverified.iss.clone())
        .one(&state.db)
        .await
        .ok()
        .flatten();
    let registered = oidc_client::Entity::find_by_id(unverified.iss.clone())
        .one(&state.db)
        .await
        .ok()
        .flatten();
    let (Some(node), Some(_)) = (node, registered) else {
        return Err(TokenError::client(format!(
            "{} is not a registered client",
            clip(&unverified.iss)
        )));
    };
    let key = crate::keys::decoding_key(&node.public_key)
        .map_err(|e| TokenError::client(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[format!("{}{TOKEN_PATH}", issuer(state)), issuer(state)]);
    validation.set_issuer(&[&node.client_id]);
    validation.leeway = crate::token::LEEWAY_SECS as u64;
    let claims = jsonwebtoken::decode::<ClientAssertion>(assertion, &key, &validation)
        .map_err(|e| TokenError::client(format!("client_assertion: {e}")))?
        .claims;
    if claims.sub != claims.iss || claims.exp - claims.iat > MAX_ASSERTION_SECS {
        return Err(TokenError::client(
            "client_assertion: sub must equal iss and it may live at most 300 s",
        ));
    }
    if !ASSERTIONS.first_use(&format!("{}:{}", claims.iss, claims.jti), claims.exp) {
        return Err(TokenError::client("client_assertion: already used"));
    }
    Ok(claims.iss)
}

#[utoipa::path(
    post,
    path = "/oidc/token",
    tag = "oidc",
    request_body(content = String, description = "grant_type=authorization_code, code, redirect_uri, code_verifier, client_assertion_type, client_assertion (private_key_jwt)", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "ID token", body = Object),
        (status = 400, description = "RFC 6749 error (error, error_description, error_code)", body = Object),
    ),
)]
async fn token(State(state): State<Arc<PortalState>>, body: Bytes) -> Response {
    let fields = parse_fields(&body);
    match exchange(&state, &fields).await {
        Ok(json) => {
            let mut response = Json(json).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            let client = fields
                .get("client_id")
                .map(|c| clip(c))
                .unwrap_or_else(|| "(unknown)".into());
            audit::security(
                &state.db,
                &client,
                "security.oidc_token_refused",
                e.code,
                &e.message,
            )
            .await;
            e.into_response()
        }
    }
}

async fn exchange(
    state: &PortalState,
    fields: &HashMap<String, String>,
) -> Result<serde_json::Value, TokenError> {
    let client_id = authenticate_client(state, fields).await?;
    match fields.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        None => {
            return Err(TokenError::request(
                "missing_parameter",
                "grant_type is required",
            ));
        }
        Some(_) => {
            return Err(TokenError {
                status: StatusCode::BAD_REQUEST,
                oauth: "unsupported_grant_type",
                code: "unsupported_grant_type",
                message: "only grant_type=authorization_code is supported".into(),
            });
        }
    }
    let code = fields
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| TokenError::request("missing_parameter", "code is required"))?;
    let internal = |e: sea_orm::DbErr| TokenError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        oauth: "server_error",
        code: "internal",
        message: e.to_string(),
    };
    let hash = hash_b64(code);
    let row = oidc_code::Entity::find_by_id(hash.clone())
        .one(&state.db)
        .await
        .map_err(internal)?
        .ok_or_else(|| TokenError::grant("code_unknown", "the authorization code is unknown"))?;
    // Spend the code before anything else is checked: a code is good for one attempt only.
    let now = crate::token::unix_now();
    let spent = oidc_code::Entity::update_many()
        .col_expr(
            oidc_code::Column::UsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(oidc_code::Column::CodeHash.eq(&hash))
        .filter(oidc_code::Column::UsedAt.is_null())
        .exec(&state.db)
        .await
        .map_err(internal)?;
    if spent.rows_affected != 1 {
        return Err(TokenError::grant(
            "code_reused",
            "the authorization code was already used",
        ));
    }
    if row.client_id != client_id {
        return Err(TokenError::grant(
            "code_client_mismatch",
            format!("the authorization code was not issued to {client_id}"),
        ));
    }
    if fields.get("redirect_uri") != Some(&row.redirect_uri) {
        return Err(TokenError::grant(
            "redirect_uri_mismatch",
            "redirect_uri differs from the one of the authorization request",
        ));
    }
    if now > row.expires_at {
        return Err(TokenError::grant(
            "code_expired",
            format!(
                "the authorization code expired {} s ago",
                now - row.expires_at
            ),
        ));
    }
    let verifier = fields
        .get("code_verifier")
        .ok_or_else(|| TokenError::grant("pkce_missing", "code_verifier is required (PKCE)"))?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return Err(TokenError::grant(
            "pkce_invalid",
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    if hash_b64(verifier) != row.code_challenge {
        return Err(TokenError::grant(
            "pkce_mismatch",
            "code_verifier does not match the code challenge",
        ));
    }
    let account = account::Entity::find_by_id(row.account_id)
        .one(&state.db)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            TokenError::grant(
                "account_gone",
                "the account that consented no longer exists",
            )
        })?;
    let org = match account.organisation_id {
        Some(id) => organisation::Entity::find_by_id(id)
            .one(&state.db)
            .await
            .map_err(internal)?,
        None => None,
    }
    .filter(|o| o.status == OrgStatus::Approved.as_str())
    .ok_or_else(|| {
        TokenError::grant("account_gone", "the account's organisation is not approved")
    })?;
    let role = Role::parse(&account.role).unwrap_or(Role::OrgMember);
    let api = portal_api::Entity::find()
        .filter(portal_api::Column::Slug.eq(&row.api))
        .one(&state.db)
        .await
        .map_err(internal)?
        .ok_or_else(|| TokenError::grant("api_gone", "the API is no longer in the catalogue"))?;
    let claims = IdTokenClaims {
        iss: issuer(state),
        sub: format!("account:{}", account.id),
        aud: client_id,
        iat: now,
        exp: now + super::ID_TOKEN_LIFETIME_SECS,
        auth_time: now,
        nonce: row.nonce,
        jti: uuid::Uuid::new_v4().to_string(),
        corporate_number: org.corporate_number,
        account_type: super::account_type(role).to_owned(),
        scope: format!("openid {}", row.scope),
        api: api.slug,
        provider: api.provider_client_id,
    };
    let id_token = super::sign_id_token(&state.key, &claims);
    Ok(json!({
        // No userinfo or other resource takes it; present because OAuth clients expect one.
        "access_token": random_b64(32),
        "token_type": "Bearer",
        "expires_in": super::ID_TOKEN_LIFETIME_SECS,
        "scope": claims.scope,
        "id_token": id_token,
    }))
}
