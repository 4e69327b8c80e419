//! Per-request consent (都度同意) at the requester node.
//!
//! 1. The requester's system sends the user to `GET /v1/consent?state=…` (also `/scope.html`, the
//!    gBizConnect name): a page in Japanese with English listing the APIs this node is approved for
//!    and their scopes.
//! 2. `GET /v1/auth?api=…&scope=…&state=…` starts the OIDC authorization code flow with PKCE S256,
//!    a fresh `state` and `nonce`, and `prompt=consent` at the configured issuer (the portal).
//! 3. `GET /v1/auth/redirect_uri?code=…&state=…`: the node redeems the code at the token endpoint
//!    (authenticating with a JWT signed by its node key), verifies the ID token (signature via the
//!    issuer's JWKS, issuer, audience, nonce, expiry, API and scopes) and mints a single-use consent
//!    token bound to the corporate number, the account, the scopes and this requester. The user goes
//!    on to `post_authorized_url?client_id=…&nonce=…&state=…`.
//! 4. The system redeems the nonce once: `POST /v1/reception_tsudo` (the jizen form plus `nonce`) or
//!    `POST /v1/requests` with `"nonce"`. The node forwards the ID token as the request token's
//!    consent reference; the provider node checks it again offline.

use super::{ConsentError, IdTokenClaims};
use crate::{
    api_error::{ApiError, clip},
    node::{NodeState, exchange_log::NewExchange},
};
use axum::{
    extract::{RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// How the requester node reaches its identity provider. With the portal as IdP, `issuer` is the
/// portal's public URL and `redirect_uri` must be registered there for this node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsudoConfig {
    /// The OIDC issuer; its discovery document is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This node's callback as the browser reaches it: `http(s)://…/v1/auth/redirect_uri`.
    pub redirect_uri: String,
    /// Where the user goes after consenting (`?client_id=…&nonce=…&state=…` is added); without it
    /// the node shows the nonce on a page.
    #[serde(default)]
    pub post_authorized_url: Option<String>,
    /// Where the user goes after refusing (`?state=…`); without it the node shows a page.
    #[serde(default)]
    pub no_consent_url: Option<String>,
}

/// The node's OIDC callback path.
pub const REDIRECT_PATH: &str = "/v1/auth/redirect_uri";

/// A login under way at the IdP.
struct Pending {
    nonce: String,
    verifier: String,
    api: String,
    provider: String,
    scopes: Vec<String>,
    caller_state: String,
    created: i64,
}

/// A consent that can be redeemed once.
#[derive(Clone, Debug)]
pub struct ConsentToken {
    pub id_token: String,
    pub claims: IdTokenClaims,
}

/// The per-request consent state of a node (in memory: a restart forgets logins under way and
/// unredeemed consents, which then fail closed).
#[derive(Default)]
pub struct ConsentState {
    pending: Mutex<HashMap<String, Pending>>,
    tokens: Mutex<HashMap<String, ConsentToken>>,
    /// Redeemed nonces (until their consent would have expired), so a replay gets its own code.
    spent: Mutex<HashMap<String, i64>>,
    /// Provider side: ID tokens already accepted as consent references.
    pub replay: crate::token::ReplayGuard,
}

/// A login that does not come back within this time is forgotten.
const PENDING_TTL_SECS: i64 = 600;
/// At most this many logins under way (the consent pages need no login, so the map is bounded).
const MAX_PENDING: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConsentState {
    /// The unredeemed consent behind `nonce` (tests read it to see what was bound).
    pub fn peek(&self, nonce: &str) -> Option<ConsentToken> {
        lock(&self.tokens).get(nonce).cloned()
    }

    /// Takes the consent behind `nonce`: it can be taken once.
    fn take(&self, nonce: &str) -> Result<ConsentToken, ConsentError> {
        let now = crate::token::unix_now();
        let taken = lock(&self.tokens).remove(nonce);
        let mut spent = lock(&self.spent);
        spent.retain(|_, exp| *exp + 3600 >= now);
        match taken {
            Some(t) => {
                spent.insert(nonce.to_owned(), t.claims.exp);
                Ok(t)
            }
            None if spent.contains_key(nonce) => Err(ConsentError::Replayed),
            None => Err(ConsentError::Unknown),
        }
    }

    /// Holds a consent for redemption under `nonce`.
    pub fn insert(&self, nonce: String, token: ConsentToken) {
        let now = crate::token::unix_now();
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, t| t.claims.exp + 3600 >= now);
        tokens.insert(nonce, token);
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn random(bytes: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf
}

fn params(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn first<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}fieldset{{margin:1rem 0}}.error{{color:#b00020}}</style>
</head><body>
<h1>{title}</h1>
{body}
</body></html>"#
    );
    let mut response = (status, Html(page)).into_response();
    response.extensions_mut().insert(crate::api_error::HtmlPage);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

fn error_page(e: &ApiError) -> Response {
    let body = format!(
        r#"<p class="error" role="alert" data-code="{}">{}</p>"#,
        escape(&e.code),
        escape(&e.message)
    );
    html(e.status, "同意できませんでした / Consent failed", &body)
}

/// An API this node may ask consent for: an approved application of this node.
struct Offer {
    api: String,
    provider: String,
    scopes: Vec<String>,
}

fn offers(state: &NodeState) -> Vec<Offer> {
    let Some(current) = state.bundle.as_ref().and_then(|b| b.current()) else {
        return Vec::new();
    };
    current
        .bundle
        .applications
        .iter()
        .filter(|a| a.requester == state.config.client_id)
        .map(|a| Offer {
            api: a.api.clone(),
            provider: a.provider.clone(),
            scopes: a.scopes.clone(),
        })
        .collect()
}

fn config(state: &NodeState) -> Result<&TsudoConfig, ApiError> {
    state
        .config
        .requester
        .as_ref()
        .and_then(|r| r.consent.as_ref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "consent_not_configured",
                "この連携ノードでは都度同意が設定されていません / Per-request consent is not configured at this node.",
            )
        })
}

/// `GET /v1/consent?state=…`: pick the API and scopes.
#[utoipa::path(
    get,
    path = "/v1/consent",
    tag = "consent",
    params(("provider" = Option<String>, Query, description = "Provider node"), ("api" = Option<String>, Query, description = "API"), ("scope" = Option<String>, Query, description = "Scopes")),
    responses(
        (status = 200, description = "The consent page (HTML)", body = String, content_type = "text/html"),
    ),
)]
pub async fn consent_page(State(state): State<Arc<NodeState>>, RawQuery(q): RawQuery) -> Response {
    if let Err(e) = config(&state) {
        return error_page(&e);
    }
    let p = params(q);
    let caller_state = first(&p, "state").unwrap_or_default();
    if caller_state.len() > 512 {
        return error_page(&ApiError::bad_request(
            "invalid_state",
            "state: 512 文字以内 / At most 512 characters.",
        ));
    }
    let offers = offers(&state);
    if offers.is_empty() {
        return error_page(&ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_approved_api",
            "同意を求められる API がありません / This node has no approved API to ask consent for.",
        ));
    }
    let forms: String = offers
        .iter()
        .map(|o| {
            let boxes: String = o
                .scopes
                .iter()
                .map(|s| {
                    format!(
                        r#"<label><input type="checkbox" name="scope" value="{s}" checked> <code>{s}</code></label><br>"#,
                        s = escape(s)
                    )
                })
                .collect();
            format!(
                r#"<form method="get" action="/v1/auth"><fieldset>
<legend>API <code>{api}</code> — 提供者 / provider <code>{provider}</code></legend>
<input type="hidden" name="api" value="{api}"><input type="hidden" name="state" value="{state}">
<p>提供を受ける範囲 / Scopes:</p>
{boxes}
<button type="submit">gBizID（ポータル）で同意する / Consent at the identity provider</button>
</fieldset></form>"#,
                api = escape(&o.api),
                provider = escape(&o.provider),
                state = escape(caller_state),
            )
        })
        .collect();
    let body = format!(
        "<p>法人のアカウントでログインし、次のデータの提供に同意してください。同意は 1 回の提供に限り有効です。<br>Log in with your corporation's account and consent to one exchange of the data below.</p>\n{forms}"
    );
    html(
        StatusCode::OK,
        "データ提供への同意 / Consent to share data",
        &body,
    )
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

async fn discover(state: &NodeState, issuer: &str) -> Result<Discovery, ApiError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let unreachable = |e: String| {
        tracing::warn!(code = "idp_unreachable", issuer, error = %e, "identity provider");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "idp_unreachable",
            format!(
                "認証基盤に接続できません / The identity provider {issuer} did not answer: {e}"
            ),
        )
    };
    let response = state
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(unreachable(format!("status {}", response.status())));
    }
    let d: Discovery = response
        .json()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if d.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(unreachable(format!(
            "its discovery document names issuer {:?}",
            d.issuer
        )));
    }
    Ok(d)
}

/// `GET /v1/auth?api=…&scope=…&state=…`: off to the IdP.
#[utoipa::path(
    get,
    path = "/v1/auth",
    tag = "consent",
    responses(
        (status = 303, description = "To the identity provider (state, nonce, PKCE)"),
    ),
)]
pub async fn start(State(state): State<Arc<NodeState>>, RawQuery(q): RawQuery) -> Response {
    match start_flow(&state, params(q)).await {
        Ok(r) => r,
        Err(e) => error_page(&e),
    }
}

async fn start_flow(state: &NodeState, p: Vec<(String, String)>) -> Result<Response, ApiError> {
    let cfg = config(state)?;
    let api = first(&p, "api").filter(|a| !a.is_empty()).ok_or_else(|| {
        ApiError::bad_request(
            "missing_parameter",
            "api: API を選んでください / The parameter api is required.",
        )
    })?;
    let offer = offers(state).into_iter().find(|o| o.api == api).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_api",
            format!("api: {} はこのノードで承認された API ではありません / {:?} is not an API this node is approved for.", clip(api), clip(api)),
        )
    })?;
    let mut scopes: Vec<String> = Vec::new();
    for (_, s) in p.iter().filter(|(n, _)| n == "scope") {
        for s in s.split_whitespace() {
            if !offer.scopes.iter().any(|o| o == s) {
                return Err(ApiError::bad_request(
                    "invalid_scope",
                    format!(
                        "scope: {:?} は {} で承認された範囲ではありません / {:?} is not approved for {}.",
                        clip(s),
                        offer.api,
                        clip(s),
                        offer.api
                    ),
                ));
            }
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::bad_request(
            "missing_scopes",
            "scope: 範囲を 1 つ以上選んでください / Choose at least one scope.",
        ));
    }
    let caller_state = first(&p, "state").unwrap_or_default().to_owned();
    if caller_state.len() > 512 {
        return Err(ApiError::bad_request(
            "invalid_state",
            "state: 512 文字以内 / At most 512 characters.",
        ));
    }
    let discovery = discover(state, &cfg.issuer).await?;
    let oidc_state = URL_SAFE_NO_PAD.encode(random(24));
    let nonce = URL_SAFE_NO_PAD.encode(random(24));
    let verifier = URL_SAFE_NO_PAD.encode(random(48));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let scope = format!("openid {} {}", scopes.join(" "), offer.api);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &state.config.client_id)
        .append_pair("redirect_uri", &cfg.redirect_uri)
        .append_pair("scope", &scope)
        .append_pair("state", &oidc_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "consent");
    let sep = if discovery.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{sep}{}",
        discovery.authorization_endpoint,
        query.finish()
    );
    let now = crate::token::unix_now();
    {
        let mut pending = lock(&state.consent.pending);
        pending.retain(|_, p| p.created + PENDING_TTL_SECS >= now);
        if pending.len() >= MAX_PENDING {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "consent_busy",
                "同意手続きが混み合っています。しばらくしてからやり直してください / Too many consent flows under way: try again later.",
            ));
        }
        pending.insert(
            oidc_state,
            Pending {
                nonce,
                verifier,
                api: offer.api,
                provider: offer.provider,
                scopes,
                caller_state,
                created: now,
            },
        );
    }
    Ok(redirect(&location))
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (n, v) in pairs {
        query.append_pair(n, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", query.finish())
}

/// `GET /v1/auth/redirect_uri?code=…&state=…`: back from the IdP.
#[utoipa::path(
    get,
    path = "/v1/auth/redirect_uri",
    tag = "consent",
    params(("code" = Option<String>, Query, description = "Authorisation code"), ("state" = Option<String>, Query, description = "State")),
    responses(
        (status = 200, description = "The nonce to send with reception_tsudo (HTML)", body = String, content_type = "text/html"),
    ),
)]
pub async fn callback(State(state): State<Arc<NodeState>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q);
    let Some(pending) = first(&p, "state").and_then(|s| lock(&state.consent.pending).remove(s))
    else {
        tracing::warn!(
            code = "consent_state_unknown",
            "consent callback with an unknown state"
        );
        return error_page(&ApiError::bad_request(
            "consent_state_unknown",
            "state: この同意手続きは不明か使用済みです。最初からやり直してください / This consent flow is unknown or already finished: start again.",
        ));
    };
    let Ok(cfg) = config(&state) else {
        return error_page(&config(&state).unwrap_err());
    };
    if let Some(error) = first(&p, "error") {
        tracing::info!(error = %clip(error), "consent refused at the identity provider");
        if let Some(url) = &cfg.no_consent_url {
            return redirect(&with_query(url, &[("state", &pending.caller_state)]));
        }
        return html(
            StatusCode::OK,
            "同意されませんでした / No consent",
            "<p>データの提供には同意されませんでした。<br>You did not consent: no data will be shared.</p>",
        );
    }
    match finish(&state, cfg, &pending, first(&p, "code").unwrap_or_default()).await {
        Ok((nonce, token)) => {
            let provider = token.claims.provider.clone();
            tracing::info!(corporate_number = %token.claims.corporate_number, api = %token.claims.api, "per-request consent obtained");
            state.consent.insert(nonce.clone(), token);
            match &cfg.post_authorized_url {
                Some(url) => redirect(&with_query(
                    url,
                    &[
                        ("client_id", &provider),
                        ("nonce", &nonce),
                        ("state", &pending.caller_state),
                    ],
                )),
                None => html(
                    StatusCode::OK,
                    "同意しました / Consent given",
                    &format!(
                        r#"<p>同意を受け付けました。次の番号を連携システムに渡してください（1 回限り有効）。<br>Consent recorded. Give this one-time nonce to the requesting system:</p><p><code id="nonce">{}</code></p>"#,
                        escape(&nonce)
                    ),
                ),
            }
        }
        Err(e) => {
            tracing::warn!(code = %e.code, message = %e.message, "per-request consent failed");
            match &cfg.no_consent_url {
                Some(url) => redirect(&with_query(
                    url,
                    &[("state", &pending.caller_state), ("error", &e.code)],
                )),
                None => error_page(&e),
            }
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

async fn finish(
    state: &NodeState,
    cfg: &TsudoConfig,
    pending: &Pending,
    code: &str,
) -> Result<(String, ConsentToken), ApiError> {
    if code.is_empty() {
        return Err(ApiError::bad_request(
            "missing_parameter",
            "code: 認可コードがありません / The parameter code is required.",
        ));
    }
    let discovery = discover(state, &cfg.issuer).await?;
    let assertion = super::oidc::sign_client_assertion(
        &state.key,
        &state.config.client_id,
        &discovery.token_endpoint,
    );
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", cfg.redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
            ("client_id", state.config.client_id.as_str()),
            ("client_assertion_type", super::oidc::CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ])
        .finish();
    let response = state
        .http
        .post(&discovery.token_endpoint)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "idp_unreachable",
                format!("token endpoint: {e}"),
            )
        })?;
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if !status.is_success() {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "idp_refused",
            format!(
                "認証基盤がコードを拒否しました / The identity provider refused the code ({status}): {}",
                clip(&String::from_utf8_lossy(&body))
            ),
        ));
    }
    let tokens: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "idp_refused",
            format!("token response: {e}"),
        )
    })?;
    let claims = verify_id_token(state, &discovery, &tokens.id_token, pending).await?;
    let nonce = hex::encode(random(16));
    Ok((
        nonce,
        ConsentToken {
            id_token: tokens.id_token,
            claims,
        },
    ))
}

/// Signature (JWKS), issuer, audience, expiry, nonce, API and scopes of the ID token.
async fn verify_id_token(
    state: &NodeState,
    discovery: &Discovery,
    token: &str,
    pending: &Pending,
) -> Result<IdTokenClaims, ApiError> {
    let invalid = |why: String| {
        tracing::warn!(code = "id_token_invalid", %why, "ID token refused");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "id_token_invalid",
            format!("ID トークンを検証できません / The ID token does not verify: {why}"),
        )
    };
    let jwks: jsonwebtoken::jwk::JwkSet = state
        .http
        .get(&discovery.jwks_uri)
        .send()
        .await
        .map_err(|e| invalid(format!("JWKS: {e}")))?
        .json()
        .await
        .map_err(|e| invalid(format!("JWKS: {e}")))?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
    let jwk = match header.kid.as_deref() {
        Some(kid) => jwks.find(kid),
        None => jwks.keys.first(),
    }
    .ok_or_else(|| invalid("no key of the JWKS matches its kid".into()))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?;
    let claims = super::decode_id_token(token, &key).map_err(|e| invalid(e.to_string()))?;
    if claims.iss != discovery.issuer {
        return Err(invalid(format!("issuer {:?}", claims.iss)));
    }
    if claims.aud != state.config.client_id {
        return Err(invalid(format!("audience {:?}", claims.aud)));
    }
    if crate::token::unix_now() > claims.exp + crate::token::LEEWAY_SECS {
        return Err(invalid("expired".into()));
    }
    if claims.nonce != pending.nonce {
        return Err(invalid("nonce differs from the one this node sent".into()));
    }
    if claims.api != pending.api || claims.provider != pending.provider {
        return Err(invalid(format!(
            "it is for API {} of {}",
            claims.api, claims.provider
        )));
    }
    let mut given = claims.data_scopes();
    let mut asked = pending.scopes.clone();
    given.sort();
    asked.sort();
    if given != asked {
        return Err(invalid(format!(
            "scopes {:?} instead of {:?}",
            given, asked
        )));
    }
    Ok(claims)
}

/// The corporate number a provider path is about (`/v1/corporations/{number}…`).
fn corporate_number_of(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or_default();
    path.strip_prefix("/v1/corporations/")
        .map(|rest| rest.split('/').next().unwrap_or_default())
}

/// Redeems `nonce` for a call to `provider` at `path`: once only, unexpired, for the consenting
/// corporation and the consented scopes (none asked = all consented). Returns the ID token to forward.
/// Every refusal is logged (also in the exchange log, with its code).
pub async fn redeem(
    state: &NodeState,
    nonce: &str,
    provider: &str,
    path: &str,
    scopes: &mut Vec<String>,
) -> Result<String, ApiError> {
    let result = (|| {
        let token = state.consent.take(nonce)?;
        let c = &token.claims;
        if crate::token::unix_now() > c.exp {
            return Err(ConsentError::Expired);
        }
        if c.provider != provider {
            return Err(ConsentError::NotCovered(format!(
                "it was given for provider {}, not {}",
                c.provider,
                clip(provider)
            )));
        }
        let asked = corporate_number_of(path).unwrap_or_default();
        if asked != c.corporate_number {
            return Err(ConsentError::OtherCorporation {
                given: c.corporate_number.clone(),
                asked: clip(asked),
            });
        }
        let given = c.data_scopes();
        if scopes.is_empty() {
            *scopes = given;
        } else if let Some(s) = scopes.iter().find(|s| !given.contains(s)) {
            return Err(ConsentError::NotCovered(format!(
                "scope {s:?} was not consented to"
            )));
        }
        Ok(token.id_token)
    })();
    match result {
        Ok(t) => Ok(t),
        Err(e) => {
            tracing::warn!(code = e.code(), provider = %clip(provider), "per-request consent refused");
            let entry = NewExchange {
                request_id: uuid::Uuid::now_v7().to_string(),
                role: "requester",
                requester: state.config.client_id.clone(),
                provider: provider.to_owned(),
                method: "GET".to_owned(),
                path: path.to_owned(),
                status: e.status().as_u16(),
                scopes: scopes.clone(),
                corporate_number: corporate_number_of(path).map(clip),
                error_code: Some(e.code().to_owned()),
                ..Default::default()
            };
            if let Err(log) = state.log.append(entry).await {
                return Err(ApiError::internal(format!("exchange log: {log}")));
            }
            Err(e.to_api())
        }
    }
}
