//! Server functions the pages call, and the one error type they return.

use crate::model::{ApiDetail, ApiSummary, ExchangeView};
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// How many exchange-log records the log page asks for.
pub const LOG_LIMIT: u64 = 200;
/// Upper bound on what a caller may ask for, whatever it sends.
#[cfg(feature = "ssr")]
const LOG_LIMIT_MAX: u64 = 1000;

/// What can go wrong between a page and the portal's data. The page branches on the variant
/// (a missing API is a 404 page, the rest an error notice), so it travels typed, as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    /// The thing asked for does not exist; the text names it.
    #[error("{0}")]
    NotFound(String),
    /// The portal's data source answered with an error.
    #[error("データを読み込めませんでした / Could not load the data: {0}")]
    Data(String),
    /// The call itself failed (network, encoding, server wiring).
    #[error("サーバーとの通信に失敗しました / The request to the server failed: {0}")]
    Transport(String),
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// The catalogue: every published API.
#[server(prefix = "/ui/fn", endpoint = "list_apis")]
pub async fn list_apis() -> Result<Vec<ApiSummary>, UiError> {
    data::source()?.list_apis().await.map_err(UiError::Data)
}

/// One API's detail page data; `NotFound` when no API has this slug.
#[server(prefix = "/ui/fn", endpoint = "api_detail")]
pub async fn get_api_detail(slug: String) -> Result<ApiDetail, UiError> {
    data::source()?
        .api_detail(slug.clone())
        .await
        .map_err(UiError::Data)?
        .ok_or_else(|| UiError::NotFound(not_found_message(&slug)))
}

/// The newest exchange-log records (at most `limit`, capped at 1000), newest first.
#[server(prefix = "/ui/fn", endpoint = "recent_exchanges")]
pub async fn recent_exchanges(limit: u64) -> Result<Vec<ExchangeView>, UiError> {
    data::source()?
        .recent_exchanges(limit.clamp(1, LOG_LIMIT_MAX))
        .await
        .map_err(UiError::Data)
}

/// The text of the 404 page for an unknown API slug.
pub fn not_found_message(slug: &str) -> String {
    format!("API「{slug}」は見つかりません / No API with the slug \"{slug}\" exists.")
}

#[cfg(feature = "ssr")]
mod data {
    use super::UiError;
    use crate::model::PortalData;
    use leptos::prelude::use_context;
    use std::sync::Arc;

    /// The data source the server provided as context. Missing context is a wiring bug on the
    /// server, reported as an error page rather than a panic.
    pub(super) fn source() -> Result<Arc<dyn PortalData>, UiError> {
        use_context::<Arc<dyn PortalData>>().ok_or_else(|| {
            UiError::Transport(
                "portal data source missing: the server must provide Arc<dyn PortalData> as context"
                    .to_string(),
            )
        })
    }
}
