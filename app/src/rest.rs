//! The accounts REST API (`/api/v1/…`) as the browser calls it: the JSON views it answers with
//! and a small fetch helper that sends the session's CSRF token on every state-changing call.
//!
//! These calls run only in the browser (from `LocalResource`s and event handlers): they need the
//! user's session cookie, which the server-side render does not act with.

use crate::i18n::{Lang, strip_field};
use leptos::prelude::*;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub organisation_id: Option<i64>,
    pub created_at: String,
    /// When it was suspended or deactivated; `None` while active.
    #[serde(default)]
    pub suspended_at: Option<String>,
    /// `operator` or `org_admin`: who suspended it.
    #[serde(default)]
    pub suspended_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OrganisationView {
    pub id: i64,
    pub name: String,
    pub corporate_number: String,
    pub contact_name: String,
    pub status: String,
    pub review_comment: Option<String>,
    pub created_at: String,
    pub reviewed_at: Option<String>,
}

/// `GET /api/v1/session`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SessionInfo {
    pub csrf_token: String,
    pub account: Option<AccountView>,
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Me {
    pub account: AccountView,
    pub organisation: Option<OrganisationView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Organisations {
    pub organisations: Vec<OrganisationView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Accounts {
    pub accounts: Vec<AccountView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Members {
    pub members: Vec<AccountView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Audit {
    pub entries: Vec<AuditEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Mail {
    pub id: i64,
    pub created_at: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Outbox {
    pub mails: Vec<Mail>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Notice {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub published_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Notices {
    pub notices: Vec<Notice>,
}

/// Any success body we do not read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Ignored {}

/// A refused or failed call: the API's `{"error":{"code","message"}}`, or a transport problem
/// (`status` 0, code `network`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Failure {
    fn network(detail: impl std::fmt::Display) -> Failure {
        Failure {
            status: 0,
            code: "network".into(),
            message: format!(
                "サーバーとの通信に失敗しました / The request to the server failed: {detail}"
            ),
        }
    }

    /// The form field the API named (`corporate_number: …`), if any.
    pub fn field(&self) -> Option<&str> {
        strip_field(&self.message).0
    }

    /// The message in `lang`, without the field prefix.
    pub fn text(&self, lang: Lang) -> String {
        lang.pick(&self.message).to_owned()
    }

    /// Not logged in (or the session ended).
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// Reads an API answer: the JSON body on 2xx, the error body otherwise.
pub fn decode<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, Failure> {
    if (200..300).contains(&status) {
        let text = if text.trim().is_empty() { "{}" } else { text };
        serde_json::from_str(text).map_err(Failure::network)
    } else {
        match serde_json::from_str::<ErrorBody>(text) {
            Ok(body) => Err(Failure {
                status,
                code: body.error.code,
                message: body.error.message,
            }),
            Err(_) => Err(Failure {
                status,
                code: "http".into(),
                message: format!("サーバーがエラーを返しました / The server answered {status}"),
            }),
        }
    }
}

/// `GET path` with the browser's cookies.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, Failure> {
    transport::call("GET", path, None, None).await
}

/// A state-changing call: the CSRF token is read from `/api/v1/session` first (it changes at
/// login), then sent in `x-csrf-token` with the JSON body.
pub async fn send<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> Result<T, Failure> {
    let session: SessionInfo = get("/api/v1/session").await?;
    transport::call(method, path, Some(body), Some(session.csrf_token)).await
}

/// Loads the current session (who is logged in) for the header and the pages.
pub async fn session() -> Result<SessionInfo, Failure> {
    get("/api/v1/session").await
}

/// The session as the app shares it: loaded once per page in the browser.
pub type SessionResource = LocalResource<Result<SessionInfo, Failure>>;

pub fn use_session() -> SessionResource {
    expect_context::<SessionResource>()
}

/// A full page load of `path` (after login or logout, so every part of the page reloads its data).
pub fn go(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

// ---- systems + applications: resources the server renders too -------------------------------

/// The portal's own REST API as the server calls it while rendering a page: `GET path` with the
/// page request's `Cookie` header, answering `(status, body)`. The server provides it as context
/// ([`ServerRestHandle`]); pages read through it with [`Loader`], so a logged-in user's lists
/// arrive in the HTML instead of after hydration.
#[cfg(feature = "ssr")]
pub trait ServerRest: Send + Sync + 'static {
    fn get(
        &self,
        path: String,
        cookie: Option<String>,
    ) -> std::pin::Pin<Box<dyn Future<Output = (u16, String)> + Send + 'static>>;
}

/// The [`ServerRest`] the server provided as context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct ServerRestHandle(pub std::sync::Arc<dyn ServerRest>);

/// Loads `GET` answers for a page's `Resource`: in the browser a fetch with the cookies; while
/// the server renders, the in-process REST API as the request's user. Made in the component (it
/// captures the request's cookie there), used in the resource's fetcher.
#[derive(Clone)]
pub struct Loader {
    #[cfg(feature = "ssr")]
    server: Option<(ServerRestHandle, Option<String>)>,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    pub fn new() -> Loader {
        #[cfg(feature = "ssr")]
        {
            let cookie = use_context::<http::request::Parts>().and_then(|parts| {
                parts
                    .headers
                    .get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            });
            Loader {
                server: use_context::<ServerRestHandle>().map(|h| (h, cookie)),
            }
        }
        #[cfg(not(feature = "ssr"))]
        Loader {}
    }

    /// `GET path`, decoded like [`get`].
    pub fn get<T: DeserializeOwned + Send + 'static>(
        &self,
        path: String,
    ) -> impl Future<Output = Result<T, Failure>> + Send + 'static + use<T> {
        #[cfg(feature = "ssr")]
        {
            let server = self.server.clone();
            async move {
                match server {
                    Some((handle, cookie)) => {
                        let (status, text) = handle.0.get(path, cookie).await;
                        decode(status, &text)
                    }
                    None => Err(Failure::network(format!("{path}: no server REST context"))),
                }
            }
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            send_wrapper::SendWrapper::new(async move { get::<T>(&path).await })
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        {
            async move { get::<T>(&path).await }
        }
    }
}

/// Percent-encodes a path segment or query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(feature = "hydrate")]
mod transport {
    use super::{Failure, decode};
    use gloo_net::http::RequestBuilder;
    use serde::de::DeserializeOwned;

    pub async fn call<T: DeserializeOwned>(
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        csrf: Option<String>,
    ) -> Result<T, Failure> {
        let method = match method {
            "POST" => gloo_net::http::Method::POST,
            "DELETE" => gloo_net::http::Method::DELETE,
            "PUT" => gloo_net::http::Method::PUT,
            _ => gloo_net::http::Method::GET,
        };
        let mut builder = RequestBuilder::new(path)
            .method(method)
            .header("accept", "application/json");
        if let Some(token) = csrf {
            builder = builder.header("x-csrf-token", &token);
        }
        let request = match body {
            Some(body) => builder.json(&body).map_err(Failure::network)?,
            None => builder.build().map_err(Failure::network)?,
        };
        let response = request.send().await.map_err(Failure::network)?;
        let status = response.status();
        let text = response.text().await.map_err(Failure::network)?;
        decode(status, &text)
    }
}

#[cfg(not(feature = "hydrate"))]
mod transport {
    use super::Failure;
    use serde::de::DeserializeOwned;

    /// The server never makes these calls (they run from browser-only resources and handlers).
    pub async fn call<T: DeserializeOwned>(
        _method: &str,
        path: &str,
        _body: Option<serde_json::Value>,
        _csrf: Option<String>,
    ) -> Result<T, Failure> {
        Err(Failure::network(format!(
            "{path} is called from the browser only"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_success_and_error_bodies() {
        let ok: Result<Ignored, _> = decode(204, "");
        assert!(ok.is_ok());
        let err = decode::<Ignored>(
            400,
            r#"{"error":{"code":"invalid_corporate_number","message":"corporate_number: 法人番号が正しくありません / Not a valid corporate number"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.code, "invalid_corporate_number");
        assert_eq!(err.field(), Some("corporate_number"));
        assert_eq!(err.text(Lang::En), "Not a valid corporate number");
        let err = decode::<Ignored>(502, "<html>").unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (502, "http"));
    }
}
