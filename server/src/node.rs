//! A node: the provider side serves standard data to authorised peers; the requester side takes calls from
//! the organisation's own system, signs them and forwards them to the provider's node.

pub mod exchange_log;
pub mod provider;
pub mod requester;
pub mod shipper;

use crate::{keys::NodeKey, token::Verifier};
use exchange_log::ExchangeLog;
use serde::{Deserialize, Serialize};
use std::{path::PathBuf, sync::Arc};

/// Everything a node needs to run. Read from a TOML file by `renkei node --config`; the demo builds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's identity in the registry (the token issuer / audience), e.g. `provider-demo`.
    pub client_id: String,
    pub organisation: String,
    /// Address to listen on, e.g. `127.0.0.1:8102`.
    pub listen: String,
    /// `sqlite://…?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// The node's Ed25519 key (PKCS#8 PEM); generated at first start when missing.
    pub key_file: PathBuf,
    /// Where the node ships its exchange log; none = keep it local.
    #[serde(default)]
    pub portal_url: Option<String>,
    #[serde(default)]
    pub provider: Option<ProviderConfig>,
    #[serde(default)]
    pub requester: Option<RequesterConfig>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The API this node serves at `GET /v1/corporations/{number}`.
    pub api: ProvidedApi,
    /// Nodes allowed to call it (approved API-use applications). Anyone else is refused.
    pub clients: Vec<ApprovedClient>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidedApi {
    /// Catalogue identifier, e.g. `nta-corporations`.
    pub name: String,
    /// The dataset that answers.
    pub dataset: String,
    /// Scopes the API offers.
    pub scopes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovedClient {
    pub client_id: String,
    /// Base64url raw Ed25519 public key.
    pub public_key: String,
    /// Scopes granted by the approval.
    pub scopes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequesterConfig {
    /// The organisation's own systems allowed to call this node (HTTP Basic).
    pub systems: Vec<LocalSystem>,
    /// Provider nodes this node may call.
    pub providers: Vec<KnownProvider>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSystem {
    pub user: String,
    /// Argon2 PHC string; never the password itself.
    pub password_hash: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownProvider {
    pub client_id: String,
    /// Base URL of the provider node, e.g. `http://127.0.0.1:8102`.
    pub endpoint: String,
}

/// Shared by every handler of one node.
pub struct NodeState {
    pub config: NodeConfig,
    pub key: NodeKey,
    pub db: sea_orm::DatabaseConnection,
    pub log: ExchangeLog,
    pub verifier: Option<Verifier>,
    pub http: reqwest::Client,
    pub basic_auth: crate::password::VerifiedCache,
    pub metrics: Arc<crate::observability::Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error("listen address {addr}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("HTTP client")]
    Http(#[from] reqwest::Error),
}

impl NodeState {
    pub async fn open(config: NodeConfig) -> Result<Arc<NodeState>, NodeError> {
        let key = NodeKey::load_or_generate(&config.key_file)?;
        let db = crate::storage::open(&config.database_url).await?;
        let config_id = config.client_id.clone();
        let log = ExchangeLog::open(db.clone()).await?;
        let verifier = match &config.provider {
            Some(p) => Some(Verifier::new(
                &config.client_id,
                p.clients
                    .iter()
                    .map(|c| (c.client_id.as_str(), c.public_key.as_str())),
            )?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()?;
        Ok(Arc::new(NodeState {
            config,
            key,
            db,
            log,
            verifier,
            http,
            basic_auth: Default::default(),
            metrics: Arc::new(crate::observability::Metrics::new("node", &config_id)),
        }))
    }
}

/// All routes of a node: the provider API when configured, the requester API when configured, health,
/// readiness and metrics.
pub fn router(state: Arc<NodeState>) -> axum::Router {
    use axum::routing::{get, post};
    let mut app = axum::Router::new()
        // gBizConnect's health check: an empty 200.
        .route("/healthcheck", get(|| async { "" }))
        .route("/healthz", get(crate::observability::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if state.config.provider.is_some() {
        app = app.route("/v1/corporations/{number}", get(provider::get_corporation));
    }
    if state.config.requester.is_some() {
        app = app
            .route("/v1/reception_jizen", post(requester::reception_jizen))
            .route("/v1/requests", post(requester::send_request));
    }
    let app = app
        .fallback(|| async {
            crate::api_error::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "Not Found",
            )
        })
        .with_state(state.clone());
    crate::observability::layer(crate::api_error::api_layers(app), state.metrics.clone())
}

async fn readyz(
    axum::extract::State(state): axum::extract::State<Arc<NodeState>>,
) -> Result<axum::Json<serde_json::Value>, crate::api_error::ApiError> {
    crate::observability::readiness(&state.db).await
}

async fn metrics(
    axum::extract::State(state): axum::extract::State<Arc<NodeState>>,
) -> axum::response::Response {
    match state.log.backlog().await {
        Ok(n) => {
            state
                .metrics
                .log_backlog
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the exchange-log backlog"),
    }
    crate::observability::metrics_response(&state.metrics)
}

/// Binds the node's listener and serves it until the process stops; returns the bound address.
pub async fn serve(state: Arc<NodeState>) -> Result<std::net::SocketAddr, NodeError> {
    let listener = tokio::net::TcpListener::bind(&state.config.listen)
        .await
        .map_err(|source| NodeError::Bind {
            addr: state.config.listen.clone(),
            source,
        })?;
    serve_listener(state, listener)
}

/// Serves on a listener bound earlier (the demo binds every listener first to learn the ports).
pub fn serve_listener(
    state: Arc<NodeState>,
    listener: tokio::net::TcpListener,
) -> Result<std::net::SocketAddr, NodeError> {
    let addr = listener.local_addr().map_err(|source| NodeError::Bind {
        addr: state.config.listen.clone(),
        source,
    })?;
    if state.config.portal_url.is_some() {
        shipper::spawn(state.clone());
    }
    let app = router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "node server stopped");
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::NodeConfig;

    #[test]
    fn the_example_configurations_parse() {
        for file in ["provider-node.toml", "requester-node.toml"] {
            let path = format!("{}/../docs/examples/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let config: NodeConfig =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                config.provider.is_some() || config.requester.is_some(),
                "{file}"
            );
        }
    }

    #[test]
    fn an_unknown_key_is_named() {
        let text = "client_id = \"a\"\norganisation = \"o\"\nlisten = \"127.0.0.1:1\"\ndatabase_url = \"sqlite::memory:\"\nkey_file = \"k\"\nlisen = \"x\"\n";
        let error = toml::from_str::<NodeConfig>(text).unwrap_err().to_string();
        assert!(error.contains("unknown field `lisen`"), "{error}");
    }
}
