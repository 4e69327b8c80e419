//! The portal: catalogue, registry of nodes, collected exchange logs, and the web UI over them.

pub mod applications;
pub mod bundle;
pub mod catalogue;
pub mod catalogue_bench;
pub mod chain_heads;
pub mod data;
pub mod exchanges;
pub mod ingest;
pub mod openapi_doc;
pub mod retention;
pub mod systems;
pub mod uptime;
pub mod workflow;

use crate::{
    keys::NodeKey,
    node::shipper::PORTAL_AUDIENCE,
    storage::entity::{portal_api, portal_node},
    token::Verifier,
};
use axum::extract::State;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, sea_query::OnConflict};
use std::{path::PathBuf, sync::Arc};
use tokio::sync::RwLock;

#[derive(Clone, Debug)]
pub struct PortalConfig {
    pub listen: String,
    pub database_url: String,
    /// The portal's own key; signs node configuration bundles (its public key is the nodes' trust anchor).
    pub key_file: PathBuf,
    /// Where the browser bundle lives (`pkg/renkei.js`, `pkg/renkei_bg.wasm`).
    pub site_root: PathBuf,
    /// How long a bundle is valid after issue; nodes fail closed after it if the portal stays away.
    pub bundle_lifetime_secs: i64,
    /// Accounts, sessions, mail, environment banner and the optional Basic gate.
    pub accounts: crate::accounts::AccountsConfig,
    /// TLS on the listener; with it the portal also sends HSTS and marks its cookies `Secure`.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Months of collected exchange records kept (the current month counts as one); 0 keeps all.
    pub log_retention_months: u32,
}

/// A day: long enough to ride out a portal outage, short enough that a lost node key ages out.
pub const DEFAULT_BUNDLE_LIFETIME_SECS: i64 = 24 * 3600;

pub struct PortalState {
    pub config: PortalConfig,
    pub db: DatabaseConnection,
    pub key: NodeKey,
    /// Verifies nodes' signed log batches; rebuilt when the node registry changes.
    pub node_verifier: RwLock<Verifier>,
    /// The last bundle version issued (see `next_version`).
    bundle_version: std::sync::Mutex<u64>,
    /// Stops the listener (a signal in `renkei portal`; tests take the portal down with it).
    pub stop: crate::shutdown::Stop,
    pub metrics: Arc<crate::observability::Metrics>,
    pub accounts: Arc<crate::accounts::Accounts>,
}

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Mail(#[from] crate::accounts::mail::MailError),
    #[error("listen address {addr}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("the generated OpenAPI document of {slug} is refused: {problem}")]
    OwnDocument { slug: String, problem: String },
}

impl PortalState {
    pub async fn open(mut config: PortalConfig) -> Result<Arc<PortalState>, PortalError> {
        if config.tls.is_some() {
            config.accounts.secure_cookies = true;
        }
        let key = NodeKey::load_or_generate(&config.key_file)?;
        let db = crate::storage::open(&config.database_url).await?;
        let verifier = build_verifier(&db).await?;
        let metrics = Arc::new(crate::observability::Metrics::new("portal", &config.listen));
        let accounts = Arc::new(crate::accounts::Accounts::new(
            db.clone(),
            config.accounts.clone(),
        )?);
        Ok(Arc::new(PortalState {
            metrics,
            config,
            db,
            key,
            node_verifier: RwLock::new(verifier),
            bundle_version: std::sync::Mutex::new(0),
            stop: crate::shutdown::Stop::default(),
            accounts,
        }))
    }

    /// Registers (or updates) a node and its public key.
    pub async fn register_node(&self, node: portal_node::Model) -> Result<(), PortalError> {
        let active = portal_node::ActiveModel {
            client_id: Set(node.client_id),
            organisation: Set(node.organisation),
            endpoint: Set(node.endpoint),
            public_key: Set(node.public_key),
        };
        portal_node::Entity::insert(active)
            .on_conflict(
                OnConflict::column(portal_node::Column::ClientId)
                    .update_columns([
                        portal_node::Column::Organisation,
                        portal_node::Column::Endpoint,
                        portal_node::Column::PublicKey,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        *self.node_verifier.write().await = build_verifier(&self.db).await?;
        Ok(())
    }

    /// Publishes (or updates) an API in the catalogue, keyed by slug, and refreshes its search index
    /// (categories, search text) and its version list. An `organisation_id` of `None` keeps the owner.
    pub async fn publish_api(&self, api: portal_api::Model) -> Result<(), PortalError> {
        catalogue::store_api(&self.db, api).await?;
        Ok(())
    }

    /// Lists renkei's own APIs (portal and node, their generated OpenAPI documents) in the catalogue,
    /// after the same document check a provider's upload gets; repeated starts update them by slug.
    pub async fn publish_own_apis(&self) -> Result<(), PortalError> {
        for api in crate::openapi::catalogue_entries() {
            let checked =
                openapi_doc::check_text(&api.openapi).map_err(|e| PortalError::OwnDocument {
                    slug: api.slug.clone(),
                    problem: e.to_string(),
                })?;
            self.publish_api(portal_api::Model {
                openapi: checked.json,
                ..api
            })
            .await?;
        }
        Ok(())
    }
}

impl PortalState {
    /// Stops the portal's listener (open connections finish their request first).
    pub fn stop(&self) {
        self.stop.ask();
    }
}

async fn build_verifier(db: &DatabaseConnection) -> Result<Verifier, PortalError> {
    let nodes = portal_node::Entity::find().all(db).await?;
    Ok(Verifier::new(
        PORTAL_AUDIENCE,
        nodes
            .iter()
            .map(|n| (n.client_id.as_str(), n.public_key.as_str())),
    )?)
}

pub fn router(state: Arc<PortalState>) -> axum::Router {
    use axum::routing::{get, post};
    let data: Arc<dyn renkei_app::model::PortalData> = Arc::new(data::DbPortalData {
        db: state.db.clone(),
    });
    let api = axum::Router::new()
        .route(
            crate::node::shipper::INGEST_PATH,
            post(ingest::receive_exchange_records),
        )
        .route("/api/v1/apis", get(data::list_apis_json))
        .route(bundle::BUNDLE_PATH, get(bundle::get_node_bundle))
        .route(
            crate::openapi::DOCUMENT_PATH,
            get(crate::openapi::portal_document),
        )
        .route("/healthcheck", get(|| async { "" }))
        .route("/healthz", get(crate::observability::healthz))
        .route(
            "/readyz",
            get(|State(state): State<Arc<PortalState>>| async move {
                crate::observability::readiness(&state.db).await
            }),
        )
        .route(
            "/metrics",
            get(|State(state): State<Arc<PortalState>>| async move {
                crate::observability::metrics_response(&state.metrics)
            }),
        )
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async {
                crate::api_error::ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "not_found",
                    "Not Found",
                )
            }),
        )
        .with_state(state.clone());
    let api = crate::api_error::api_layers(api.merge(crate::consent::oidc::routes(state.clone())));
    let app = api
        .merge(crate::accounts::router(state.accounts.clone()))
        .merge(workflow::router(state.clone()))
        .merge(exchanges::router(state.clone()))
        .merge(uptime::router(state.clone()))
        .merge(crate::portal_ui::ui_router_with_rest(
            data,
            state.config.site_root.clone(),
            renkei_app::UiSettings {
                environment: state.config.accounts.environment.clone(),
            },
            // Pages with the user's data (systems, APIs, applications) read these in-process.
            Some(Arc::new(crate::portal_ui::InProcessRest(
                crate::accounts::router(state.accounts.clone())
                    .merge(workflow::router(state.clone())),
            ))),
        ));
    let app = match &state.config.accounts.basic_gate {
        Some(gate) => app.layer(axum::middleware::from_fn_with_state(
            Arc::new(gate.clone()),
            crate::accounts::gate::basic_gate,
        )),
        None => app,
    };
    let app = security_headers(app, state.config.tls.is_some());
    crate::observability::layer(app, state.metrics.clone())
}

/// The browser-facing hardening every portal answer carries; HSTS only when the portal itself speaks
/// TLS (behind a TLS-terminating load balancer, that balancer sends it).
fn security_headers(app: axum::Router, hsts: bool) -> axum::Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let mut headers: Vec<(HeaderName, &'static str)> = vec![
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'",
        ),
    ];
    if hsts {
        headers.push((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"));
    }
    headers.into_iter().fold(app, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

pub async fn serve_listener(
    state: Arc<PortalState>,
    listener: tokio::net::TcpListener,
) -> Result<std::net::SocketAddr, PortalError> {
    let addr = listener.local_addr().map_err(|source| PortalError::Bind {
        addr: state.config.listen.clone(),
        source,
    })?;
    let tls = state
        .config
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let app = router(state.clone());
    let stop = state.stop.asked();
    let server = tokio::spawn(async move {
        // The peer's address reaches the handlers: login throttling counts failures per address.
        if let Err(e) = crate::tls::serve(listener, app, tls, stop).await {
            tracing::error!(error = %e, "portal server stopped");
        }
    });
    state.stop.attach(server);
    Ok(addr)
}
