//! The node's own admin API (HTTP Basic, user `admin`, Argon2 hash in the config): bundle upload, status.

use super::NodeState;
use crate::{
    api_error::ApiError,
    bundle::{self, store::Source},
};
use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use std::sync::Arc;

pub const ADMIN_USER: &str = "admin";

async fn authenticate(state: &NodeState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(hash) = state.config.admin_password_hash.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "this node has no admin credential (set admin_password_hash in its configuration)",
        )
        .into_response());
    };
    let unauthorized = || {
        tracing::warn!(code = "admin_unauthorized", "admin request refused");
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "admin_unauthorized",
            "the admin credential is missing or wrong",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"renkei node admin\""),
        );
        response
    };
    let (user, password) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|c| c.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        .ok_or_else(unauthorized)?;
    if user == ADMIN_USER && state.admin_auth.check(&user, &password, hash).await {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

fn no_bundles() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "bundles_not_configured",
        "this node takes no bundles (set portal_public_key in its configuration)",
    )
    .into_response()
}

/// `POST /admin/bundle`: the body is a bundle file (the compact JWS the portal issued).
#[utoipa::path(
    post,
    path = "/admin/bundle",
    tag = "admin",
    request_body(content = String, description = "A signed bundle (compact JWS)", content_type = "application/jose"),
    security(("admin_basic" = [])),
    responses(
        (status = 200, description = "Installed", body = Object),
    ),
)]
pub async fn install_bundle(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = authenticate(&state, &headers).await {
        return e;
    }
    if state.bundle.is_none() {
        return no_bundles();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return ApiError::bad_request("bundle_malformed", "the bundle file is not UTF-8 text")
            .into_response();
    };
    match state.install_bundle(text, Source::Admin).await {
        Ok(installed) => Json(serde_json::json!({
            "installed": {
                "version": installed.bundle.version,
                "issued_at": installed.bundle.issued_at,
                "expires_at": installed.bundle.expires_at,
            }
        }))
        .into_response(),
        Err(e) => e.to_api_error().into_response(),
    }
}

/// `GET /admin/status`: the bundle the node serves on, a warning once half its lifetime has passed,
/// and the latest bundle events.
#[utoipa::path(
    get,
    path = "/admin/status",
    tag = "admin",
    security(("admin_basic" = [])),
    responses(
        (status = 200, description = "The node's bundle, dataset and log status", body = Object),
    ),
)]
pub async fn status(State(state): State<Arc<NodeState>>, headers: HeaderMap) -> Response {
    if let Err(e) = authenticate(&state, &headers).await {
        return e;
    }
    let Some(store) = state.bundle.as_ref() else {
        return no_bundles();
    };
    let events = match store.events(20).await {
        Ok(e) => e,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    Json(serde_json::json!({
        "client_id": state.config.client_id,
        "bundle": store.health(bundle::unix_now()),
        "events": events,
    }))
    .into_response()
}
