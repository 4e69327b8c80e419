//! What the portal pages show, and (server only) the data source they read it from.

use serde::{Deserialize, Serialize};

/// One published API as the catalogue lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSummary {
    /// URL-safe identifier, e.g. `nta-corporations`.
    pub slug: String,
    pub name: String,
    pub summary: String,
    /// Providing organisation's display name.
    pub provider: String,
    /// The provider node's client id (what a requester puts in `client_id`).
    pub provider_client_id: String,
    pub categories: Vec<String>,
    /// Scopes the API offers, e.g. `basic`.
    pub scopes: Vec<String>,
    pub consent_required: bool,
    /// Path template at the provider node, e.g. `/v1/corporations/{number}`.
    pub path_template: String,
}

/// The API detail page: the summary plus its description and OpenAPI document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDetail {
    pub api: ApiSummary,
    pub description: String,
    /// The OpenAPI 3 document, pretty-printed JSON.
    pub openapi_json: String,
}

/// One exchange-log record as the portal collected it from a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeView {
    /// The node that wrote the record (its client id).
    pub node: String,
    /// The record's position in that node's log.
    pub seq: i64,
    /// Shared by the requester's and the provider's record of one exchange.
    pub request_id: String,
    /// JST, RFC 3339 with `+09:00`.
    pub time: String,
    /// `requester` or `provider`.
    pub role: String,
    pub requester: String,
    pub provider: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    /// `ok` or `error`.
    pub outcome: String,
    pub error_code: Option<String>,
}

#[cfg(feature = "ssr")]
pub use source::{BoxFuture, PortalData};

#[cfg(feature = "ssr")]
mod source {
    use super::{ApiDetail, ApiSummary, ExchangeView};
    use std::{future::Future, pin::Pin};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Where server functions read portal data. The server implements it over its
    /// database and hands it to Leptos as context (`Arc<dyn PortalData>`).
    pub trait PortalData: Send + Sync + 'static {
        fn list_apis(&self) -> BoxFuture<'_, Result<Vec<ApiSummary>, String>>;
        fn api_detail(&self, slug: String) -> BoxFuture<'_, Result<Option<ApiDetail>, String>>;
        /// Newest first.
        fn recent_exchanges(&self, limit: u64) -> BoxFuture<'_, Result<Vec<ExchangeView>, String>>;
    }
}
