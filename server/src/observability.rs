//! renkei's own observability: Prometheus metrics, a request id on every request's tracing span, JSON logs, health and readiness.
//!
//! Each component (portal, node) has its own [`Metrics`] registry and serves it at `/metrics`; the demo runs
//! three components in one process, so nothing here is process-global except the plugin-host figures,
//! which belong to whichever node runs conversions.

use crate::api_error::ApiError;
use axum::{
    Json,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Registry, Unit},
};
use sea_orm::DatabaseConnection;
use std::{
    sync::{Arc, LazyLock},
    time::{Duration, Instant},
};
use tracing::Instrument;

/// The header that carries a request id in and out (the same one the nodes put on exchanges).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    route: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// One component's metrics, rendered in the Prometheus text format at `/metrics`.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    /// Exchange-log records not yet delivered to the portal (nodes; refreshed at each scrape).
    pub log_backlog: Gauge,
    /// Seconds since the node's configuration bundle was signed; -1 while the node has no bundle.
    pub bundle_age: Gauge,
    /// Exchange-log records dropped by monthly retention (node: its log; portal: collected records).
    pub log_retention_dropped: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s: a provider answer is ~1 ms, a proxied call is bounded by the 30 s timeout.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Metrics {
    /// `component`: `node` or `portal`; `id`: the node's client id or the portal's address, so one
    /// Prometheus server can tell the demo's three components apart.
    pub fn new(component: &str, id: &str) -> Metrics {
        let mut registry = Registry::with_prefix_and_labels(
            "renkei",
            [
                ("component".into(), component.to_owned().into()),
                ("instance_id".into(), id.to_owned().into()),
            ]
            .into_iter(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by route template",
            Unit::Seconds,
            latency.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "http_errors",
            "Requests refused or failed, by route template and error code (token_replayed, not_found, …)",
            errors.clone(),
        );
        let log_backlog = Gauge::default();
        let bundle_age = Gauge::default();
        let log_retention_dropped = Counter::default();
        registry.register(
            "exchange_log_retention_dropped_records",
            "Exchange-log records dropped because their month is older than the retention keeps",
            log_retention_dropped.clone(),
        );
        if component == "node" {
            registry.register(
                "exchange_log_backlog_records",
                "Exchange-log records not yet delivered to the portal",
                log_backlog.clone(),
            );
            bundle_age.set(-1);
            registry.register_with_unit(
                "bundle_age",
                "Age of the node's signed configuration bundle; -1 while it has none",
                Unit::Seconds,
                bundle_age.clone(),
            );
            PLUGIN.register(&mut registry);
        }
        Metrics {
            registry,
            requests,
            latency,
            errors,
            log_backlog,
            bundle_age,
            log_retention_dropped,
        }
    }

    fn observe(&self, route: &str, method: &str, status: StatusCode, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    fn observe_error(&self, route: &str, code: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                route: route.to_owned(),
                code: code.to_owned(),
            })
            .inc();
    }

    /// The Prometheus (OpenMetrics) text of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Conversion figures of the plugin host, shared by the nodes of one process.
struct PluginMetrics {
    seconds: Histogram,
    conversions: Family<OutcomeLabels, Counter>,
    records: Counter,
    rejected_rows: Counter,
}

static PLUGIN: LazyLock<PluginMetrics> = LazyLock::new(|| PluginMetrics {
    // 10 ms … ~80 s: a demo file converts in well under a second, a whole-country file in tens of seconds.
    seconds: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.01, 2.0, 14,
    )),
    conversions: Family::default(),
    records: Counter::default(),
    rejected_rows: Counter::default(),
});

impl PluginMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "plugin_conversion_duration",
            "Time to convert one input file through a plugin",
            Unit::Seconds,
            self.seconds.clone(),
        );
        registry.register(
            "plugin_conversions",
            "Input files converted through a plugin, by outcome (ok, error)",
            self.conversions.clone(),
        );
        registry.register(
            "plugin_records",
            "Standard-data records plugins produced",
            self.records.clone(),
        );
        registry.register(
            "plugin_rejected_rows",
            "Input rows plugins (or the host's record checks) rejected",
            self.rejected_rows.clone(),
        );
    }
}

/// Records one finished conversion of an input file.
pub fn record_conversion(elapsed: Duration, records: u64, rejected_rows: u64) {
    PLUGIN.seconds.observe(elapsed.as_secs_f64());
    PLUGIN
        .conversions
        .get_or_create(&OutcomeLabels { outcome: "ok" })
        .inc();
    PLUGIN.records.inc_by(records);
    PLUGIN.rejected_rows.inc_by(rejected_rows);
}

/// Records a conversion the plugin host aborted (trap, limit, invalid output).
pub fn record_failed_conversion() {
    PLUGIN
        .conversions
        .get_or_create(&OutcomeLabels { outcome: "error" })
        .inc();
}

/// The error code of a JSON error response, left by [`ApiError`] for the metrics layer.
#[derive(Clone, Debug)]
pub struct ErrorCode(pub String);

/// The id of the request being served: the caller's `x-request-id` when it is a plain token, else a new
/// UUIDv7. It is on the request's span (so on every log line) and echoed in the response.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Middleware for every route: a span with the request id, the request counted and timed by route template.
pub async fn track(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    // The template, not the path: `/v1/corporations/{number}` keeps the label set small.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    metrics.observe(&route, &method, status, elapsed);
    if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
        metrics.observe_error(&route, code);
    }
    if !response.headers().contains_key(REQUEST_ID_HEADER)
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    span.in_scope(|| {
        tracing::debug!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "answered"
        );
    });
    response
}

/// Adds the metrics middleware to every route of `router`, its fallback included.
pub fn layer(router: axum::Router, metrics: Arc<Metrics>) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(metrics, track))
}

/// `GET /metrics` body with its content type.
pub fn metrics_response(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// `GET /healthz`: the process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The process is up", body = Object),
    ),
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the database answers, else 503 with the reason. (A node will also need a
/// valid signed bundle once bundles exist.)
pub async fn readiness(db: &DatabaseConnection) -> Result<Json<serde_json::Value>, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => Ok(Json(
            serde_json::json!({ "status": "ready", "checks": { "database": "ok" } }),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            Err(not_ready("the database does not answer"))
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within 2 s");
            Err(not_ready("the database did not answer within 2 s"))
        }
    }
}

fn not_ready(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unreachable",
        message,
    )
}

/// How log lines are written: `RENKEI_LOG_FORMAT=json` gives one JSON object a line (with the current
/// request's span, so its `request_id`), anything else the human-readable text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn from_env() -> LogFormat {
        match std::env::var("RENKEI_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            Ok("text") | Ok("") | Err(_) => LogFormat::Text,
            Ok(other) => {
                eprintln!(
                    "warning: RENKEI_LOG_FORMAT={other:?} is neither json nor text; using text"
                );
                LogFormat::Text
            }
        }
    }
}

/// The process's log subscriber, writing to `writer` (stderr in `main`).
pub fn subscriber<W>(format: LogFormat, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "renkei=info,warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .flatten_event(true)
                .finish(),
        ),
    }
}

#[cfg(test)]
mod tests;
