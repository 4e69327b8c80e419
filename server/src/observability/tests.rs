//! Metrics, health, readiness and JSON logs as an operator sees them over HTTP.

use super::*;
use crate::node::{NodeConfig, NodeState, exchange_log::NewExchange};
use axum::body::Body;
use std::sync::Mutex;
use tower::ServiceExt;

async fn node(dir: &tempfile::TempDir) -> Arc<NodeState> {
    NodeState::open(NodeConfig {
        client_id: "nta-provider".into(),
        organisation: "国税庁データ提供者".into(),
        listen: "127.0.0.1:0".into(),
        database_url: "sqlite::memory:".into(),
        key_file: dir.path().join("node.key.pem"),
        portal_url: None,
        portal_public_key: None,
        bundle_file: None,
        bundle_poll_ms: 10_000,
        admin_password_hash: None,
        trusted_proxies: vec![],
        tls: None,
        peer_ca_file: None,
        log: Default::default(),
        provider: None,
        requester: None,
        connectbox: None,
    })
    .await
    .expect("node opens")
}

async fn get(
    app: &axum::Router,
    path: &str,
    request_id: Option<&str>,
) -> (u16, HeaderMapText, String) {
    let mut request = axum::http::Request::get(path);
    if let Some(id) = request_id {
        request = request.header(REQUEST_ID_HEADER, id);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = HeaderMapText(
        response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

struct HeaderMapText(Vec<(String, String)>);

impl HeaderMapText {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The value of the sample whose line starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
}

#[tokio::test]
async fn node_metrics_count_requests_errors_and_the_log_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let state = node(&dir).await;
    for i in 0..3 {
        state
            .log
            .append(NewExchange {
                request_id: format!("r{i}"),
                role: "provider",
                status: 200,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    state.log.mark_shipped(1).await.unwrap();
    let app = crate::node::router(state);

    assert_eq!(get(&app, "/healthcheck", None).await.0, 200);
    assert_eq!(get(&app, "/healthcheck", None).await.0, 200);
    let (status, _, body) = get(&app, "/no/such/route", None).await;
    assert_eq!(status, 404, "{body}");
    let (status, headers, text) = get(&app, "/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let labels = r#"component="node",instance_id="nta-provider""#;
    assert_eq!(
        sample(
            &text,
            &format!(r#"renkei_http_requests_total{{{labels},route="/healthcheck",method="GET",status="200"}}"#)
        )
        .as_deref(),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"renkei_http_requests_total{{{labels},route="unmatched",method="GET",status="404"}}"#)
        )
        .as_deref(),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"renkei_http_errors_total{{{labels},route="unmatched",code="not_found"}}"#)
        )
        .as_deref(),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"renkei_http_request_duration_seconds_count{{{labels},route="/healthcheck"}}"#
            )
        )
        .as_deref(),
        Some("2"),
        "{text}"
    );
    // Three records logged, one delivered.
    assert_eq!(
        sample(
            &text,
            &format!("renkei_exchange_log_backlog_records{{{labels}}}")
        )
        .as_deref(),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("renkei_bundle_age_seconds{{{labels}}}")).as_deref(),
        Some("-1"),
        "{text}"
    );
    // Conversion figures are registered on every node (counted by tests that convert files).
    for family in [
        "renkei_plugin_conversion_duration_seconds",
        "renkei_plugin_records",
        "renkei_plugin_rejected_rows",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing: {text}"
        );
    }
}

#[tokio::test]
async fn health_is_up_and_readiness_follows_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = node(&dir).await;
    let app = crate::node::router(state.clone());
    let (status, _, body) = get(&app, "/healthz", None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, _, body) = get(&app, "/readyz", None).await;
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            r#"{"status":"ready","checks":{"database":"ok","log_backlog":"ok"}}"#
        )
    );
    // gBizConnect's own health check stays an empty 200.
    let (status, _, body) = get(&app, "/healthcheck", None).await;
    assert_eq!((status, body.as_str()), (200, ""));

    state.db.clone().close().await.unwrap();
    let (status, _, body) = get(&app, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "database_unreachable", "message": "the database does not answer"}})
    );
    // Still alive, only not ready.
    assert_eq!(get(&app, "/healthz", None).await.0, 200);
}

#[tokio::test]
async fn portal_serves_health_readiness_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let portal = crate::portal::PortalState::open(crate::portal::PortalConfig {
        listen: "127.0.0.1:3000".into(),
        database_url: "sqlite::memory:".into(),
        key_file: dir.path().join("portal.key.pem"),
        site_root: dir.path().join("site"),
        bundle_lifetime_secs: crate::portal::DEFAULT_BUNDLE_LIFETIME_SECS,
        accounts: Default::default(),
        tls: None,
        log_retention_months: crate::node::default_retention_months(),
    })
    .await
    .unwrap();
    let app = crate::portal::router(portal);
    assert_eq!(get(&app, "/healthz", None).await.0, 200);
    assert_eq!(get(&app, "/readyz", None).await.0, 200);
    let (status, _, body) = get(&app, "/api/v1/nothing", None).await;
    assert_eq!(status, 404, "{body}");
    let (_, _, text) = get(&app, "/metrics", None).await;
    let labels = r#"component="portal",instance_id="127.0.0.1:3000""#;
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"renkei_http_errors_total{{{labels},route="/api/{{*rest}}",code="not_found"}}"#
            )
        )
        .as_deref(),
        Some("1"),
        "{text}"
    );
    assert!(
        !text.contains("renkei_exchange_log_backlog_records"),
        "the portal has no log of its own to ship"
    );
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn json_log_lines_carry_the_request_id() {
    let capture = Capture::default();
    let writer = capture.clone();
    let _guard =
        tracing::subscriber::set_default(subscriber(LogFormat::Json, move || writer.clone()));
    let metrics = Arc::new(Metrics::new("node", "n"));
    let app = layer(
        axum::Router::new().route(
            "/work",
            axum::routing::get(|| async {
                tracing::info!(rows = 3, "inside the handler");
                "done"
            }),
        ),
        metrics,
    );

    let (status, headers, _) = get(&app, "/work", Some("req-0001")).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get(REQUEST_ID_HEADER), Some("req-0001"));
    // A caller's id that is not a plain token is replaced by a fresh one.
    let (_, headers, _) = get(&app, "/work", Some("../etc/passwd")).await;
    let generated = headers.get(REQUEST_ID_HEADER).unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let handler_lines: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "inside the handler")
        .collect();
    assert_eq!(handler_lines.len(), 2, "{text}");
    assert_eq!(handler_lines[0]["span"]["request_id"], "req-0001");
    assert_eq!(handler_lines[0]["span"]["route"], "/work");
    assert_eq!(handler_lines[0]["rows"], 3);
    assert_eq!(handler_lines[0]["level"], "INFO");
    assert_eq!(handler_lines[1]["span"]["request_id"], generated.as_str());
}
