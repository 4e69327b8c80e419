//! The portal's organisation workflow over HTTP: systems, API publication, the public catalogue and
//! API-use applications. One router (behind the accounts' session and CSRF layers), one error type,
//! and the checks of who is calling.

use super::{PortalState, applications, catalogue, systems};
use crate::{
    accounts::{
        AccountError, Role,
        routes::{Caller, caller, require},
    },
    api_error::ApiError,
};
use axum::{
    Router,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use std::sync::Arc;
use tower_sessions::Session;

/// Every route of the workflow.
pub fn router(state: Arc<PortalState>) -> Router {
    let routes = Router::new()
        .route("/api/v1/catalogue", get(catalogue::search_json))
        .route(
            "/api/v1/catalogue/categories",
            get(catalogue::categories_json),
        )
        .route("/api/v1/catalogue/{slug}", get(catalogue::detail_json))
        .route(
            "/api/v1/systems",
            get(systems::list_systems).post(systems::register_system),
        )
        .route(
            "/api/v1/systems/{client_id}",
            get(systems::get_system).put(systems::update_system),
        )
        .route(
            "/api/v1/published-apis",
            get(systems::list_own_apis).post(systems::publish),
        )
        .route(
            "/api/v1/published-apis/{slug}",
            get(systems::get_own_api).put(systems::update_api),
        )
        .route(
            "/api/v1/published-apis/{slug}/versions",
            post(systems::add_version),
        )
        .route(
            "/api/v1/published-apis/{slug}/unpublish",
            post(systems::unpublish),
        )
        .route(
            "/api/v1/published-apis/{slug}/publish",
            post(systems::republish),
        )
        .route(
            "/api/v1/applications",
            get(applications::list).post(applications::submit),
        )
        .route("/api/v1/applications/{id}", get(applications::get_one))
        .route(
            "/api/v1/applications/{id}/history",
            get(applications::history),
        )
        .route(
            "/api/v1/applications/{id}/approve",
            post(applications::approve),
        )
        .route(
            "/api/v1/applications/{id}/reject",
            post(applications::reject),
        )
        .route(
            "/api/v1/applications/{id}/withdraw",
            post(applications::withdraw),
        )
        .route(
            "/api/v1/applications/{id}/revoke",
            post(applications::revoke),
        )
        .with_state(state.clone());
    crate::accounts::routes::with_sessions(routes, state.accounts.clone())
}

/// What a workflow handler answers other than success: always the JSON error body.
#[derive(Debug)]
pub struct WorkflowError(pub ApiError);

impl WorkflowError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> WorkflowError {
        WorkflowError(ApiError::new(status, code, message))
    }

    /// A malformed or missing field: 400, the message starts with the field's name.
    pub fn field(code: &str, field: &str, message: impl std::fmt::Display) -> WorkflowError {
        WorkflowError::new(StatusCode::BAD_REQUEST, code, format!("{field}: {message}"))
    }

    /// A transition or state that does not allow the request: 409 with a reason code.
    pub fn conflict(code: &str, message: impl Into<String>) -> WorkflowError {
        WorkflowError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn not_found(what: &str) -> WorkflowError {
        WorkflowError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} が見つかりません / No such {what}."),
        )
    }
}

impl IntoResponse for WorkflowError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl From<ApiError> for WorkflowError {
    fn from(e: ApiError) -> Self {
        WorkflowError(e)
    }
}

impl From<AccountError> for WorkflowError {
    fn from(e: AccountError) -> Self {
        WorkflowError(e.to_api())
    }
}

impl From<sea_orm::DbErr> for WorkflowError {
    fn from(e: sea_orm::DbErr) -> Self {
        WorkflowError(ApiError::internal(format!("database: {e}")))
    }
}

impl From<super::PortalError> for WorkflowError {
    fn from(e: super::PortalError) -> Self {
        WorkflowError(ApiError::internal(e))
    }
}

/// The logged-in member of an organisation (admin or member), or an operator when `operator_ok`.
pub async fn org_caller(
    state: &PortalState,
    session: &Session,
    roles: &[Role],
    what: &str,
) -> Result<Caller, WorkflowError> {
    let c = caller(&state.accounts, session).await?;
    require(&state.accounts, &c, roles, what).await?;
    Ok(c)
}

/// The caller's organisation id; operators have none.
pub fn org_id(c: &Caller) -> Option<i64> {
    c.organisation.as_ref().map(|o| o.id)
}

/// JSON body whose rejection is a 400 naming the problem (the accounts' extractor).
pub use crate::accounts::routes::JsonBody;

/// A JSON answer in which `<`, `>` and `&` inside strings are written as `\u003c`, `\u003e` and
/// `\u0026`: the same JSON value, but no byte sequence a browser could take for markup even if it
/// sniffed the body as HTML. Used for answers that carry what users typed (comments).
pub struct SafeJson<T>(pub T);

struct HtmlSafeFormatter;

impl serde_json::ser::Formatter for HtmlSafeFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(['<', '>', '&']) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let escaped: &[u8] = match rest.as_bytes()[at] {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                _ => b"\\u0026",
            };
            writer.write_all(escaped)?;
            rest = &rest[at + 1..];
        }
        writer.write_all(rest.as_bytes())
    }
}

/// `value` as HTML-safe JSON text.
pub fn to_safe_json(value: &impl serde::Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, HtmlSafeFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

impl<T: serde::Serialize> IntoResponse for SafeJson<T> {
    fn into_response(self) -> Response {
        match to_safe_json(&self.0) {
            Ok(body) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => ApiError::internal(format!("serialising an answer: {e}")).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn safe_json_escapes_markup_but_keeps_the_value() {
        let value = serde_json::json!({ "comment": "<script>alert('x') && 1</script>\n次の行" });
        let text = String::from_utf8(super::to_safe_json(&value).unwrap()).unwrap();
        assert!(
            !text.contains('<') && !text.contains('>') && !text.contains('&'),
            "{text}"
        );
        assert!(text.contains("\\u003cscript\\u003e"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
