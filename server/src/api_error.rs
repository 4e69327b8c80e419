//! The JSON error body every renkei HTTP API answers with: `{"error": {"code": ..., "message": ...}}`.
//!
//! `message` keeps gBizConnect's key so existing clients still read it; `code` is stable and machine-readable.
//! Handlers return `ApiError` for anything the caller can act on; unexpected failures become a logged 500
//! with a generic message (the detail stays in the log, never in the response).

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds for a `Retry-After` header (rate limits).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` of `secs` seconds to the answer.
    pub fn with_retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Logs `detail` and answers 500 without it.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal Server Error",
        )
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }
}

/// The error body as the OpenAPI documents describe it (the same shape [`ApiError::body`] writes).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"error": {"code": "not_found", "message": "Not Found"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable, machine-readable `code` and a message for people.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code. Every API: `not_found`, `method_not_allowed`, `body_too_large`,
    /// `request_timeout`, `unsupported_media_type`, `bad_request`, `internal`. Input: `invalid_body`,
    /// `invalid_parameter`, `missing_parameter`, `invalid_field`, `missing_field`, `invalid_query`.
    /// Callers: `unauthenticated`, `session_expired`, `forbidden`, `csrf`, `invalid_credentials`,
    /// `throttled` (portal); `unauthorized`, `basic_auth_required`, `admin_unauthorized` (nodes);
    /// `client_auth_failed` (OIDC). Node-to-node tokens: `token_missing`, `token_malformed`, `token_expired`,
    /// `token_replayed`, `token_signature`, … (see `token.rs`). Exchanges: `not_approved`,
    /// `scope_not_granted`, `rate_limited` (with `Retry-After`), `consent_required`,
    /// `invalid_corporate_number`, `corporation_not_found`, `bundle_missing`, `bundle_expired`,
    /// `provider_unreachable`. Workflow transitions refused: 409 with the reason as code.
    #[schema(example = "not_found")]
    pub code: String,
    /// For people; gBizConnect's key, kept so existing clients still read it.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        // For the metrics layer, which counts errors by code without parsing bodies.
        response
            .extensions_mut()
            .insert(crate::observability::ErrorCode(self.code));
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

/// Marks a response as a page for people (the consent pages), whose error pages stay HTML.
#[derive(Clone, Copy, Debug)]
pub struct HtmlPage;

/// Turns any error response that is not already JSON (axum's own 405, 413, 408 from the timeout layer,
/// an unmatched route) into the JSON error body, so clients of a JSON API never parse text or HTML.
pub async fn json_errors(response: Response) -> Response {
    if response.extensions().get::<HtmlPage>().is_some() {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let reason = status.canonical_reason().unwrap_or("Error");
    let (parts, body) = response.into_parts();
    // An extractor's rejection says what was wrong ("Cannot parse `abc` to a `i64`", "missing field
    // `email`"): keep it, shortened, after the status text.
    let detail = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t != reason);
    let message = match detail {
        Some(d) if status.is_client_error() => format!("{reason}: {}", clip(&d)),
        _ => reason.to_owned(),
    };
    let response = Response::from_parts(parts, axum::body::Body::empty());
    let mut converted = ApiError::new(status, code, message).into_response();
    for name in [
        axum::http::header::ALLOW,
        axum::http::header::WWW_AUTHENTICATE,
    ] {
        if let Some(v) = response.headers().get(&name) {
            converted.headers_mut().insert(name, v.clone());
        }
    }
    converted
}

/// Limits every JSON API shares: request bodies of at most 1 MiB, 30 s to send a request, JSON errors.
pub fn api_layers(router: axum::Router) -> axum::Router {
    use std::time::Duration;
    router
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::map_response(json_errors))
}

/// Shortens caller input echoed in a message (a 100 kB path must not come back whole).
pub fn clip(input: &str) -> String {
    const MAX: usize = 120;
    if input.chars().count() <= MAX {
        return input.to_owned();
    }
    let kept: String = input.chars().take(MAX).collect();
    format!("{kept}… ({} characters)", input.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        Json, Router,
        body::Body,
        extract::Path,
        http::Request,
        routing::{get, post},
    };
    use tower::ServiceExt;

    async fn error_of(app: &Router, request: Request<Body>) -> (u16, serde_json::Value) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn an_extractors_rejection_keeps_its_reason_in_the_json_error() {
        let app = api_layers(
            Router::new()
                .route(
                    "/items/{id}",
                    get(|Path(id): Path<i64>| async move { id.to_string() }),
                )
                .route(
                    "/items",
                    post(
                        |Json(v): Json<std::collections::HashMap<String, i64>>| async move {
                            v.len().to_string()
                        },
                    ),
                ),
        );
        let (status, body) = error_of(
            &app,
            Request::get("/items/abc").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("bad_request"))
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("Bad Request: "), "{message}");
        assert!(message.contains("`abc`"), "names the value: {message}");

        let (status, body) = error_of(
            &app,
            Request::post("/items")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"a": "not a number"}"#))
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("invalid type"),
            "{body}"
        );

        // Without a reason of its own, the status text stays alone.
        let (status, body) = error_of(
            &app,
            Request::delete("/items/1").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (405, Some("Method Not Allowed"))
        );
    }
}
