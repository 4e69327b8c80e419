//! Provider side: verifies the caller's token offline, applies the access list and scopes, answers from the dataset.

use super::{NodeState, exchange_log::NewExchange};
use crate::{api_error::ApiError, dataset, jst};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use renkei_standard::CorporateNumber;
use std::{sync::Arc, time::Instant};

pub async fn get_corporation(
    State(state): State<Arc<NodeState>>,
    Path(number): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let Some(provider) = state.config.provider.as_ref() else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not Found").into_response();
    };
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
        ..Default::default()
    };
    let bearer = crate::token::bearer(&headers);
    let (status, body) = match answer(&state, bearer, &number, &path, &mut entry).await {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN {
                let requester = if entry.requester.is_empty() {
                    "(unauthenticated)"
                } else {
                    entry.requester.as_str()
                };
                tracing::warn!(code = %e.code, path = %crate::api_error::clip(&path), requester, "request refused");
            }
            entry.error_code = Some(e.code.clone());
            (e.status, e.body())
        }
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    entry.status = status.as_u16();
    entry.bytes_out = bytes.len() as u64;
    entry.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let request_id = entry.request_id.clone();
    if let Err(e) = state.log.append(entry).await {
        // An exchange that cannot be logged is not served: the log is evidence.
        return ApiError::internal(format!("exchange log: {e}")).into_response();
    }
    (status, [("x-request-id", request_id)], Json(body)).into_response()
}

/// A caller whose token verified and whose approval grants every scope it asked for.
pub(super) struct Authorized {
    pub claims: crate::token::RequestClaims,
    /// The scopes that filter the answer: those asked for, or all granted when none were asked.
    pub scopes: Vec<String>,
}

/// The authorisation every provider API shares: token (offline), approval (deny by default), scopes.
/// Fills the caller's identity into the log entry as soon as it is known.
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
    let client = provider
        .clients
        .iter()
        .find(|c| c.client_id == claims.iss)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "not_authorized",
                format!(
                    "{} has no approved application for {}",
                    claims.iss, provider.api.name
                ),
            )
        })?;
    let scopes: Vec<String> = if claims.scopes.is_empty() {
        client.scopes.clone()
    } else {
        claims.scopes.clone()
    };
    if let Some(missing) = scopes
        .iter()
        .find(|s| !client.scopes.contains(s) || !provider.api.scopes.contains(s))
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
    Ok(Authorized { claims, scopes })
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
    let Authorized { claims, scopes } = authorize(state, bearer, path, entry)?;

    let number = CorporateNumber::parse(number).map_err(|e| {
        ApiError::bad_request(
            "invalid_corporate_number",
            format!("corporate number {:?}: {e}", crate::api_error::clip(number)),
        )
    })?;
    entry.corporate_number = Some(number.as_str().to_owned());
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
