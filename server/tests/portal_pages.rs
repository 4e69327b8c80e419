//! The accounts pages of the portal UI as the server renders them: Japanese by default, English
//! by `?lang=` (remembered in a cookie), the environment banner on every page, the doc pages from
//! Markdown, and each account / operator page answering with its form or its login gate.

use axum::http::{HeaderMap, StatusCode, header};
use renkei::portal_ui::ui_router_with;
use renkei_app::UiSettings;
use renkei_app::model::{ApiDetail, ApiSummary, BoxFuture, ExchangeView, PortalData};
use std::{path::PathBuf, sync::Arc, sync::LazyLock};

/// No APIs, no exchanges: these pages do not read the catalogue.
struct NoData;

impl PortalData for NoData {
    fn list_apis(&self) -> BoxFuture<'_, Result<Vec<ApiSummary>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn api_detail(&self, _: String) -> BoxFuture<'_, Result<Option<ApiDetail>, String>> {
        Box::pin(async { Ok(None) })
    }
    fn recent_exchanges(&self, _: u64) -> BoxFuture<'_, Result<Vec<ExchangeView>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

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

struct Ui {
    base: String,
    client: reqwest::Client,
}

impl Ui {
    async fn start(environment: Option<&str>) -> Ui {
        let site_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site");
        let router = ui_router_with(
            Arc::new(NoData),
            site_root,
            UiSettings {
                environment: environment.map(str::to_owned),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Ui {
            base: format!("http://{addr}"),
            client: renkei::tls::http_client(),
        }
    }

    async fn get_with(&self, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        self.get_with(path, None).await
    }
}

#[track_caller]
fn has(html: &str, needle: &str) {
    assert!(html.contains(needle), "page lacks {needle:?}:\n{html}");
}

#[track_caller]
fn lacks(html: &str, needle: &str) {
    assert!(!html.contains(needle), "page has {needle:?}:\n{html}");
}

#[test]
fn home_page_is_japanese_by_default_with_notices_and_login_links() {
    run(async {
        let ui = Ui::start(None).await;
        let (status, headers, html) = ui.get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get(header::SET_COOKIE).is_none());
        for needle in [
            "<html lang=\"ja\">",
            "<title>お知らせ — renkei</title>",
            "data-testid=\"home-page\"",
            ">お知らせ</h1>",
            "法人データ連携ポータル",
            ">ホーム</a>",
            ">カタログ</a>",
            "href=\"/docs/guide\"",
            "data-testid=\"lang-en\"",
            "data-hydrated=\"false\"",
        ] {
            has(&html, needle);
        }
        // No environment configured: no banner.
        lacks(&html, "env-banner");
        lacks(&html, "renkei-environment");
        // English only where the catalogue says so.
        lacks(&html, ">Notices</h1>");
    });
}

#[test]
fn lang_query_switches_to_english_and_the_cookie_keeps_it() {
    run(async {
        let ui = Ui::start(None).await;
        let (status, headers, html) = ui.get("/signup?lang=en").await;
        assert_eq!(status, StatusCode::OK);
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("renkei_lang=en;"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        has(&html, "<html lang=\"en\">");
        has(&html, ">Apply for an account</h1>");
        has(&html, "Organisation name");
        lacks(&html, "組織名");
        // The switch back keeps the page and replaces only `lang`.
        has(&html, "href=\"/signup?lang=ja\"");

        let (_, headers, html) = ui.get_with("/login", Some("renkei_lang=en")).await;
        assert!(headers.get(header::SET_COOKIE).is_none());
        has(&html, "<html lang=\"en\">");
        has(&html, ">Log in</h1>");

        // The query wins over the cookie; an unknown language is Japanese.
        let (_, _, html) = ui.get_with("/login?lang=ja", Some("renkei_lang=en")).await;
        has(&html, "<html lang=\"ja\">");
        let (_, headers, html) = ui.get("/login?lang=fr").await;
        assert!(headers.get(header::SET_COOKIE).is_none());
        has(&html, "<html lang=\"ja\">");
        has(&html, ">ログイン</h1>");

        // Other query parameters (a mailed link's token) survive the switch.
        let (_, _, html) = ui.get("/password-reset?token=abc-123").await;
        has(&html, "href=\"/password-reset?token=abc-123&amp;lang=en\"");
    });
}

#[test]
fn environment_banner_is_on_every_page_when_configured() {
    run(async {
        let ui = Ui::start(Some("外部接続環境")).await;
        for (path, expected) in [
            ("/", StatusCode::OK),
            ("/signup", StatusCode::OK),
            ("/catalogue", StatusCode::OK),
            ("/operator/audit", StatusCode::OK),
            ("/docs/faq", StatusCode::OK),
            ("/no/such/page", StatusCode::NOT_FOUND),
        ] {
            let (status, _, html) = ui.get(path).await;
            assert_eq!(status, expected, "{path}");
            has(&html, "data-testid=\"env-banner\"");
            has(&html, "外部接続環境</div>");
            has(
                &html,
                "<meta name=\"renkei-environment\" content=\"外部接続環境\">",
            );
        }
    });
}

#[test]
fn doc_pages_render_markdown_in_the_chosen_language() {
    run(async {
        let ui = Ui::start(None).await;
        let (status, _, html) = ui.get("/docs/guide").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "<title>ご利用ガイド — renkei</title>");
        has(&html, "<h1>ご利用ガイド</h1>");
        has(&html, "<a href=\"/signup\">利用申請</a>");
        has(&html, "<ol>");

        let (status, _, html) = ui.get("/docs/faq?lang=en").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "<h1>Frequently asked questions</h1>");

        let (status, _, html) = ui.get("/docs/no-such-doc").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        has(&html, "ドキュメント「no-such-doc」は見つかりません");
    });
}

#[test]
fn account_pages_render_their_forms() {
    run(async {
        let ui = Ui::start(None).await;
        let forms: [(&str, &[&str]); 6] = [
            (
                "/signup",
                &[
                    "input-organisation_name",
                    "input-corporate_number",
                    "input-contact_name",
                    "input-email",
                    "input-password",
                    ">申請する</button>",
                ],
            ),
            (
                "/login",
                &["input-email", "input-password", "href=\"/password-reset\""],
            ),
            (
                "/password-reset",
                &["input-email", ">リンクを送る</button>"],
            ),
            (
                "/password-reset?token=abc",
                &[
                    "input-password",
                    ">パスワードを設定する</button>",
                    "新しいパスワード",
                ],
            ),
            ("/invitation?token=abc", &["input-password", "招待の受諾"]),
            ("/email-change?token=abc", &[">変更を確定する</button>"]),
        ];
        for (path, needles) in forms {
            let (status, _, html) = ui.get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            for needle in needles {
                has(&html, needle);
            }
            // Before hydration nothing can be submitted (so no password can end up in a URL).
            has(&html, "disabled");
            // And were it submitted anyway, it would go as a POST body, not in the URL.
            has(&html, "<form method=\"post\"");
        }
        // A link without its token says so instead of showing a form.
        for path in ["/email-change", "/invitation"] {
            let (status, _, html) = ui.get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            has(&html, "data-testid=\"missing-token\"");
            lacks(&html, "input-password");
        }
        // Pages behind a login render their frame; the browser loads the data with the session.
        for (path, title) in [
            ("/account", "アカウント"),
            ("/org/members", "メンバー"),
            ("/operator/organisations", "利用申請の審査"),
            ("/operator/accounts", "アカウント一覧"),
            ("/operator/audit", "監査ログ"),
            ("/operator/outbox", "送信メール"),
            ("/operator/notices", "お知らせの配信"),
        ] {
            let (status, _, html) = ui.get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            has(&html, &format!("<title>{title} — renkei</title>"));
            has(&html, "読み込み中…");
        }
    });
}
