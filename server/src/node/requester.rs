//! Requester side: authenticates the organisation's own system, signs a request token, calls the provider node.
//!
//! `POST /v1/reception_jizen` keeps gBizConnect's form interface and error texts so existing systems work
//! unchanged; `POST /v1/requests` is the same thing as JSON.

use super::{KnownProvider, NodeState, exchange_log::NewExchange};
use crate::{
    api_error::{ApiError, clip},
    token,
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use std::{sync::Arc, time::Instant};

/// A call the local system asked for, whichever interface it used.
struct Outbound {
    provider: KnownProvider,
    method: String,
    path: String,
    scopes: Vec<String>,
    /// The per-request consent (the IdP's ID token) this call carries, once redeemed.
    consent_ref: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/reception_jizen",
    tag = "requester",
    request_body(content = String, description = "gBizConnect form: call_api, method, client_id, scope (and nonce for reception_tsudo)", content_type = "application/x-www-form-urlencoded"),
    security(("system_basic" = [])),
    responses(
        (status = 200, description = "The provider's answer, passed through", body = Object),
    ),
)]
pub async fn reception_jizen(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authenticate(&state, &headers).await {
        return e;
    }
    let outbound = match parse_jizen(&state, &body) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    forward(&state, outbound).await
}

/// `POST /v1/reception_tsudo`: the jizen form plus `nonce`, the single-use per-request consent.
#[utoipa::path(
    post,
    path = "/v1/reception_tsudo",
    tag = "requester",
    request_body(content = String, description = "gBizConnect form: call_api, method, client_id, scope (and nonce for reception_tsudo)", content_type = "application/x-www-form-urlencoded"),
    security(("system_basic" = [])),
    responses(
        (status = 200, description = "The provider's answer, with the per-request consent redeemed", body = Object),
    ),
)]
pub async fn reception_tsudo(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authenticate(&state, &headers).await {
        return e;
    }
    let mut outbound = match parse_jizen(&state, &body) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let nonce = form_urlencoded::parse(&body)
        .find(|(n, _)| n == "nonce")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty());
    let Some(nonce) = nonce else {
        return ApiError::bad_request("missing_parameter", "This parameter[nonce] is missing.")
            .into_response();
    };
    if let Err(e) = with_consent(&state, &mut outbound, &nonce).await {
        return e.into_response();
    }
    forward(&state, outbound).await
}

/// Redeems the per-request consent `nonce` for `call` (see `consent::tsudo::redeem`).
async fn with_consent(state: &NodeState, call: &mut Outbound, nonce: &str) -> Result<(), ApiError> {
    let id_token = crate::consent::tsudo::redeem(
        state,
        nonce,
        &call.provider.client_id,
        &call.path,
        &mut call.scopes,
    )
    .await?;
    call.consent_ref = Some(id_token);
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonRequest {
    /// The provider node's client id.
    pub provider: String,
    #[serde(default = "get")]
    pub method: String,
    /// Path at the provider node, e.g. `/v1/corporations/1180301018771`.
    pub path: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// A per-request consent (the nonce from the consent page), redeemed by this call.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// CORS for the requester API when `origins` lists any: those origins may send JSON with an
/// `Authorization` header (the portal's try-it form); any other origin gets no CORS headers, so
/// the browser refuses to let its page read or send. `None`: no layer at all.
pub fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([HeaderName::from_static("x-renkei-receipt")])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

fn get() -> String {
    "GET".to_owned()
}

#[utoipa::path(
    post,
    path = "/v1/requests",
    tag = "requester",
    request_body = JsonRequest,
    security(("system_basic" = [])),
    responses(
        (status = 200, description = "The provider's answer, passed through", body = Object),
    ),
)]
pub async fn send_request(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authenticate(&state, &headers).await {
        return e;
    }
    let request: JsonRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::bad_request("invalid_body", format!("request body: {e}"))
                .into_response();
        }
    };
    let Some(provider) = find_provider(&state, &request.provider) else {
        return ApiError::bad_request(
            "unknown_provider",
            format!(
                "provider {:?} is not configured at this node",
                request.provider
            ),
        )
        .into_response();
    };
    if let Err(e) = check_call(&request.method, &request.path) {
        return e.into_response();
    }
    let mut call = Outbound {
        provider,
        method: request.method,
        path: request.path,
        scopes: request.scopes,
        consent_ref: None,
    };
    if let Some(nonce) = request.nonce.as_deref()
        && let Err(e) = with_consent(&state, &mut call, nonce).await
    {
        return e.into_response();
    }
    forward(&state, call).await
}

/// The provider nodes this node may call: with a bundle, the nodes for whose APIs it holds an
/// approved application; without a portal, the configured list.
fn known_providers(state: &NodeState) -> Vec<KnownProvider> {
    if let Some(store) = state.bundle.as_ref() {
        let Some(current) = store.current() else {
            return Vec::new();
        };
        let b = &current.bundle;
        return b
            .nodes
            .iter()
            .filter(|n| {
                b.applications
                    .iter()
                    .any(|a| a.requester == state.config.client_id && a.provider == n.client_id)
            })
            .map(|n| KnownProvider {
                client_id: n.client_id.clone(),
                endpoint: n.endpoint.clone(),
            })
            .collect();
    }
    state
        .config
        .requester
        .as_ref()
        .map(|r| r.providers.clone())
        .unwrap_or_default()
}

fn find_provider(state: &NodeState, client_id: &str) -> Option<KnownProvider> {
    known_providers(state)
        .into_iter()
        .find(|p| p.client_id == client_id)
}

/// HTTP Basic against the configured local systems; the response for a failure is ready to return.
async fn authenticate(state: &NodeState, headers: &HeaderMap) -> Result<String, Response> {
    let unauthorized = || {
        let mut response =
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"renkei node\""),
        );
        response
    };
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or_else(unauthorized)?;
    let (user, password) = credentials.split_once(':').ok_or_else(unauthorized)?;
    let systems = state
        .config
        .requester
        .as_ref()
        .map(|r| r.systems.as_slice())
        .unwrap_or_default();
    let system = systems.iter().find(|s| s.user == user).ok_or_else(|| {
        tracing::warn!(user, "basic auth: unknown local system");
        unauthorized()
    })?;
    if state
        .basic_auth
        .check(user, password, &system.password_hash)
        .await
    {
        Ok(user.to_owned())
    } else {
        tracing::warn!(user, "basic auth: wrong password");
        Err(unauthorized())
    }
}

/// Parses the gBizConnect form: `call_api`, `client_id`, `method`, `scope` (unknown fields ignored).
fn parse_jizen(state: &NodeState, body: &[u8]) -> Result<Outbound, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("no_body", "No Request Body."));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("invalid_form", "The request body is not UTF-8."))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        match part.matches('=').count() {
            0 => problems.push(format!(
                "This parameter[{}] does not contain equals.",
                clip(part)
            )),
            1 => {
                let (name, value) = form_urlencoded::parse(part.as_bytes())
                    .next()
                    .unwrap_or_default();
                let (name, value) = (name.into_owned(), value.into_owned());
                if name != "header" && fields.iter().any(|(n, _)| *n == name) {
                    problems.push(format!(
                        "This parameter[{}] has multiple keys.",
                        clip(&name)
                    ));
                } else {
                    fields.push((name, value));
                }
            }
            _ => problems.push(format!(
                "This parameter[{}] contains multiple equals.",
                clip(part)
            )),
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(ApiError::bad_request("invalid_form", problems.join(",")));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let call_api = field("call_api").ok_or_else(|| {
        ApiError::bad_request("missing_parameter", "This parameter[call_api] is missing.")
    })?;
    let method = field("method").ok_or_else(|| {
        ApiError::bad_request("missing_parameter", "This parameter[method] is missing.")
    })?;
    let scopes = field("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let providers = known_providers(state);

    let (provider, path) = match field("client_id") {
        Some(client_id) => {
            if !call_api.starts_with('/') {
                return Err(ApiError::bad_request(
                    "invalid_call_api",
                    format!(
                        "This parameter[call_api] must start with slash when the parameter [client_id] is added.[{}]",
                        clip(call_api)
                    ),
                ));
            }
            let provider = providers.into_iter().find(|p| p.client_id == client_id).ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_client_id",
                    "This parameter[client_id] is not included in Config File(authorized_server_list).",
                )
            })?;
            (provider, call_api.to_owned())
        }
        None => {
            let url = reqwest::Url::parse(call_api).map_err(|_| {
                ApiError::bad_request(
                    "invalid_call_api",
                    format!(
                        "This parameter[call_api] must be an absolute URL of a configured provider node, or a path starting with slash when the parameter [client_id] is added.[{}]",
                        clip(call_api)
                    ),
                )
            })?;
            let origin = url.origin().ascii_serialization();
            let provider = providers
                .into_iter()
                .find(|p| reqwest::Url::parse(&p.endpoint).map(|e| e.origin().ascii_serialization() == origin).unwrap_or(false))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "unknown_domain",
                        format!("This domain is not included in Config File(authorized_server_list).[{origin}]"),
                    )
                })?;
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            (provider, path)
        }
    };
    check_call(method, &path)?;
    Ok(Outbound {
        provider,
        method: method.to_owned(),
        path,
        scopes,
        consent_ref: None,
    })
}

fn check_call(method: &str, path: &str) -> Result<(), ApiError> {
    if method != "GET" {
        let hint = if method.eq_ignore_ascii_case("GET") {
            " (methods are case-sensitive: use GET)"
        } else {
            ""
        };
        return Err(ApiError::bad_request(
            "unsupported_method",
            format!(
                "This method[{}] is not supported: the provider APIs of this version are read-only (GET){hint}.",
                clip(method)
            ),
        ));
    }
    if !path.starts_with('/') {
        return Err(ApiError::bad_request(
            "invalid_call_api",
            format!("The path {:?} must start with a slash.", clip(path)),
        ));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(ApiError::bad_request(
            "invalid_call_api",
            format!(
                "The path is {} bytes long; at most {MAX_PATH_BYTES} are accepted.",
                path.len()
            ),
        ));
    }
    if path.contains('#') {
        return Err(ApiError::bad_request(
            "invalid_call_api",
            format!("The path {:?} must not contain a fragment (#).", clip(path)),
        ));
    }
    Ok(())
}

const MAX_PATH_BYTES: usize = 2048;

/// The provider URL for a call, and the path exactly as it will travel (percent-encoded), which is what
/// the token signs and what the provider node compares.
fn provider_url(call: &Outbound) -> Result<(reqwest::Url, String), ApiError> {
    // A URL parser silently strips control characters at the ends (a decoded `%00` in a form):
    // `/v1/corporations/%00` would become the list. Refuse them instead.
    if call.path.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_call_api",
            format!(
                "The path {:?} contains a control character; percent-encode what the path needs.",
                clip(&call.path)
            ),
        ));
    }
    let joined = format!(
        "{}{}",
        call.provider.endpoint.trim_end_matches('/'),
        call.path
    );
    let url = reqwest::Url::parse(&joined).map_err(|e| {
        ApiError::bad_request(
            "invalid_call_api",
            format!(
                "The path {:?} is not usable in a URL: {e}.",
                clip(&call.path)
            ),
        )
    })?;
    let wire_path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    // The provider node matches and checks the canonical path; sign and send exactly that.
    let wire_path = super::path::normalise_path_and_query(&wire_path).map_err(|e| {
        ApiError::bad_request(e.code(), format!("The path {:?}: {e}.", clip(&call.path)))
    })?;
    let mut url = url;
    match wire_path.split_once('?') {
        Some((p, q)) => {
            url.set_path(p);
            url.set_query(Some(q));
        }
        None => url.set_path(&wire_path),
    }
    Ok((url, wire_path))
}

async fn forward(state: &NodeState, call: Outbound) -> Response {
    let started = Instant::now();
    if let Err(e) = state.admit_exchange() {
        return e.into_response();
    }
    let bundle = match super::provider::usable_bundle(state) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(code = %e.code, "request refused: no valid bundle");
            return e.into_response();
        }
    };
    let (url, wire_path) = match provider_url(&call) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let request_id = uuid::Uuid::now_v7().to_string();
    let token = token::sign(
        &state.key,
        &state.config.client_id,
        &token::TokenRequest {
            audience: &call.provider.client_id,
            request_id: &request_id,
            method: &call.method,
            path: &wire_path,
            scopes: &call.scopes,
            body: b"",
            consent_ref: call.consent_ref.as_deref(),
        },
        30,
    );
    let mut entry = NewExchange {
        request_id: request_id.clone(),
        role: "requester",
        requester: state.config.client_id.clone(),
        provider: call.provider.client_id.clone(),
        method: call.method.clone(),
        path: wire_path.clone(),
        scopes: call.scopes.clone(),
        corporate_number: call
            .path
            .rsplit('/')
            .next()
            .filter(|n| n.len() == 13)
            .map(str::to_owned),
        consent_ref: call
            .consent_ref
            .as_deref()
            .and_then(token::unverified_jti)
            .map(|jti| format!("tsudo:{jti}")),
        ..Default::default()
    };
    let result = state
        .http
        .get(url)
        .bearer_auth(&token)
        .header("x-request-id", &request_id)
        .header(header::ACCEPT, "application/json")
        .send()
        .await;
    let mut receipt = None;
    let (mut status, mut body, mut content_type) = match result {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
            receipt = response
                .headers()
                .get(token::RECEIPT_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match response.bytes().await {
                Ok(bytes) => (status, bytes, content_type),
                Err(e) => bad_gateway(&call, e),
            }
        }
        Err(e) => bad_gateway(&call, e),
    };
    // With a bundle the provider's key is known: an answer without a valid receipt is not passed on.
    if let Some(b) = &bundle
        && status != StatusCode::BAD_GATEWAY
    {
        let key = b
            .bundle
            .node(&call.provider.client_id)
            .map(|n| n.public_key.clone())
            .unwrap_or_default();
        let expected = token::ReceiptClaims {
            iss: call.provider.client_id.clone(),
            aud: state.config.client_id.clone(),
            rid: request_id.clone(),
            bh: token::body_hash(&body),
            status: status.as_u16(),
            iat: 0,
        };
        let checked = match receipt.as_deref() {
            Some(r) => token::verify_receipt(r, &key, &expected).map(|_| ()),
            None => Err("the answer carries no receipt".to_owned()),
        };
        // A refusal the provider issued before identifying us is receipted to nobody; accept that
        // only for error answers, which carry no data.
        let checked = match checked {
            Err(_) if !status.is_success() => receipt
                .as_deref()
                .ok_or_else(|| "the answer carries no receipt".to_owned())
                .and_then(|r| {
                    token::verify_receipt(
                        r,
                        &key,
                        &token::ReceiptClaims {
                            aud: String::new(),
                            ..expected.clone()
                        },
                    )
                    .map(|_| ())
                }),
            other => other,
        };
        // A path the provider node serves no API at is answered by its router before any check,
        // unreceipted: a 404 without data. Tell the caller so, not "bad gateway".
        let checked = match checked {
            Err(_) if status == StatusCode::NOT_FOUND && receipt.is_none() => {
                let error = ApiError::new(
                    StatusCode::NOT_FOUND,
                    "api_path_unknown",
                    format!(
                        "Not Found: provider node {} serves no API at {}",
                        call.provider.client_id,
                        clip(&wire_path)
                    ),
                );
                body = Bytes::from(error.body().to_string());
                content_type = None;
                Ok(())
            }
            other => other,
        };
        if let Err(reason) = checked {
            tracing::warn!(code = "receipt_invalid", provider = %call.provider.client_id, %reason, "provider answer refused");
            let error = ApiError::new(
                StatusCode::BAD_GATEWAY,
                "receipt_invalid",
                format!(
                    "Bad Gateway: the answer of provider node {} is not covered by a valid receipt ({reason})",
                    call.provider.client_id
                ),
            );
            status = error.status;
            body = Bytes::from(error.body().to_string());
            content_type = None;
            receipt = None;
        }
    }
    entry.receipt = receipt;
    entry.status = status.as_u16();
    entry.bytes_in = body.len() as u64;
    entry.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        entry.error_code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/code")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned)
            });
    }
    if let Err(e) = state.log.append(entry).await {
        return ApiError::internal(format!("exchange log: {e}")).into_response();
    }
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", v);
    }
    response
}

fn bad_gateway(call: &Outbound, e: reqwest::Error) -> (StatusCode, Bytes, Option<HeaderValue>) {
    tracing::warn!(provider = %call.provider.client_id, error = %e, "provider node unreachable");
    let error = ApiError::new(
        StatusCode::BAD_GATEWAY,
        "provider_unreachable",
        format!(
            "Bad Gateway: the provider node {} did not answer",
            call.provider.client_id
        ),
    );
    (error.status, Bytes::from(error.body().to_string()), None)
}
