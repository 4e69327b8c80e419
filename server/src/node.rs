//! A node: the provider side serves standard data to authorised peers; the requester side takes calls from
//! the organisation's own system, signs them and forwards them to the provider's node.

pub mod corporations;
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
    /// File uploads that become datasets of this (provider) node.
    #[serde(default)]
    pub connectbox: Option<crate::connectbox::ConnectBoxConfig>,
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
    pub connectbox: Option<Arc<crate::connectbox::ConnectBox>>,
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
    #[error("connectbox")]
    ConnectBox(#[from] crate::connectbox::ConnectBoxError),
}

impl NodeState {
    pub async fn open(config: NodeConfig) -> Result<Arc<NodeState>, NodeError> {
        let key = NodeKey::load_or_generate(&config.key_file)?;
        let db = crate::storage::open(&config.database_url).await?;
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
        let connectbox = match &config.connectbox {
            Some(c) => Some(crate::connectbox::ConnectBox::open(c.clone(), db.clone()).await?),
            None => None,
        };
        Ok(Arc::new(NodeState {
            config,
            key,
            db,
            log,
            verifier,
            http,
            basic_auth: Default::default(),
            connectbox,
        }))
    }
}

/// All routes of a node: the provider API when configured, the requester API when configured, health.
pub fn router(state: Arc<NodeState>) -> axum::Router {
    use axum::routing::{get, post};
    let mut app = axum::Router::new().route("/healthcheck", get(|| async { "" }));
    if state.config.provider.is_some() {
        app = app
            .route("/v1/corporations", get(corporations::list_corporations))
            .route("/v1/corporations/{number}", get(provider::get_corporation))
            .route(
                "/v1/corporations/{number}/status",
                get(corporations::corporation_status),
            );
    }
    if state.config.requester.is_some() {
        app = app
            .route("/v1/reception_jizen", post(requester::reception_jizen))
            .route("/v1/requests", post(requester::send_request));
    }
    // ConnectBox uploads stream bodies of any size for as long as they take: not under the JSON limits.
    let uploads = crate::connectbox::http::router(state.clone());
    let app = app
        .fallback(|| async {
            crate::api_error::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "Not Found",
            )
        })
        .with_state(state);
    crate::api_error::api_layers(app).merge(uploads)
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
