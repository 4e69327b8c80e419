//! A node: the provider side serves standard data to authorised peers; the requester side takes calls from
//! the organisation's own system, signs them and forwards them to the provider's node.

pub mod admin;
pub mod bundle_poll;
pub mod config;
pub mod corporations;
pub mod edge;
pub mod exchange_log;
pub mod path;
pub mod provider;
pub mod rate_limit;
pub mod requester;
pub mod shipper;

use crate::{
    bundle::{
        BundleError,
        store::{BundleStore, Installed, Source},
    },
    keys::NodeKey,
    token::Verifier,
};
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
    /// The portal's Ed25519 public key (base64url), the trust anchor of configuration bundles. When set,
    /// peers, keys, approvals and scopes come only from a verified bundle, and the node refuses every
    /// exchange while it has no valid one.
    #[serde(default)]
    pub portal_public_key: Option<String>,
    /// Where the last good bundle is kept; default `<key_file>.bundle.jws`.
    #[serde(default)]
    pub bundle_file: Option<PathBuf>,
    /// How often to fetch a new bundle from the portal, in milliseconds.
    #[serde(default = "default_bundle_poll_ms")]
    pub bundle_poll_ms: u64,
    /// Argon2 PHC hash of the `admin` user's password (`renkei hash-password`); no admin API without it.
    #[serde(default)]
    pub admin_password_hash: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed; anyone else's is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    #[serde(default)]
    pub provider: Option<ProviderConfig>,
    #[serde(default)]
    pub requester: Option<RequesterConfig>,
    /// File uploads that become datasets of this (provider) node.
    #[serde(default)]
    pub connectbox: Option<crate::connectbox::ConnectBoxConfig>,
    /// TLS on this node's listener (certificate chain and key, PEM); plain HTTP without it.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsFiles>,
    /// CA certificates (PEM) trusted for the peers' and the portal's TLS, beside the system's roots.
    #[serde(default)]
    pub peer_ca_file: Option<PathBuf>,
    /// The exchange log's bounds: how much may wait for the portal, how long records are kept.
    #[serde(default)]
    pub log: LogConfig,
}

/// `[log]` in a node's configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Records that may wait for delivery to the portal. From 80 % on the node warns (log, metric,
    /// `/readyz` check `log_backlog: high`); at the bound it takes no new exchange (503
    /// `log_backlog_full`) until the portal has received them: an exchange is never served unlogged,
    /// and no logged record is dropped. 0: no bound.
    #[serde(default = "default_max_backlog")]
    pub max_backlog: u64,
    /// Months of delivered records kept on the node (the current month counts as one); older months
    /// are dropped. 0: keep everything.
    #[serde(default = "default_retention_months")]
    pub retention_months: u32,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            max_backlog: default_max_backlog(),
            retention_months: default_retention_months(),
        }
    }
}

fn default_max_backlog() -> u64 {
    1_000_000
}

/// A year, as gBizConnect kept its log indices.
pub fn default_retention_months() -> u32 {
    12
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The API this node serves at `GET /v1/corporations/{number}`.
    pub api: ProvidedApi,
    /// Without a portal (no `portal_public_key`) only: nodes allowed to call it. With a portal the
    /// approvals come from the bundle and this list is ignored.
    #[serde(default)]
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
    /// Without a portal only: provider nodes this node may call (with a portal: from the bundle).
    #[serde(default)]
    pub providers: Vec<KnownProvider>,
    /// Per-request consent (都度同意) through an OIDC provider; none = no consent pages.
    #[serde(default)]
    pub consent: Option<crate::consent::tsudo::TsudoConfig>,
    /// Browser origins allowed to call the requester API across origins, e.g. the portal's
    /// `https://portal.example.jp` for its try-it form. Empty (the default): no CORS headers, so
    /// browsers keep every other site's pages from calling this node.
    #[serde(default)]
    pub cors_origins: Vec<String>,
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

fn default_bundle_poll_ms() -> u64 {
    30_000
}

impl NodeConfig {
    pub fn bundle_path(&self) -> PathBuf {
        self.bundle_file.clone().unwrap_or_else(|| {
            let mut name = self.key_file.clone().into_os_string();
            name.push(".bundle.jws");
            PathBuf::from(name)
        })
    }
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
    pub admin_auth: crate::password::VerifiedCache,
    /// The installed configuration bundle, when the node has a portal trust anchor.
    pub bundle: Option<BundleStore>,
    pub limits: rate_limit::RateLimits,
    pub metrics: Arc<crate::observability::Metrics>,
    pub connectbox: Option<Arc<crate::connectbox::ConnectBox>>,
    /// Per-request consent: logins under way, unredeemed consents, accepted consent references.
    pub consent: crate::consent::tsudo::ConsentState,
    /// Stops the listener (a signal in `renkei node`).
    pub stop: crate::shutdown::Stop,
}

impl NodeState {
    /// Refuses a new exchange while the log holds as many undelivered records as `[log] max_backlog`
    /// allows: the exchange could not be logged without dropping evidence.
    pub fn admit_exchange(&self) -> Result<(), crate::api_error::ApiError> {
        let limit = self.config.log.max_backlog;
        if self.log.backlog_level(limit) != exchange_log::BacklogLevel::Full {
            return Ok(());
        }
        tracing::error!(
            pending = self.log.pending(),
            limit,
            "exchange refused: the exchange log is full of records the portal has not received"
        );
        let mut e = crate::api_error::ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "log_backlog_full",
            format!(
                "this node holds {} exchange-log records the portal has not received (limit {limit}); it takes new exchanges once the portal receives them",
                self.log.pending()
            ),
        );
        e.retry_after = Some(30);
        Err(e)
    }
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
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("connectbox")]
    ConnectBox(#[from] crate::connectbox::ConnectBoxError),
}

impl NodeState {
    pub async fn open(config: NodeConfig) -> Result<Arc<NodeState>, NodeError> {
        let key = NodeKey::load_or_generate(&config.key_file)?;
        let db = crate::storage::open(&config.database_url).await?;
        let config_id = config.client_id.clone();
        let log = ExchangeLog::open(db.clone()).await?;
        let verifier = match &config.provider {
            Some(_) if config.portal_public_key.is_some() => {
                Some(Verifier::new(&config.client_id, [])?)
            }
            Some(p) => Some(Verifier::new(
                &config.client_id,
                p.clients
                    .iter()
                    .map(|c| (c.client_id.as_str(), c.public_key.as_str())),
            )?),
            None => None,
        };
        let bundle = match &config.portal_public_key {
            Some(anchor) => Some(
                BundleStore::open(anchor, &config.client_id, &config.bundle_path(), db.clone())
                    .await,
            ),
            None => None,
        };
        let http = crate::tls::client_builder(config.peer_ca_file.as_deref())?
            .timeout(std::time::Duration::from_secs(30))
            .connect_timeout(std::time::Duration::from_secs(5))
            // A provider node never sends us elsewhere: no redirects, so no SSRF through one.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let connectbox = match &config.connectbox {
            Some(c) => Some(crate::connectbox::ConnectBox::open(c.clone(), db.clone()).await?),
            None => None,
        };
        let state = NodeState {
            config,
            key,
            db,
            log,
            verifier,
            http,
            basic_auth: Default::default(),
            admin_auth: Default::default(),
            bundle,
            limits: Default::default(),
            connectbox,
            consent: Default::default(),
            metrics: Arc::new(crate::observability::Metrics::new("node", &config_id)),
            stop: Default::default(),
        };
        state.refresh_peers();
        Ok(Arc::new(state))
    }

    /// Installs a bundle (see [`BundleStore::install`]) and takes the peers' keys from it.
    pub async fn install_bundle(
        &self,
        jws: &str,
        source: Source,
    ) -> Result<Arc<Installed>, BundleError> {
        let store = self
            .bundle
            .as_ref()
            .ok_or_else(|| BundleError::Malformed("this node takes no bundles".into()))?;
        store
            .install_then(jws, source, |bundle| self.load_peers(bundle))
            .await
    }

    /// With a bundle, the verifier knows exactly the nodes the bundle lists.
    fn refresh_peers(&self) {
        if let Some(current) = self.bundle.as_ref().and_then(|b| b.current()) {
            self.load_peers(&current.bundle);
        }
    }

    fn load_peers(&self, bundle: &crate::bundle::NodeBundle) {
        if let Some(verifier) = &self.verifier {
            verifier.set_peers(
                bundle
                    .nodes
                    .iter()
                    .map(|n| (n.client_id.as_str(), n.public_key.as_str())),
            );
        }
    }
}

/// All routes of a node: the provider API when configured, the requester API when configured, health,
/// readiness and metrics.
pub fn router(state: Arc<NodeState>) -> axum::Router {
    use axum::routing::{get, post};
    let mut app = axum::Router::new()
        // gBizConnect's health check: an empty 200.
        .route(
            crate::openapi::DOCUMENT_PATH,
            get(crate::openapi::node_document),
        )
        .route("/healthcheck", get(|| async { "" }))
        .route("/healthz", get(crate::observability::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/bundle", post(admin::install_bundle))
        .route("/admin/status", get(admin::status));
    if state.config.provider.is_some() {
        app = app
            .route("/v1/corporations", get(corporations::list_corporations))
            .route("/v1/corporations/{number}", get(provider::get_corporation))
            .route(
                "/v1/corporations/{number}/status",
                get(corporations::corporation_status),
            );
    }
    if let Some(requester) = &state.config.requester {
        let mut routes = axum::Router::new()
            .route("/v1/reception_jizen", post(requester::reception_jizen))
            .route("/v1/requests", post(requester::send_request))
            .route("/v1/reception_tsudo", post(requester::reception_tsudo));
        if let Some(cors) = requester::cors_layer(&requester.cors_origins) {
            routes = routes.layer(cors);
        }
        app = app
            .merge(routes)
            .route("/v1/consent", get(crate::consent::tsudo::consent_page))
            .route("/scope.html", get(crate::consent::tsudo::consent_page))
            .route("/v1/auth", get(crate::consent::tsudo::start))
            .route(
                crate::consent::tsudo::REDIRECT_PATH,
                get(crate::consent::tsudo::callback),
            );
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
        .with_state(state.clone());
    let metrics = state.metrics.clone();
    // The path is made canonical before routing, so the route matched is the path served.
    axum::Router::new()
        .fallback_service(crate::observability::layer(
            crate::api_error::api_layers(app).merge(uploads),
            metrics,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            edge::canonical_request,
        ))
}

/// Ready when the database answers, the bundle (with a portal trust anchor) is valid, and the exchange
/// log is not full. `checks` names each; a high log backlog is reported but still ready.
async fn readyz(
    axum::extract::State(state): axum::extract::State<Arc<NodeState>>,
) -> Result<axum::Json<serde_json::Value>, crate::api_error::ApiError> {
    use crate::api_error::ApiError;
    use axum::http::StatusCode;
    let axum::Json(mut ready) = crate::observability::readiness(&state.db).await?;
    // The same refusal as an exchange gets: bundle_missing or bundle_expired.
    if provider::usable_bundle(&state)
        .inspect_err(
            |e| tracing::warn!(code = %e.code, "not ready: no valid configuration bundle"),
        )?
        .is_some()
    {
        ready["checks"]["bundle"] = "ok".into();
    }
    let level = state.log.backlog_level(state.config.log.max_backlog);
    if level == exchange_log::BacklogLevel::Full {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_backlog_full",
            format!(
                "not ready: {} exchange-log records wait for the portal (limit {})",
                state.log.pending(),
                state.config.log.max_backlog
            ),
        ));
    }
    ready["checks"]["log_backlog"] = level.as_str().into();
    Ok(axum::Json(ready))
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
    let age = state
        .bundle
        .as_ref()
        .and_then(|b| b.current())
        .map(|c| (crate::bundle::unix_now() - c.bundle.issued_at).max(0))
        .unwrap_or(-1);
    state.metrics.bundle_age.set(age);
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
    // Drops delivered records of months `[log] retention_months` no longer keeps: at start, then daily.
    exchange_log::retention::spawn(&state);
    if state.config.portal_url.is_some() {
        shipper::spawn(state.clone());
        if state.bundle.is_some() {
            bundle_poll::spawn(state.clone());
        }
    }
    let tls = state
        .config
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let app = router(state.clone());
    let stop = state.stop.asked();
    let server = tokio::spawn(async move {
        if let Err(e) = crate::tls::serve(listener, app, tls, stop).await {
            tracing::error!(error = %e, "node server stopped");
        }
    });
    state.stop.attach(server);
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

    /// A requester node's whole router, from a configuration with these CORS origins.
    async fn requester_router(dir: &std::path::Path, cors_origins: Vec<String>) -> axum::Router {
        let config = NodeConfig {
            client_id: "requester-a".into(),
            organisation: "A".into(),
            listen: "127.0.0.1:0".into(),
            database_url: crate::storage::sqlite_url(&dir.join("node.db")),
            key_file: dir.join("node.key.pem"),
            portal_url: None,
            portal_public_key: None,
            bundle_file: None,
            bundle_poll_ms: 30_000,
            admin_password_hash: None,
            trusted_proxies: vec![],
            provider: None,
            requester: Some(super::RequesterConfig {
                systems: vec![super::LocalSystem {
                    user: "sys".into(),
                    password_hash: crate::password::hash("a long enough password"),
                }],
                providers: vec![],
                consent: None,
                cors_origins,
            }),
            connectbox: None,
            tls: None,
            peer_ca_file: None,
            log: Default::default(),
        };
        super::router(super::NodeState::open(config).await.unwrap())
    }

    fn preflight(origin: &str) -> axum::http::Request<axum::body::Body> {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/requests")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn the_requester_api_allows_only_the_configured_origins() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let portal = "http://127.0.0.1:3000";
        let app = requester_router(dir.path(), vec![portal.into()]).await;

        let allowed = app.clone().oneshot(preflight(portal)).await.unwrap();
        assert!(allowed.status().is_success(), "{}", allowed.status());
        let h = allowed.headers();
        assert_eq!(h["access-control-allow-origin"], portal);
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("POST")
        );
        let headers = h["access-control-allow-headers"].to_str().unwrap();
        assert!(
            headers.contains("authorization") && headers.contains("content-type"),
            "{headers}"
        );

        let refused = app
            .clone()
            .oneshot(preflight("https://evil.example"))
            .await
            .unwrap();
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );

        // The actual call from the portal's origin carries the header too (here: refused for
        // its missing credentials, which the browser page may then read).
        let call = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/requests")
            .header("origin", portal)
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap();
        let answer = app.clone().oneshot(call).await.unwrap();
        assert_eq!(answer.status(), axum::http::StatusCode::UNAUTHORIZED);
        assert_eq!(answer.headers()["access-control-allow-origin"], portal);

        // Health and the other node routes are not opened to other origins.
        let health = axum::http::Request::builder()
            .uri("/healthz")
            .header("origin", portal)
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = app.oneshot(health).await.unwrap();
        assert!(
            answer
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }

    #[tokio::test]
    async fn without_cors_origins_no_origin_is_allowed() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let app = requester_router(dir.path(), vec![]).await;
        let answer = app
            .oneshot(preflight("http://127.0.0.1:3000"))
            .await
            .unwrap();
        assert!(
            answer
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert!(!answer.status().is_success(), "{}", answer.status());
    }

    #[test]
    fn an_unknown_key_is_named() {
        let text = "client_id = \"a\"\norganisation = \"o\"\nlisten = \"127.0.0.1:1\"\ndatabase_url = \"sqlite::memory:\"\nkey_file = \"k\"\nlisen = \"x\"\n";
        let error = toml::from_str::<NodeConfig>(text).unwrap_err().to_string();
        assert!(error.contains("unknown field `lisen`"), "{error}");
    }
}
