//! The portal UI over HTTP with an in-memory data source: server-rendered pages, server
//! functions, static assets and 404s. Also a preview server for browser work (`preview`, ignored).

use axum::{
    Form, Json, Router,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::Engine;
use renkei::portal_ui::ui_router;
use renkei_app::model::{ApiDetail, ApiSummary, BoxFuture, ExchangeView, PortalData};
use serde_json::json;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex},
};

const SLUG: &str = "nta-corporations";
const API_NAME: &str = "法人基本情報 API";
const PROVIDER: &str = "国税庁データ提供ノード（デモ）";
const PROVIDER_ID: &str = "demo-provider";
const REQUESTER_ID: &str = "demo-requester";
const PATH_TEMPLATE: &str = "/v1/corporations/{number}";

const OPENAPI: &str = r##"{
  "openapi": "3.0.3",
  "info": {"title": "法人基本情報 API", "version": "1.0.0"},
  "paths": {
    "/v1/corporations/{number}": {
      "get": {
        "summary": "法人の基本情報を取得 / Get a corporation's basic information",
        "parameters": [
          {"name": "number", "in": "path", "required": true, "description": "法人番号（13桁）/ corporate number",
           "schema": {"type": "string", "pattern": "^[0-9]{13}$"}}
        ],
        "responses": {
          "200": {"description": "標準データ形式の法人情報 / standard corporate data",
                  "content": {"application/json": {"schema": {"type": "object"}}}},
          "404": {"description": "該当なし / not found"}
        }
      }
    }
  }
}"##;

fn summary() -> ApiSummary {
    ApiSummary {
        slug: SLUG.into(),
        name: API_NAME.into(),
        summary: "法人番号から商号・所在地を返します / Name and address by corporate number".into(),
        provider: PROVIDER.into(),
        provider_client_id: PROVIDER_ID.into(),
        categories: vec!["法人情報".into()],
        scopes: vec!["basic".into()],
        consent_required: false,
        path_template: PATH_TEMPLATE.into(),
    }
}

fn exchange(seq: i64, request_id: &str, time: &str, role: &str, status: u16) -> ExchangeView {
    let ok = status < 400;
    ExchangeView {
        node: if role == "requester" {
            REQUESTER_ID
        } else {
            PROVIDER_ID
        }
        .into(),
        seq,
        request_id: request_id.into(),
        time: time.into(),
        role: role.into(),
        requester: REQUESTER_ID.into(),
        provider: PROVIDER_ID.into(),
        method: "GET".into(),
        path: "/v1/corporations/1010001072706".into(),
        status,
        latency_ms: 12.345,
        outcome: if ok { "ok" } else { "error" }.into(),
        error_code: (!ok).then(|| "not_found".to_string()),
    }
}

/// The portal data a test sees; exchanges are kept newest first.
#[derive(Default)]
struct MemoryData {
    apis: Vec<ApiDetail>,
    exchanges: Mutex<Vec<ExchangeView>>,
    fail_with: Option<String>,
}

impl MemoryData {
    fn sample() -> Self {
        Self {
            apis: vec![ApiDetail {
                api: summary(),
                description: "国税庁の法人番号公表データを標準データ形式で提供します。\n\n\
                              Serves NTA corporate-number data in the standard format."
                    .into(),
                openapi_json: OPENAPI.into(),
            }],
            exchanges: Mutex::new(vec![
                exchange(
                    2,
                    "req-newer",
                    "2025-06-01T10:20:31.500+09:00",
                    "requester",
                    404,
                ),
                exchange(
                    1,
                    "req-older",
                    "2025-06-01T09:00:00.000+09:00",
                    "requester",
                    200,
                ),
            ]),
            fail_with: None,
        }
    }

    fn check(&self) -> Result<(), String> {
        self.fail_with.clone().map_or(Ok(()), Err)
    }
}

impl PortalData for MemoryData {
    fn list_apis(&self) -> BoxFuture<'_, Result<Vec<ApiSummary>, String>> {
        Box::pin(async move {
            self.check()?;
            Ok(self.apis.iter().map(|d| d.api.clone()).collect())
        })
    }

    fn api_detail(&self, slug: String) -> BoxFuture<'_, Result<Option<ApiDetail>, String>> {
        Box::pin(async move {
            self.check()?;
            Ok(self.apis.iter().find(|d| d.api.slug == slug).cloned())
        })
    }

    fn recent_exchanges(&self, limit: u64) -> BoxFuture<'_, Result<Vec<ExchangeView>, String>> {
        Box::pin(async move {
            self.check()?;
            let all = self.exchanges.lock().map_err(|e| e.to_string())?;
            Ok(all.iter().take(limit as usize).cloned().collect())
        })
    }
}

/// All tests share one multi-threaded runtime, as the portal process does; their pages render
/// concurrently, which is how `ui_router`'s once-per-process route list was found necessary.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test runtime")
});

fn run<F: Future>(test: F) -> F::Output {
    RUNTIME.block_on(test)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running UI on 127.0.0.1:0.
struct TestUi {
    base: String,
    client: reqwest::Client,
}

impl TestUi {
    async fn start(data: MemoryData, site_root: PathBuf) -> Self {
        let router = ui_router(Arc::new(data), site_root);
        let base = serve(router).await;
        Self {
            base,
            client: renkei::tls::http_client(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {path} body: {e}"));
        (status, headers, body)
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    format!("http://{addr}")
}

fn position(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("page lacks {needle:?}:\n{html}"))
}

#[test]
fn catalogue_is_rendered_on_the_server_with_its_api_tiles() {
    run(async {
        let ui = TestUi::start(MemoryData::sample(), repo_root().join("target/site")).await;
        for path in ["/catalogue"] {
            let (status, headers, html) = ui.get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            for needle in [
                "<html lang=\"ja\">",
                "<title>API カタログ / API catalogue — renkei</title>",
                "data-testid=\"api-tile\"",
                "data-slug=\"nta-corporations\"",
                "href=\"/apis/nta-corporations\"",
                API_NAME,
                PROVIDER,
                "法人情報",
                ">basic</code>",
                "同意不要 / No consent needed",
                "1 件 / 1 API",
                "出典：国税庁法人番号公表サイト（国税庁）",
                "/pkg/renkei.js",
                "/pkg/renkei_bg.wasm",
                "href=\"/style.css\"",
                // Not hydrated yet: the browser flips it.
                "data-hydrated=\"false\"",
            ] {
                position(&html, needle);
            }
        }
    });
}

#[test]
fn api_detail_lists_operations_from_the_openapi_document() {
    run(async {
        let ui = TestUi::start(MemoryData::sample(), repo_root().join("target/site")).await;
        let (status, _, html) = ui.get("/apis/nta-corporations").await;
        assert_eq!(status, StatusCode::OK);
        for needle in [
            "data-testid=\"api-detail\"",
            "国税庁の法人番号公表データを標準データ形式で提供します。",
            PROVIDER,
            ">demo-provider</code>",
            ">/v1/corporations/{number}</code>",
            "data-testid=\"api-operation\"",
            "<span class=\"method method-get\">GET</span>",
            "法人の基本情報を取得 / Get a corporation's basic information",
            "<code>string (pattern ^[0-9]{13}$)</code>",
            "法人番号（13桁）/ corporate number",
            "標準データ形式の法人情報 / standard corporate data",
            "href=\"/apis/nta-corporations/openapi.json\"",
            "<details class=\"raw-json\">",
            "\"openapi\": \"3.0.3\"",
        ] {
            position(&html, needle);
        }
        // Responses in status order.
        assert!(position(&html, ">200</span>") < position(&html, ">404</span>"));
    });
}

#[test]
fn unknown_api_and_unknown_page_answer_404_with_a_clear_message() {
    run(async {
        let ui = TestUi::start(MemoryData::sample(), repo_root().join("target/site")).await;

        let (status, _, html) = ui.get("/apis/no-such-api").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        position(&html, "data-testid=\"not-found\"");
        position(&html, "API「no-such-api」は見つかりません");

        let (status, _, html) = ui.get("/no/such/page").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        position(
            &html,
            "<p data-testid=\"not-found-message\">このページは存在しません。</p>",
        );
        position(&html, "<h1>404 ページが見つかりません</h1>");
        position(&html, "出典：国税庁法人番号公表サイト（国税庁）");

        // In English, the whole page is English, the API's message too.
        let (status, _, html) = ui.get("/no/such/page?lang=en").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        position(&html, "<h1>404 Not found</h1>");
        position(&html, "This page does not exist.");
        position(&html, "Back to the catalogue");
        position(
            &html,
            "Source: National Tax Agency Corporate Number Publication Site (NTA)",
        );
        assert!(!html.contains("このページは存在しません"), "{html}");
        let (status, _, html) = ui.get("/apis/no-such-api?lang=en").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // The page shows the English half; the Japanese one travels only in the hydration data.
        position(
            &html,
            "<p data-testid=\"not-found-message\">No API with the slug \"no-such-api\" exists.</p>",
        );
    });
}

#[test]
fn the_exchange_log_is_not_public() {
    run(async {
        let ui = TestUi::start(MemoryData::sample(), repo_root().join("target/site")).await;
        // The page is a shell: its records come from /api/v1/exchanges with the viewer's session.
        let (status, _, html) = ui.get("/logs").await;
        assert_eq!(status, StatusCode::OK);
        position(&html, "<title>通信ログ — renkei</title>");
        position(&html, "<h1>通信ログ</h1>");
        assert_eq!(html.matches("data-testid=\"log-row\"").count(), 0, "{html}");
        assert!(!html.contains("req-newer"), "{html}");
        let (_, _, html) = ui.get("/logs?lang=en").await;
        position(&html, "<h1>Exchange log</h1>");
        position(&html, "Operators see all of them");

        // The server function that once listed every record to anyone is gone.
        let response = ui
            .client
            .post(format!("{}/ui/fn/recent_exchanges", ui.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("limit=10")
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.text().await.unwrap();
        assert!(!body.contains("req-newer"), "{body}");
    });
}

#[test]
fn data_source_errors_are_shown_not_panicked() {
    run(async {
        let data = MemoryData {
            fail_with: Some("database is locked".into()),
            ..MemoryData::sample()
        };
        let ui = TestUi::start(data, repo_root().join("target/site")).await;
        for path in ["/catalogue", "/apis/nta-corporations"] {
            let (status, _, html) = ui.get(path).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
            position(&html, "データを読み込めませんでした: database is locked");
        }
    });
}

#[test]
fn server_functions_answer_json() {
    run(async {
        let ui = TestUi::start(MemoryData::sample(), repo_root().join("target/site")).await;
        let response = ui
            .client
            .post(format!("{}/ui/fn/list_apis", ui.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .expect("server function call");
        assert_eq!(response.status(), StatusCode::OK);
        let apis: Vec<ApiSummary> = response.json().await.expect("JSON list of APIs");
        assert_eq!(apis, vec![summary()]);

        let response = ui
            .client
            .post(format!("{}/ui/fn/api_detail", ui.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("slug=missing")
            .send()
            .await
            .expect("server function call");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let error: serde_json::Value = response.json().await.expect("JSON error");
        assert_eq!(
            error,
            json!({"NotFound": "API「missing」は見つかりません / No API with the slug \"missing\" exists."})
        );
    });
}

#[test]
fn stylesheet_bundle_and_openapi_download_are_served() {
    run(async {
        let site = tempfile::tempdir().expect("temp dir");
        let pkg = site.path().join("pkg");
        std::fs::create_dir_all(&pkg).expect("pkg dir");
        std::fs::write(pkg.join("renkei_bg.wasm"), b"\0asm\x01\0\0\0").expect("write wasm");
        std::fs::write(pkg.join("renkei.js"), "export default function init() {}")
            .expect("write js");
        let ui = TestUi::start(MemoryData::sample(), site.path().to_path_buf()).await;

        let (status, headers, css) = ui.get("/style.css").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
        assert!(css.contains(".tiles"), "stylesheet body");

        let (status, headers, _) = ui.get("/pkg/renkei_bg.wasm").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        let (status, headers, _) = ui.get("/pkg/renkei.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/javascript");

        let (status, headers, body) = ui.get("/apis/nta-corporations/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"nta-corporations.openapi.json\""
        );
        assert_eq!(body, OPENAPI);

        let (status, _, body) = ui.get("/apis/nope/openapi.json").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(
            body,
            json!({"error": {"message": "API「nope」は見つかりません / No API with the slug \"nope\" exists."}})
        );
    });
}

// ---- Preview server: the UI plus a stand-in requester node, for browser work without the demo ----

const PREVIEW_USER: &str = "preview";
const PREVIEW_PASSWORD: &str = "preview-password";

/// Serves the UI on `RENKEI_UI_PREVIEW_PORT` (default 3900) and a stand-in requester node on the
/// next port, and writes a demo.json for `end2end/` to `RENKEI_DEMO_JSON` (default
/// `target/ui-preview/demo.json`). Runs until killed:
/// `cargo test -p renkei --test portal_ui -- --ignored preview --nocapture`
#[tokio::test]
#[ignore = "serves forever; run by hand for browser work"]
async fn preview() {
    let port: u16 = std::env::var("RENKEI_UI_PREVIEW_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3900);
    let site_root = std::env::var_os("RENKEI_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/site"));
    let data = Arc::new(MemoryData::sample());

    let ui = ui_router(data.clone(), site_root);
    let ui_listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("UI port free");
    let node = Router::new().route(
        "/v1/reception_jizen",
        post(
            move |headers: HeaderMap, Form(form): Form<HashMap<String, String>>| {
                fake_reception(data.clone(), headers, form)
            },
        ),
    );
    let node_listener = tokio::net::TcpListener::bind(("127.0.0.1", port + 1))
        .await
        .expect("node port free");

    let demo = json!({
        "portal_url": format!("http://127.0.0.1:{port}"),
        "requester_node_url": format!("http://127.0.0.1:{}", port + 1),
        "provider_node_url": format!("http://127.0.0.1:{}", port + 1),
        "requester_basic_user": PREVIEW_USER,
        "requester_basic_password": PREVIEW_PASSWORD,
        "provider_client_id": PROVIDER_ID,
        "requester_client_id": REQUESTER_ID,
        "api_path_template": PATH_TEMPLATE,
        "corporate_numbers": ["1010001072706", "1010001097199"],
    });
    let demo_path = std::env::var_os("RENKEI_DEMO_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/ui-preview/demo.json"));
    if let Some(dir) = demo_path.parent() {
        std::fs::create_dir_all(dir).expect("demo.json directory");
    }
    std::fs::write(&demo_path, serde_json::to_vec_pretty(&demo).expect("JSON"))
        .expect("write demo.json");
    println!(
        "preview UI on http://127.0.0.1:{port}/ ; demo.json at {}",
        demo_path.display()
    );

    tokio::spawn(async move { axum::serve(node_listener, node).await.expect("serve node") });
    axum::serve(ui_listener, ui).await.expect("serve UI");
}

/// Answers like a requester node (only the parts the browser journey checks) and logs the
/// exchange on both sides, as the real nodes ship it to the portal.
async fn fake_reception(
    data: Arc<MemoryData>,
    headers: HeaderMap,
    form: HashMap<String, String>,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{PREVIEW_USER}:{PREVIEW_PASSWORD}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Unauthorized"}})),
        )
            .into_response();
    }
    let path = form.get("call_api").cloned().unwrap_or_default();
    let number = path.rsplit('/').next().unwrap_or_default().to_string();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let time = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("JST offset"))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    if let Ok(mut log) = data.exchanges.lock() {
        let seq = log.len() as i64 + 1;
        for role in ["provider", "requester"] {
            let mut record = exchange(seq, &request_id, &time, role, 200);
            record.path = path.clone();
            log.insert(0, record);
        }
    }
    Json(json!({
        "meta": {"request_id": request_id},
        "data": {"Basic": {"Destination": {"Corporate number": number}}},
    }))
    .into_response()
}
