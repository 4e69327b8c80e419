//! The portal UI over HTTP with an in-memory data source: server-rendered pages, server
//! functions, static assets and 404s. Also a preview server for browser work (`preview`, ignored).

use axum::{
    Form, Json, Router,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::Engine;
use renkei::portal::data::DbPortalData;
use renkei::portal_ui::ui_router;
use renkei::storage::entity::portal_api;
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
                terms: "出典を明記してください / Credit the source.".into(),
                provider_organisation: Some("国税庁データ提供者".into()),
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
        Self::over(Arc::new(data), site_root).await
    }

    async fn over(data: Arc<dyn PortalData>, site_root: PathBuf) -> Self {
        let router = ui_router(data, site_root);
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
                "<title>API カタログ — renkei</title>",
                "data-testid=\"api-tile\"",
                "data-slug=\"nta-corporations\"",
                "href=\"/apis/nta-corporations\"",
                API_NAME,
                PROVIDER,
                "法人情報",
                ">basic</code>",
                "同意不要",
                "1 件",
                // The detail page opens in a new tab, so the search results stay.
                "target=\"_blank\" rel=\"noopener\"",
                // A GET form: searching works before (and without) the browser bundle.
                "method=\"get\" action=\"/catalogue\" role=\"search\"",
                "name=\"q\"",
                "name=\"category\" value=\"法人情報\"",
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
            // Terms, provider organisation, apply link, try-it section.
            "出典を明記してください / Credit the source.",
            "国税庁データ提供者",
            "href=\"/applications/new?api=nta-corporations\"",
            ">利用申請</a>",
            "data-testid=\"try-it\"",
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

// ---- Catalogue search and detail pages over the portal's database ------------------------------

/// The UI over a real portal database (an SQLite file) holding `apis`, stored as publishing does.
struct DbUi {
    ui: TestUi,
    _dir: tempfile::TempDir,
}

async fn db_ui(apis: Vec<portal_api::Model>) -> DbUi {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = renkei::storage::open(&renkei::storage::sqlite_url(&dir.path().join("portal.db")))
        .await
        .expect("portal database");
    for api in apis {
        renkei::portal::catalogue::store_api(&db, api)
            .await
            .expect("store API");
    }
    let ui = TestUi::over(
        Arc::new(DbPortalData { db }),
        repo_root().join("target/site"),
    )
    .await;
    DbUi { ui, _dir: dir }
}

fn row(slug: &str, name: &str, categories: &[&str]) -> portal_api::Model {
    portal_api::Model {
        id: 0,
        slug: slug.into(),
        name: name.into(),
        summary: format!("{name} の概要"),
        description: String::new(),
        provider: "提供者".into(),
        provider_client_id: "prov".into(),
        categories: json!(categories).to_string(),
        scopes: json!(["basic"]).to_string(),
        consent_required: false,
        path_template: "/v1/x/{id}".into(),
        openapi: OPENAPI.into(),
        organisation_id: None,
        terms: String::new(),
        status: "published".into(),
        version: "1.0.0".into(),
        updated_at: String::new(),
    }
}

/// The slugs of the tiles, in page order.
fn tile_slugs(html: &str) -> Vec<String> {
    html.split("data-testid=\"api-tile\" data-slug=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap_or(0)].to_string())
        .collect()
}

#[test]
fn catalogue_search_with_two_categories_shows_their_union_by_name() {
    run(async {
        let t = db_ui(vec![
            row("gamma", "Gamma", &["weather"]),
            row("beta", "Beta", &["finance", "tax"]),
            row("delta", "Delta", &["finance"]),
            row("alpha", "Alpha", &["tax"]),
        ])
        .await;
        let (status, _, html) = t.ui.get("/catalogue?category=tax&category=finance").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(tile_slugs(&html), ["alpha", "beta", "delta"]);
        position(&html, "3 件");
        // The boxes of the search are ticked on the server-rendered page (a reload keeps them).
        for category in ["tax", "finance"] {
            position(
                &html,
                &format!(
                    "name=\"category\" value=\"{category}\" data-testid=\"category-option\" data-category=\"{category}\" checked"
                ),
            );
        }
        lacks(&html, "data-category=\"weather\" checked");
        // Counts of every category next to its box.
        position(
            &html,
            "<span class=\"category-name\">finance</span><span class=\"category-count\">(2)</span>",
        );

        // Words and categories together: the words narrow the union.
        let (_, _, html) =
            t.ui.get("/catalogue?q=BETA&category=tax&category=finance")
                .await;
        assert_eq!(tile_slugs(&html), ["beta"]);
        position(&html, "value=\"BETA\"");

        let (_, _, html) = t.ui.get("/catalogue").await;
        assert_eq!(tile_slugs(&html), ["alpha", "beta", "delta", "gamma"]);
    });
}

#[test]
fn catalogue_pages_are_stable_and_linked() {
    run(async {
        let apis = (1..=14)
            .rev()
            .map(|i| row(&format!("api-{i:02}"), &format!("API {i:02}"), &["c"]))
            .collect();
        let t = db_ui(apis).await;
        let (_, _, html) = t.ui.get("/catalogue?category=c").await;
        let first: Vec<String> = (1..=12).map(|i| format!("api-{i:02}")).collect();
        assert_eq!(tile_slugs(&html), first);
        position(&html, "14 件 · ページ 1 / 2");
        position(&html, "data-testid=\"pager\"");
        position(
            &html,
            "href=\"/catalogue?category=c&amp;page=2\" rel=\"next\"",
        );
        lacks(&html, "data-testid=\"page-prev\"");

        let (status, _, html) = t.ui.get("/catalogue?category=c&page=2").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(tile_slugs(&html), ["api-13", "api-14"]);
        position(&html, "href=\"/catalogue?category=c\" rel=\"prev\"");
        position(
            &html,
            "href=\"/catalogue?category=c&amp;page=2\" aria-current=\"page\"",
        );

        // Past the end: the empty state, not an error, and not "nothing matches" (things do).
        let (status, _, html) = t.ui.get("/catalogue?page=9").await;
        assert_eq!(status, StatusCode::OK);
        assert!(tile_slugs(&html).is_empty());
        position(
            &html,
            "このページには API がありません。前のページに戻ってください。",
        );
        assert!(!html.contains("条件に合う API はありません。"));
    });
}

#[test]
fn catalogue_empty_states_say_why() {
    run(async {
        let t = db_ui(vec![row("alpha", "Alpha", &["tax"])]).await;
        let (_, _, html) = t.ui.get("/catalogue?q=zzz-nothing").await;
        position(&html, "data-testid=\"catalogue-empty\"");
        position(&html, "条件に合う API はありません。");
        position(
            &html,
            "キーワードを減らすか、カテゴリの選択を外してみてください。",
        );
        position(&html, "href=\"/catalogue\" data-testid=\"catalogue-clear\"");
        position(&html, "0 件");

        let (_, _, html) = t.ui.get("/catalogue?q=zzz-nothing&lang=en").await;
        position(&html, "No API matches your search.");
        position(&html, "0 APIs");
        position(&html, "<h1>API catalogue</h1>");

        let empty = db_ui(Vec::new()).await;
        let (status, _, html) = empty.ui.get("/catalogue").await;
        assert_eq!(status, StatusCode::OK);
        position(&html, "公開中の API はまだありません。");
        lacks(&html, "data-testid=\"category-filter\"");
    });
}

#[test]
fn a_tile_shows_its_first_category_then_an_ellipsis_with_the_full_list() {
    run(async {
        let t = db_ui(vec![
            row("many", "Many", &["国税庁", "法人", "Corporate registry"]),
            row("one", "One", &["法人"]),
        ])
        .await;
        let (_, _, html) = t.ui.get("/catalogue").await;
        let many =
            &html[position(&html, "data-slug=\"many\"")..position(&html, "data-slug=\"one\"")];
        position(
            many,
            "title=\"国税庁、法人、Corporate registry\" data-testid=\"tag-first\" class=\"tag\">国税庁</span>",
        );
        position(many, "data-testid=\"tag-more\"");
        position(
            many,
            "aria-label=\"すべてのカテゴリ: 国税庁、法人、Corporate registry\"",
        );
        position(many, ">…</button>");
        position(
            many,
            "role=\"tooltip\" data-testid=\"tag-popover\" class=\"tag-popover\"><span class=\"tag\">国税庁</span><span class=\"tag\">法人</span><span class=\"tag\">Corporate registry</span>",
        );
        let one = &html[position(&html, "data-slug=\"one\"")..];
        position(one, "data-testid=\"tag-first\" class=\"tag\">法人</span>");
        lacks(one, "tag-more");
    });
}

#[test]
fn an_unpublished_or_unknown_api_has_no_page() {
    run(async {
        let mut hidden = row("hidden", "Hidden", &["tax"]);
        hidden.status = "unpublished".into();
        let t = db_ui(vec![hidden, row("shown", "Shown", &["tax"])]).await;
        for path in ["/apis/hidden", "/apis/never-was"] {
            let (status, _, html) = t.ui.get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            position(&html, "data-testid=\"not-found\"");
        }
        let (status, _, _) = t.ui.get("/apis/hidden/openapi.json").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, html) = t.ui.get("/catalogue?category=tax").await;
        assert_eq!(tile_slugs(&html), ["shown"]);
        let (status, _, _) = t.ui.get("/apis/shown").await;
        assert_eq!(status, StatusCode::OK);
    });
}

const BODY_DOC: &str = r##"{
  "openapi": "3.0.3",
  "info": {"title": "Body API", "version": "2.0.0"},
  "paths": {"/v1/things/{id}": {"get": {
    "summary": "Get a thing",
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "The thing", "content": {"application/json":
      {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
  }}},
  "components": {"schemas": {"Thing": {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "description": "The <b>name</b>"},
    "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}
  }}}}
}"##;

#[test]
fn detail_page_escapes_the_description_and_shows_body_schemas() {
    run(async {
        let mut api = row("things", "Things <i>API</i>", &["tax"]);
        api.description = "<script>alert(\"x\")</script> & <b>bold</b>\n\nSecond paragraph.".into();
        api.terms = "Use <u>fairly</u>.".into();
        api.openapi = BODY_DOC.into();
        let t = db_ui(vec![api]).await;
        let (status, _, html) = t.ui.get("/apis/things").await;
        assert_eq!(status, StatusCode::OK);
        position(
            &html,
            "<p>&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;</p>",
        );
        lacks(&html, "<script>alert");
        lacks(&html, "<b>bold");
        position(&html, "<p>Second paragraph.</p>");
        position(&html, "<h1>Things &lt;i&gt;API&lt;/i&gt;</h1>");
        position(&html, "Use &lt;u&gt;fairly&lt;/u&gt;.");
        // The response body: the component's properties with types, required marks and a
        // recursive reference shown once, by name.
        position(&html, "data-testid=\"api-schema\"");
        position(&html, "<code class=\"schema-type\">Thing</code>");
        let name = &html[position(&html, "data-name=\"name\"")..];
        position(
            name,
            "<code class=\"schema-type\">string</code> <span class=\"required\">必須</span>",
        );
        position(name, "The &lt;b&gt;name&lt;/b&gt;");
        let parts = &html[position(&html, "data-name=\"parts\"")..];
        position(parts, "<code class=\"schema-type\">array of Thing</code>");
        position(parts, "data-name=\"parts\"");
        position(&html, "（再帰：上と同じ構造）");
        // The catalogue escapes the name too.
        let (_, _, html) = t.ui.get("/catalogue").await;
        position(&html, "Things &lt;i&gt;API&lt;/i&gt;");
    });
}

fn lacks(html: &str, needle: &str) {
    assert!(!html.contains(needle), "page has {needle:?}:\n{html}");
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
