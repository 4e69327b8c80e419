//! The systems, published-API and API-use application pages as the server renders them for a
//! logged-in user, against a real portal on 127.0.0.1:0 (SQLite file): the page arrives with the
//! user's own data (read through the portal's REST API in-process with the request's cookie), the
//! empty states, the login gate, and comments with markup and newlines rendered as escaped text.

use renkei::{
    accounts::AccountsConfig,
    keys::NodeKey,
    portal::{self, PortalConfig, PortalState},
    storage::{
        self,
        entity::{account, organisation},
    },
};
use renkei_standard::CorporateNumber;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use std::sync::{Arc, LazyLock, Mutex};

const PW: &str = "Kaisha-no-passw0rd";
const PROVIDER: &str = "admin@provider.test";
const REQUESTER: &str = "admin@requester.test";
const OTHER: &str = "admin@other.test";
const API_NAME: &str = "法人基本情報 UI テスト";
const COMMENT: &str = "<script>alert('x')</script>\n2行目 <b>太字</b> & co";

/// One multi-threaded runtime for all tests, as the portal process has.
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

fn corporate_number(base: &str) -> String {
    (0..=9)
        .map(|d| format!("{d}{base}"))
        .find(|n| CorporateNumber::parse(n).is_ok())
        .expect("a check digit fits")
}

struct Portal {
    url: String,
    state: Arc<PortalState>,
    _dir: tempfile::TempDir,
}

impl Portal {
    /// A portal with three approved organisations (provider, requester, other), one admin each.
    async fn start() -> Portal {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = PortalState::open(PortalConfig {
            listen: "127.0.0.1:0".into(),
            database_url: storage::sqlite_url(&dir.path().join("portal.db")),
            key_file: dir.path().join("portal.key.pem"),
            site_root: dir.path().join("site"),
            bundle_lifetime_secs: portal::DEFAULT_BUNDLE_LIFETIME_SECS,
            accounts: AccountsConfig::default(),
            tls: None,
            log_retention_months: 12,
        })
        .await
        .expect("portal opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = portal::serve_listener(state.clone(), listener)
            .await
            .unwrap();
        let p = Portal {
            url: format!("http://{addr}"),
            state,
            _dir: dir,
        };
        for (name, base, email) in [
            ("提供株式会社", "000000000201", PROVIDER),
            ("申請株式会社", "000000000202", REQUESTER),
            ("無関係株式会社", "000000000203", OTHER),
        ] {
            let org = organisation::ActiveModel {
                id: Default::default(),
                name: Set(name.into()),
                corporate_number: Set(corporate_number(base)),
                contact_name: Set("担当".into()),
                status: Set("approved".into()),
                review_comment: Set(None),
                created_at: Set(renkei::jst::now_rfc3339()),
                reviewed_at: Set(None),
            }
            .insert(&p.state.db)
            .await
            .unwrap();
            account::ActiveModel {
                id: Default::default(),
                organisation_id: Set(Some(org.id)),
                email: Set(email.into()),
                display_name: Set("管理者".into()),
                password_hash: Set(renkei::password::hash(PW)),
                role: Set("org_admin".into()),
                created_at: Set(renkei::jst::now_rfc3339()),
            }
            .insert(&p.state.db)
            .await
            .unwrap();
        }
        p
    }

    async fn login(&self, email: &str) -> User {
        let user = User {
            url: self.url.clone(),
            client: renkei::tls::http_client(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        };
        let (status, body) = user
            .post("/api/v1/login", json!({ "email": email, "password": PW }))
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        *user.csrf.lock().unwrap() = Some(body["csrf_token"].as_str().unwrap().to_owned());
        user
    }

    fn anonymous(&self) -> User {
        User {
            url: self.url.clone(),
            client: renkei::tls::http_client(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        }
    }
}

/// One person's cookies and CSRF token.
struct User {
    url: String,
    client: reqwest::Client,
    cookie: Mutex<Option<String>>,
    csrf: Mutex<Option<String>>,
}

impl User {
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, String) {
        let mut request = request;
        if let Some(c) = self.cookie.lock().unwrap().clone() {
            request = request.header("cookie", format!("renkei_session={c}"));
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        for set in response.headers().get_all("set-cookie") {
            if let Some(rest) = set.to_str().unwrap().strip_prefix("renkei_session=") {
                let value = rest.split(';').next().unwrap();
                *self.cookie.lock().unwrap() = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        (status, response.text().await.unwrap())
    }

    /// A page as the browser first receives it (server-rendered HTML).
    async fn page(&self, path: &str) -> (StatusCode, String) {
        self.send(self.client.get(format!("{}{path}", self.url)))
            .await
    }

    async fn csrf(&self) -> String {
        if self.csrf.lock().unwrap().is_none() {
            let (_, text) = self
                .send(self.client.get(format!("{}/api/v1/session", self.url)))
                .await;
            let info: Value = serde_json::from_str(&text).unwrap();
            *self.csrf.lock().unwrap() = Some(info["csrf_token"].as_str().unwrap().to_owned());
        }
        self.csrf.lock().unwrap().clone().unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let token = self.csrf().await;
        let (status, text) = self
            .send(
                self.client
                    .post(format!("{}{path}", self.url))
                    .header("x-csrf-token", token)
                    .json(&body),
            )
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
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

/// How many times `needle` occurs.
fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

async fn register_system(user: &User, client_id: &str) {
    let (status, body) = user
        .post(
            "/api/v1/systems",
            json!({
                "client_id": client_id,
                "name": format!("{client_id} のシステム"),
                "endpoint": format!("https://{client_id}.example.jp"),
                "public_key": NodeKey::generate().public_b64(),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Provider publishes `corp-ui` on its system; the requester applies with [`COMMENT`].
/// Returns (provider, requester, application id).
async fn one_application(p: &Portal) -> (User, User, i64) {
    let provider = p.login(PROVIDER).await;
    let requester = p.login(REQUESTER).await;
    register_system(&provider, "prov-ui").await;
    register_system(&requester, "req-ui").await;
    let (status, body) = provider
        .post(
            "/api/v1/published-apis",
            json!({
                "slug": "corp-ui",
                "name": API_NAME,
                "summary": "要約",
                "system": "prov-ui",
                "categories": ["法人基本情報"],
                "scopes": ["basic", "finance"],
                "path_template": "/v1/corporations/{n}",
                "openapi": {
                    "openapi": "3.0.3",
                    "info": { "title": "T", "version": "1.0.0" },
                    "paths": { "/v1/corporations/{n}": { "get": {
                        "parameters": [{ "name": "n", "in": "path", "required": true, "schema": { "type": "string" } }],
                        "responses": { "200": { "description": "ok" } }
                    } } }
                },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = requester
        .post(
            "/api/v1/applications",
            json!({
                "api": "corp-ui",
                "system": "req-ui",
                "scopes": ["basic", "finance"],
                "purpose": "与信審査\n（年 1 回）",
                "rate_limit_per_minute": 30,
                "comment": COMMENT,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["application"]["id"].as_i64().unwrap();
    (provider, requester, id)
}

#[test]
fn requester_and_provider_see_the_application_in_their_lists() {
    run(async {
        let p = Portal::start().await;
        let (provider, requester, id) = one_application(&p).await;

        let (status, html) = requester.page("/applications").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "<title>API 利用申請 — renkei</title>");
        assert_eq!(count(&html, "data-testid=\"application-row\""), 1, "{html}");
        has(&html, &format!("data-id=\"{id}\""));
        has(&html, "data-status=\"pending\"");
        has(&html, API_NAME);
        has(&html, "提供株式会社");
        has(&html, "<code>req-ui</code>");
        has(&html, ">審査中</span>");
        has(&html, &format!("href=\"/applications/{id}\""));
        // The requester tab is the current one; the provider tab keeps no filter.
        has(&html, "href=\"/applications?side=provider\"");
        lacks(&html, "data-testid=\"empty-state\"");
        lacks(&html, "data-testid=\"need-login\"");

        // The provider sees it on its side, naming the requester.
        let (status, html) = provider.page("/applications?side=provider").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(count(&html, "data-testid=\"application-row\""), 1, "{html}");
        has(&html, "申請株式会社");

        // The status filter keeps matching applications only.
        let (_, html) = provider
            .page("/applications?side=provider&status=pending")
            .await;
        assert_eq!(count(&html, "data-testid=\"application-row\""), 1, "{html}");
        has(&html, "<option value=\"pending\" selected");

        // English on request.
        let (_, html) = requester.page("/applications?lang=en").await;
        has(&html, ">As requester</a>");
        has(&html, ">Pending</span>");
    });
}

#[test]
fn empty_lists_show_an_empty_state_and_strangers_see_nothing() {
    run(async {
        let p = Portal::start().await;
        let (_provider, requester, _) = one_application(&p).await;

        // The requester provides nothing: its provider side is empty.
        let (status, html) = requester.page("/applications?side=provider").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "data-testid=\"empty-state\"");
        has(&html, "あなたの API への申請はまだありません。");
        assert_eq!(count(&html, "data-testid=\"application-row\""), 0);

        // A filter that matches nothing says so and offers to clear it.
        let (_, html) = requester.page("/applications?status=approved").await;
        has(&html, "data-testid=\"empty-state\"");
        has(&html, "この状態の申請はありません。");
        has(&html, "href=\"/applications?side=requester\"");

        // Another organisation sees none of it, on either side.
        let other = p.login(OTHER).await;
        for path in ["/applications", "/applications?side=provider"] {
            let (status, html) = other.page(path).await;
            assert_eq!(status, StatusCode::OK);
            has(&html, "data-testid=\"empty-state\"");
            lacks(&html, API_NAME);
        }
        let (_, html) = other.page("/applications").await;
        has(&html, "まだ API の利用を申請していません。");
        has(&html, "href=\"/catalogue\"");
    });
}

#[test]
fn comments_are_escaped_text_with_their_newlines() {
    run(async {
        let p = Portal::start().await;
        let (provider, requester, id) = one_application(&p).await;
        let escaped =
            "&lt;script&gt;alert('x')&lt;/script&gt;\n2行目 &lt;b&gt;太字&lt;/b&gt; &amp; co";

        for user in [&requester, &provider] {
            let (status, html) = user.page(&format!("/applications/{id}")).await;
            assert_eq!(status, StatusCode::OK);
            // Shown twice as text, newline kept: the application's comment and the history entry.
            assert_eq!(count(&html, escaped), 2, "{html}");
            has(
                &html,
                &format!("data-testid=\"application-comment\" class=\"user-text\">{escaped}</dd>"),
            );
            has(
                &html,
                &format!(
                    "data-testid=\"history-comment\" class=\"user-text history-comment\">{escaped}</p>"
                ),
            );
            lacks(&html, "<script>alert");
            lacks(&html, "<b>太字");
            has(&html, "与信審査\n（年 1 回）");
            has(&html, "data-action=\"submitted\"");
            has(&html, REQUESTER);
        }

        // Each side is offered its own actions: the provider decides, the requester may withdraw.
        let (_, html) = provider.page(&format!("/applications/{id}")).await;
        has(&html, "data-testid=\"decide\"");
        lacks(&html, "data-testid=\"withdraw-form\"");
        let (_, html) = requester.page(&format!("/applications/{id}")).await;
        has(&html, "data-testid=\"withdraw-form\"");
        lacks(&html, "data-testid=\"decide\"");

        // English on request, the user's text unchanged.
        let (_, html) = requester.page(&format!("/applications/{id}?lang=en")).await;
        has(&html, "<html lang=\"en\">");
        has(&html, ">History</h2>");
        has(&html, ">Withdraw the application</h2>");
        has(&html, ">Submitted</strong>");
        assert_eq!(count(&html, escaped), 2, "{html}");
        lacks(&html, ">履歴</h2>");

        // The stylesheet keeps the newlines of user text.
        let (_, css) = requester.page("/style.css").await;
        let rule = css.split(".user-text {").nth(1).expect("a .user-text rule");
        let rule = rule.split('}').next().unwrap();
        assert!(rule.contains("white-space: pre-wrap"), "{rule}");

        // After approval the history shows both steps with the granted terms.
        let (status, body) = provider
            .post(
                &format!("/api/v1/applications/{id}/approve"),
                json!({ "scopes": ["basic"], "rate_limit_per_minute": 10, "comment": "承認\n<i>OK</i>" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, html) = requester.page(&format!("/applications/{id}")).await;
        assert_eq!(count(&html, "data-testid=\"history-item\""), 2, "{html}");
        has(&html, "data-action=\"approved\"");
        has(&html, "承認\n&lt;i&gt;OK&lt;/i&gt;");
        has(&html, "data-testid=\"granted-rate\">10 回/分</dd>");
        has(&html, "data-status=\"approved\"");
        lacks(&html, "data-testid=\"withdraw-form\"");
    });
}

#[test]
fn pages_need_a_login_and_other_organisations_get_404() {
    run(async {
        let p = Portal::start().await;
        let (_provider, _requester, id) = one_application(&p).await;
        let anonymous = p.anonymous();
        for path in ["/applications", "/org/systems", "/org/apis"] {
            let (status, html) = anonymous.page(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            has(&html, "data-testid=\"need-login\"");
            lacks(&html, "data-testid=\"application-row\"");
        }
        let other = p.login(OTHER).await;
        let (status, html) = other.page(&format!("/applications/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        has(&html, "data-code=\"not_found\"");
        lacks(&html, "&lt;script&gt;");
    });
}

#[test]
fn systems_and_published_apis_are_listed_for_their_organisation() {
    run(async {
        let p = Portal::start().await;
        let (provider, requester, _) = one_application(&p).await;

        let (status, html) = requester.page("/org/systems").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "data-client-id=\"req-ui\"");
        has(&html, "https://req-ui.example.jp");
        lacks(&html, "prov-ui");
        has(&html, "data-testid=\"system-form\"");

        let (status, html) = provider.page("/org/apis").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "data-slug=\"corp-ui\"");
        has(&html, API_NAME);
        has(&html, "data-testid=\"publish-form\"");
        // Every standard-data scope is offered.
        for (scope, _) in renkei_standard::SCOPES {
            has(&html, &format!("data-testid=\"scopes-{scope}\""));
        }

        // The requester publishes nothing: an empty state, and its system in the form's choice.
        let (_, html) = requester.page("/org/apis").await;
        has(&html, "data-testid=\"empty-state\"");
        has(&html, "<option value=\"req-ui\" selected");

        // Applying: the API's scopes, ticked, and my systems.
        let (status, html) = requester.page("/applications/new?api=corp-ui").await;
        assert_eq!(status, StatusCode::OK);
        has(&html, "data-testid=\"scopes-basic\"");
        has(&html, "data-testid=\"scopes-finance\"");
        lacks(&html, "data-testid=\"scopes-officer_list\"");
        has(&html, "<option value=\"req-ui\" selected");
        let (status, html) = requester.page("/applications/new?api=no-such-api").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        has(&html, "data-code=\"not_found\"");
    });
}
