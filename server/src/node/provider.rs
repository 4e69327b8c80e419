//! Provider side: verifies the caller's token offline, applies the approval (access, scopes, rate limit,
//! consent) from the bundle, answers from the dataset, and signs a receipt of the answer.

use super::{NodeState, edge::ClientAddr, exchange_log::NewExchange};
use crate::{
    api_error::ApiError,
    bundle::{self, store::Unusable},
    dataset, jst, token,
};
use axum::{
    Extension,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use renkei_standard::CorporateNumber;
use std::{sync::Arc, time::Instant};

#[utoipa::path(
    get,
    path = "/v1/corporations/{number}",
    tag = "provider",
    params(("number" = String, Path, description = "Corporate number (13 digits)")),
    security(("node_jws" = [])),
    responses(
        (status = 200, description = "The corporation as standard data, filtered by the granted scopes, with provenance in meta; a signed receipt in x-renkei-receipt", body = Object),
    ),
)]
pub async fn get_corporation(
    State(state): State<Arc<NodeState>>,
    Path(number): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
) -> Response {
    serve_exchange(
        &state,
        &uri,
        &headers,
        client,
        async |state, bearer, path, entry| answer(state, bearer, &number, path, entry).await,
    )
    .await
}

/// Runs one provider exchange: `answer` decides, this writes the exchange-log record (an exchange that
/// cannot be logged is not served), signs a receipt of the exact body and sets the response headers.
/// Every provider API goes through it.
pub(super) async fn serve_exchange(
    state: &NodeState,
    uri: &Uri,
    headers: &HeaderMap,
    client: Option<Extension<ClientAddr>>,
    answer: impl AsyncFnOnce(
        &NodeState,
        Option<&str>,
        &str,
        &mut NewExchange,
    ) -> Result<serde_json::Value, ApiError>,
) -> Response {
    let started = Instant::now();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let Some(provider) = state.config.provider.as_ref() else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not Found").into_response();
    };
    if let Err(e) = state.admit_exchange() {
        return e.into_response();
    }
    let mut entry = NewExchange {
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        role: "provider",
        provider: state.config.client_id.clone(),
        api: provider.api.name.clone(),
        method: "GET".to_owned(),
        path: path.clone(),
        client_addr: client.and_then(|c| c.0.0).map(|a| a.to_string()),
        ..Default::default()
    };
    let bearer = crate::token::bearer(headers);
    let mut retry_after = None;
    let mut error_code = None;
    let (status, body) = match answer(state, bearer, &path, &mut entry).await {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            if e.status != StatusCode::NOT_FOUND && e.status != StatusCode::BAD_REQUEST {
                let requester = if entry.requester.is_empty() {
                    "(unauthenticated)"
                } else {
                    entry.requester.as_str()
                };
                tracing::warn!(code = %e.code, path = %crate::api_error::clip(&path), requester, "request refused");
            }
            entry.error_code = Some(e.code.clone());
            retry_after = e.retry_after;
            error_code = Some(e.code.clone());
            (e.status, e.body())
        }
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    entry.status = status.as_u16();
    entry.bytes_out = bytes.len() as u64;
    entry.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let request_id = entry.request_id.clone();
    let receipt = token::sign_receipt(
        &state.key,
        &token::ReceiptClaims {
            iss: state.config.client_id.clone(),
            aud: entry.requester.clone(),
            rid: request_id.clone(),
            bh: token::body_hash(&bytes),
            status: status.as_u16(),
            iat: token::unix_now(),
        },
    );
    entry.receipt = Some(receipt.clone());
    if let Err(e) = state.log.append(entry).await {
        // An exchange that cannot be logged is not served: the log is evidence.
        return ApiError::internal(format!("exchange log: {e}")).into_response();
    }
    let mut response = (status, bytes).into_response();
    if let Some(code) = error_code {
        response
            .extensions_mut()
            .insert(crate::observability::ErrorCode(code));
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [
        ("x-request-id", request_id),
        (token::RECEIPT_HEADER, receipt),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// What an approval lets a caller do, from the bundle (or the TOML list without a portal).
struct Grant {
    scopes: Vec<String>,
    api_scopes: Vec<String>,
    rate_limit_per_minute: Option<u32>,
    consent_required: bool,
}

/// With a portal trust anchor the node serves only on a valid bundle: none or an expired one fails closed.
pub(crate) fn usable_bundle(
    state: &NodeState,
) -> Result<Option<Arc<bundle::store::Installed>>, ApiError> {
    let Some(store) = state.bundle.as_ref() else {
        return Ok(None);
    };
    match store.usable(bundle::unix_now()) {
        Ok(b) => Ok(Some(b)),
        Err(Unusable::Missing) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bundle_missing",
            "this node has no configuration bundle from its portal yet and refuses every exchange",
        )),
        Err(Unusable::Expired(at)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bundle_expired",
            format!(
                "this node's configuration bundle expired {} s ago and the portal has not renewed it: every exchange is refused until it does",
                bundle::unix_now() - at
            ),
        )),
    }
}

/// A caller whose token verified and whose approval grants every scope it asked for, within its rate.
pub(super) struct Authorized {
    pub claims: token::RequestClaims,
    /// The scopes that filter the answer: those asked for, or all granted when none were asked.
    pub scopes: Vec<String>,
    grant: Grant,
    bundle: Option<Arc<bundle::store::Installed>>,
}

/// The authorisation every provider API shares: a usable bundle, the token (offline), the approval
/// (deny by default), the scopes and the rate limit. Fills the caller's identity into the log entry as
/// soon as it is known.
pub(super) fn authorize(
    state: &NodeState,
    bearer: Option<&str>,
    path: &str,
    entry: &mut NewExchange,
) -> Result<Authorized, ApiError> {
    let provider = state
        .config
        .provider
        .as_ref()
        .ok_or_else(|| ApiError::internal("not a provider"))?;
    let bundle = usable_bundle(state)?;
    let verifier = state
        .verifier
        .as_ref()
        .ok_or_else(|| ApiError::internal("no verifier"))?;
    let claims = verifier.verify(bearer, "GET", path, b"").map_err(|e| {
        ApiError::new(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED),
            e.code(),
            e.to_string(),
        )
    })?;
    entry.request_id = claims.rid.clone();
    entry.requester = claims.iss.clone();
    entry.scopes = claims.scopes.clone();

    // Deny by default: the caller needs an approval, and every scope it asks for must be granted.
    let not_authorized = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "not_authorized",
            format!(
                "{} has no approved application for {}",
                claims.iss, provider.api.name
            ),
        )
    };
    let grant = match &bundle {
        Some(b) => {
            let b = &b.bundle;
            let app = b
                .application(&claims.iss, &state.config.client_id, &provider.api.name)
                .ok_or_else(not_authorized)?;
            let api = b.api(&provider.api.name);
            Grant {
                scopes: app.scopes.clone(),
                api_scopes: api
                    .map(|a| a.scopes.clone())
                    .unwrap_or_else(|| provider.api.scopes.clone()),
                rate_limit_per_minute: Some(app.rate_limit_per_minute),
                consent_required: api.is_some_and(|a| a.consent_required),
            }
        }
        None => {
            let client = provider
                .clients
                .iter()
                .find(|c| c.client_id == claims.iss)
                .ok_or_else(not_authorized)?;
            Grant {
                scopes: client.scopes.clone(),
                api_scopes: provider.api.scopes.clone(),
                rate_limit_per_minute: None,
                consent_required: false,
            }
        }
    };
    let scopes: Vec<String> = if claims.scopes.is_empty() {
        grant.scopes.clone()
    } else {
        claims.scopes.clone()
    };
    if let Some(missing) = scopes
        .iter()
        .find(|s| !grant.scopes.contains(s) || !grant.api_scopes.contains(s))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "scope_not_granted",
            format!(
                "scope {missing:?} is not granted to {} for {}",
                claims.iss, provider.api.name
            ),
        ));
    }
    if let Some(rate) = grant.rate_limit_per_minute
        && let Err(wait) = state.limits.check(&claims.iss, &provider.api.name, rate)
    {
        let secs = super::rate_limit::retry_after_secs(wait);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "{} may call {} {rate} times a minute; retry after {secs} s",
                claims.iss, provider.api.name
            ),
        )
        .with_retry_after(secs));
    }
    Ok(Authorized {
        claims,
        scopes,
        grant,
        bundle,
    })
}

impl Authorized {
    /// When the API requires consent: the corporation's prior consent to this requester, this API and
    /// every scope asked for, valid today (JST).
    /// Returns the consent reference the exchange record keeps: `prior:<id>` or `tsudo:<jti>`.
    pub(super) fn check_consent(
        &self,
        state: &NodeState,
        number: &CorporateNumber,
    ) -> Result<Option<String>, ApiError> {
        if !self.grant.consent_required {
            return Ok(None);
        }
        let provider = state
            .config
            .provider
            .as_ref()
            .ok_or_else(|| ApiError::internal("not a provider"))?;
        let (claims, scopes) = (&self.claims, &self.scopes);
        // A per-request consent (the portal-signed ID token), checked offline against the trust anchor.
        if let Some(cref) = claims.cref.as_deref() {
            let anchor = state
                .config
                .portal_public_key
                .as_deref()
                .unwrap_or_default();
            let check = crate::consent::ConsentCheck {
                anchor,
                requester: &claims.iss,
                corporate_number: number.as_str(),
                api: &provider.api.name,
                scopes,
            };
            return crate::consent::verify_consent_reference(cref, &check, &state.consent.replay)
                .map(|claims| Some(format!("tsudo:{}", claims.jti)))
                .map_err(|e| e.to_api());
        }
        let today = jst::now_rfc3339().get(..10).unwrap_or_default().to_owned();
        let consent = self.bundle.as_ref().and_then(|b| {
            b.bundle.prior_consents.iter().find(|c| {
                c.corporate_number == number.as_str()
                    && c.requester == claims.iss
                    && c.api == provider.api.name
                    && c.until.as_str() >= today.as_str()
                    && scopes.iter().all(|s| c.scopes.contains(s))
            })
        });
        if let Some(c) = consent {
            return Ok(Some(format!("prior:{}", c.id)));
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "consent_required",
            format!(
                "{} requires the corporation's consent: {number} has given {} no prior consent for {} with scopes {}",
                provider.api.name,
                claims.iss,
                provider.api.name,
                scopes.join(" ")
            ),
        ))
    }

    /// Whether answers need a per-corporation consent (then no list can be served).
    pub(super) fn consent_required(&self) -> bool {
        self.grant.consent_required
    }
}

async fn answer(
    state: &NodeState,
    bearer: Option<&str>,
    number: &str,
    path: &str,
    entry: &mut NewExchange,
) -> Result<serde_json::Value, ApiError> {
    let provider = state
        .config
        .provider
        .as_ref()
        .ok_or_else(|| ApiError::internal("not a provider"))?;
    let authorized = authorize(state, bearer, path, entry)?;

    let number = CorporateNumber::parse(number).map_err(|e| {
        ApiError::bad_request(
            "invalid_corporate_number",
            format!("corporate number {:?}: {e}", crate::api_error::clip(number)),
        )
    })?;
    entry.corporate_number = Some(number.as_str().to_owned());
    entry.consent_ref = authorized.check_consent(state, &number)?;
    let Authorized { claims, scopes, .. } = authorized;
    let found = dataset::find(&state.db, &provider.api.dataset, number.as_str())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "corporation_not_found",
                format!(
                    "corporate number {number} is not in dataset {}",
                    provider.api.dataset
                ),
            )
        })?;
    let data = renkei_standard::filter_by_scopes(&found.document, &scopes);
    Ok(serde_json::json!({
        "meta": {
            "request_id": claims.rid,
            "provider": state.config.client_id,
            "requester": claims.iss,
            "api": provider.api.name,
            "scopes": scopes,
            "timestamp": jst::now_rfc3339(),
            "provenance": {
                "dataset": found.dataset.name,
                "dataset_version": found.dataset.id,
                "published_at": found.dataset.published_at,
                "source_file": found.source.file_name,
                "source_sha256": found.source.sha256,
                "source_line": found.line,
                "as_of": found.source.as_of,
                "plugin_digest": found.dataset.plugin_digest,
            },
        },
        "data": data,
    }))
}
