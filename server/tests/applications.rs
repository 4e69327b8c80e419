//! Systems, API publication, catalogue search and API-use applications over HTTP, against a real
//! portal on 127.0.0.1:0 with an SQLite file: publish → search → apply → decide → history → mails,
//! the 409 cases, comments with markup, isolation between organisations, and the node bundles.

use renkei::{
    accounts::AccountsConfig,
    keys::NodeKey,
    portal::{self, PortalConfig, PortalState},
    storage::{
        self,
        entity::{
            account, audit_log, mail_outbox, organisation, portal_api_application,
            portal_application, portal_node,
        },
    },
};
use renkei_standard::CorporateNumber;
use reqwest::StatusCode;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const PW: &str = "Kaisha-no-passw0rd";
const OPERATOR: &str = "operator@renkei.test";
const PROVIDER: &str = "admin@provider.test";
const REQUESTER: &str = "admin@requester.test";
const REQUESTER_MEMBER: &str = "member@requester.test";
const OTHER: &str = "admin@other.test";

fn corporate_number(base: &str) -> String {
    (0..=9)
        .map(|d| format!("{d}{base}"))
        .find(|n| CorporateNumber::parse(n).is_ok())
        .expect("a check digit fits")
}

struct TestApp {
    url: String,
    state: Arc<PortalState>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// A portal with an operator and three approved organisations: provider, requester, other.
    async fn start() -> TestApp {
        TestApp::start_on(None).await
    }

    /// The same on the database at `url` (SQLite file in a temp dir when `None`).
    async fn start_on(url: Option<String>) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = PortalState::open(PortalConfig {
            listen: "127.0.0.1:0".into(),
            database_url: url.unwrap_or_else(|| storage::sqlite_url(&dir.path().join("portal.db"))),
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
        let app = TestApp {
            url: format!("http://{addr}"),
            state,
            _dir: dir,
        };
        app.account(None, OPERATOR, "operator").await;
        let provider = app.org("提供株式会社", "000000000101").await;
        app.account(Some(provider), PROVIDER, "org_admin").await;
        let requester = app.org("申請株式会社", "000000000102").await;
        app.account(Some(requester), REQUESTER, "org_admin").await;
        app.account(Some(requester), REQUESTER_MEMBER, "org_member")
            .await;
        let other = app.org("無関係株式会社", "000000000103").await;
        app.account(Some(other), OTHER, "org_admin").await;
        app
    }

    async fn org(&self, name: &str, base: &str) -> i64 {
        organisation::ActiveModel {
            id: Default::default(),
            name: Set(name.into()),
            corporate_number: Set(corporate_number(base)),
            contact_name: Set("担当".into()),
            status: Set("approved".into()),
            review_comment: Set(None),
            created_at: Set(renkei::jst::now_rfc3339()),
            reviewed_at: Set(None),
        }
        .insert(&self.state.db)
        .await
        .unwrap()
        .id
    }

    async fn account(&self, org: Option<i64>, email: &str, role: &str) {
        account::ActiveModel {
            id: Default::default(),
            organisation_id: Set(org),
            email: Set(email.into()),
            display_name: Set(format!("{role} person")),
            password_hash: Set(renkei::password::hash(PW)),
            role: Set(role.into()),
            created_at: Set(renkei::jst::now_rfc3339()),
        }
        .insert(&self.state.db)
        .await
        .unwrap();
    }

    async fn login(&self, email: &str) -> Browser {
        let b = Browser {
            url: self.url.clone(),
            client: renkei::tls::http_client(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        };
        let (status, body) = b
            .post("/api/v1/login", json!({ "email": email, "password": PW }))
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        *b.csrf.lock().unwrap() = Some(body["csrf_token"].as_str().unwrap().to_owned());
        b
    }

    fn anonymous(&self) -> Browser {
        Browser {
            url: self.url.clone(),
            client: renkei::tls::http_client(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        }
    }

    async fn mails_to(&self, to: &str) -> Vec<mail_outbox::Model> {
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::ToAddr.eq(to))
            .order_by_asc(mail_outbox::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
    }

    async fn audit_actions(&self) -> Vec<String> {
        audit_log::Entity::find()
            .order_by_asc(audit_log::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect()
    }

    async fn bundle_row(&self, requester: &str, api: &str) -> Option<portal_application::Model> {
        portal_application::Entity::find()
            .filter(portal_application::Column::Requester.eq(requester))
            .filter(portal_application::Column::Api.eq(api))
            .one(&self.state.db)
            .await
            .unwrap()
    }
}

struct Browser {
    url: String,
    client: reqwest::Client,
    cookie: Mutex<Option<String>>,
    csrf: Mutex<Option<String>>,
}

impl Browser {
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

    fn parse(text: &str) -> Value {
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(text).unwrap_or(Value::String(text.into()))
        }
    }

    async fn get_raw(&self, path: &str) -> (StatusCode, String) {
        self.send(self.client.get(format!("{}{path}", self.url)))
            .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, t) = self.get_raw(path).await;
        (s, Self::parse(&t))
    }

    async fn csrf(&self) -> String {
        if self.csrf.lock().unwrap().is_none() {
            let (status, info) = self.get("/api/v1/session").await;
            assert_eq!(status, StatusCode::OK, "{info}");
            *self.csrf.lock().unwrap() = Some(info["csrf_token"].as_str().unwrap().to_owned());
        }
        self.csrf.lock().unwrap().clone().unwrap()
    }

    async fn post_raw(&self, path: &str, body: Value) -> (StatusCode, String) {
        let token = self.csrf().await;
        self.send(
            self.client
                .post(format!("{}{path}", self.url))
                .header("x-csrf-token", token)
                .json(&body),
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, t) = self.post_raw(path, body).await;
        (s, Self::parse(&t))
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let token = self.csrf().await;
        let (s, t) = self
            .send(
                self.client
                    .put(format!("{}{path}", self.url))
                    .header("x-csrf-token", token)
                    .json(&body),
            )
            .await;
        (s, Self::parse(&t))
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

fn openapi(version: &str) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Test API", "version": version },
        "paths": {
            "/v1/corporations/{corporate_number}": {
                "get": {
                    "parameters": [{ "name": "corporate_number", "in": "path", "required": true, "schema": { "type": "string" } }],
                    "responses": { "200": { "description": "the corporation" } }
                }
            }
        }
    })
}

fn api_form(slug: &str, name: &str, categories: &[&str], system: &str) -> Value {
    json!({
        "slug": slug,
        "name": name,
        "summary": format!("{name} の要約"),
        "description": "説明\n二行目",
        "system": system,
        "categories": categories,
        "scopes": ["basic", "finance", "x-nta"],
        "consent_required": false,
        "terms": "出典を明記すること",
        "path_template": "/v1/corporations/{corporate_number}",
        "openapi": openapi("1.0.0"),
    })
}

/// Registers a system for the logged-in admin's organisation and returns its client id.
async fn system(b: &Browser, client_id: &str) -> String {
    let (status, body) = b
        .post(
            "/api/v1/systems",
            json!({
                "client_id": client_id,
                "name": format!("{client_id} system"),
                "endpoint": format!("https://{client_id}.example.jp/"),
                "public_key": NodeKey::generate().public_b64(),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    client_id.to_owned()
}

/// Provider and requester with a system each, one published API (`corp-basic`), and one pending
/// application; returns (provider, requester, application id).
async fn pending_application(app: &TestApp) -> (Browser, Browser, i64) {
    let provider = app.login(PROVIDER).await;
    let requester = app.login(REQUESTER).await;
    system(&provider, "prov-node").await;
    system(&requester, "req-node").await;
    let (status, body) = provider
        .post(
            "/api/v1/published-apis",
            api_form("corp-basic", "法人基本情報", &["法人基本情報"], "prov-node"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = requester
        .post(
            "/api/v1/applications",
            json!({ "api": "corp-basic", "system": "req-node", "scopes": ["basic", "finance"], "purpose": "審査", "rate_limit_per_minute": 60 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        provider,
        requester,
        body["application"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn publish_search_apply_approve_with_narrowed_scopes_history_and_mails() {
    let app = TestApp::start().await;
    let provider = app.login(PROVIDER).await;
    let requester = app.login(REQUESTER).await;

    // Systems become nodes of the registry.
    let key = NodeKey::generate().public_b64();
    let (status, body) = provider
        .post("/api/v1/systems", json!({ "client_id": "prov-node", "name": "提供ノード", "endpoint": "https://prov.example.jp/", "public_key": key }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["system"]["endpoint"], "https://prov.example.jp");
    let node = portal_node::Entity::find_by_id("prov-node".to_owned())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (node.organisation.as_str(), node.public_key.as_str()),
        ("提供株式会社", key.as_str())
    );
    let (status, body) = provider
        .post("/api/v1/systems", json!({ "client_id": "prov-node", "name": "x", "endpoint": "https://x.example.jp", "public_key": key }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "client_id_taken"),
        "{body}"
    );
    let (status, body) = provider
        .post("/api/v1/systems", json!({ "client_id": "bad-key", "name": "x", "endpoint": "https://x.example.jp", "public_key": "AAAA" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_public_key"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("public_key:"),
        "{body}"
    );
    system(&requester, "req-node").await;

    // Three APIs; the third in a category the search does not ask for.
    for (slug, name, categories) in [
        (
            "corp-basic",
            "法人基本情報 API",
            vec!["法人基本情報", "国税庁"],
        ),
        ("grant-history", "補助金交付履歴 API", vec!["補助金"]),
        ("weather", "天気 API", vec!["気象"]),
    ] {
        let (status, body) = provider
            .post(
                "/api/v1/published-apis",
                api_form(slug, name, &categories, "prov-node"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["api"]["version"], "1.0.0");
        assert_eq!(body["provider_organisation"]["name"], "提供株式会社");
    }

    // Catalogue search without login: two categories OR, text, paging.
    let anon = app.anonymous();
    let (status, page) = anon.get("/api/v1/catalogue?category=%E6%B3%95%E4%BA%BA%E5%9F%BA%E6%9C%AC%E6%83%85%E5%A0%B1&category=%E8%A3%9C%E5%8A%A9%E9%87%91").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let slugs = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["slug"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(page["total"], 2);
    assert_eq!(
        slugs(&page),
        ["corp-basic", "grant-history"],
        "by name (法 U+6CD5 before 補 U+88DC): {page}"
    );
    let (_, page) = anon.get("/api/v1/catalogue?q=%E5%A4%A9%E6%B0%97").await; // 天気
    assert_eq!(slugs(&page), ["weather"]);
    let (_, page) = anon.get("/api/v1/catalogue?q=API+%E6%B3%95%E4%BA%BA").await; // every word must match
    assert_eq!(slugs(&page), ["corp-basic"]);
    let (_, all) = anon.get("/api/v1/catalogue?per_page=2").await;
    assert_eq!(
        (all["total"].as_u64(), all["pages"].as_u64()),
        (Some(3), Some(2))
    );
    let (_, second) = anon.get("/api/v1/catalogue?per_page=2&page=2").await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    let (_, whole) = anon.get("/api/v1/catalogue").await;
    let mut paged = slugs(&all);
    paged.extend(slugs(&second));
    assert_eq!(paged, slugs(&whole), "pages follow the same stable order");
    let (status, body) = anon.get("/api/v1/catalogue?per_page=0").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query"),
        "{body}"
    );
    let (status, detail) = anon.get("/api/v1/catalogue/corp-basic").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["openapi"]["info"]["title"], "Test API");
    assert_eq!(detail["terms"], "出典を明記すること");
    assert_eq!(detail["versions"][0]["version"], "1.0.0");
    let (status, body) = anon.get("/api/v1/catalogue/no-such-api").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    // Apply: markup and newlines in the comment are kept as typed.
    let comment = "<script>alert('x')</script>\n2 行目 & <b>太字</b>";
    let (status, raw) = requester
        .post_raw(
            "/api/v1/applications",
            json!({ "api": "corp-basic", "system": "req-node", "scopes": ["basic", "finance"], "purpose": "補助金の審査", "rate_limit_per_minute": 120, "comment": comment }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{raw}");
    assert!(
        !raw.contains("<script>") && raw.contains("\\u003cscript\\u003e"),
        "markup is JSON-escaped: {raw}"
    );
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(body["application"]["comment"], comment);
    assert_eq!(body["application"]["status"], "pending");
    assert_eq!(body["application"]["side"], "requester");
    let id = body["application"]["id"].as_i64().unwrap();
    let stored = portal_api_application::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.comment, comment, "stored verbatim");
    assert_eq!(app.mails_to(PROVIDER).await.len(), 1);
    assert_eq!(app.mails_to(REQUESTER).await.len(), 1);
    assert!(
        app.mails_to(PROVIDER).await[0]
            .subject
            .contains("API 利用申請が提出されました")
    );

    // The provider's list shows it as pending; a status filter narrows it.
    let (_, list) = provider
        .get("/api/v1/applications?side=provider&status=pending")
        .await;
    assert_eq!(list["applications"].as_array().unwrap().len(), 1);
    assert_eq!(list["applications"][0]["side"], "provider");
    let (_, list) = provider
        .get("/api/v1/applications?side=provider&status=approved")
        .await;
    assert_eq!(list["applications"], json!([]));
    let (_, list) = provider.get("/api/v1/applications?side=requester").await;
    assert_eq!(list["applications"], json!([]));
    let (status, body) = provider.get("/api/v1/applications?status=done").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_status")
    );

    // Approve with narrower scopes and a lower rate limit; a long comment is cut in the mail.
    let long = format!("{}\nおわり", "あ".repeat(250));
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/approve"),
            json!({ "scopes": ["basic"], "rate_limit_per_minute": 30, "comment": long }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], true);
    assert_eq!(body["application"]["status"], "approved");
    assert_eq!(body["application"]["granted_scopes"], json!(["basic"]));
    assert_eq!(body["application"]["granted_rate_limit_per_minute"], 30);
    let row = app
        .bundle_row("req-node", "corp-basic")
        .await
        .expect("approval written through");
    assert_eq!(
        (
            row.status.as_str(),
            row.scopes.as_str(),
            row.rate_limit_per_minute
        ),
        ("approved", "[\"basic\"]", 30)
    );
    let approved_mail = app.mails_to(REQUESTER).await.pop().unwrap();
    assert!(
        approved_mail.subject.contains("承認されました"),
        "{}",
        approved_mail.subject
    );
    assert!(
        approved_mail
            .body
            .contains(&format!("{}…", "あ".repeat(200))),
        "{}",
        approved_mail.body
    );
    assert!(!approved_mail.body.contains("おわり"));
    assert_eq!(app.mails_to(PROVIDER).await.len(), 2);

    // Repeating the same approval changes nothing; other terms, or a widening, are refused.
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/approve"),
            json!({ "scopes": ["basic"], "rate_limit_per_minute": 30 }),
        )
        .await;
    assert_eq!(
        (status, &body["changed"]),
        (StatusCode::OK, &json!(false)),
        "{body}"
    );
    let (status, body) = provider
        .post(&format!("/api/v1/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_approved"),
        "{body}"
    );
    let (status, body) = requester
        .post(&format!("/api/v1/applications/{id}/withdraw"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_approved"),
        "withdraw after approval: {body}"
    );
    assert_eq!(
        app.mails_to(PROVIDER).await.len(),
        2,
        "no mail for a refused or repeated transition"
    );

    // Both parties read the same history.
    let (status, mine) = requester.get(&format!("/api/v1/applications/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, theirs) = provider
        .get(&format!("/api/v1/applications/{id}/history"))
        .await;
    assert_eq!(mine["history"], theirs["history"]);
    let history = mine["history"].as_array().unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("submitted", REQUESTER), ("approved", PROVIDER)]);
    assert_eq!(history[0]["comment"], comment);
    assert_eq!(
        history[1]["detail"],
        json!({ "scopes": ["basic"], "rate_limit_per_minute": 30 })
    );
    assert_eq!(history[1]["from_status"], "pending");

    let audit = app.audit_actions().await;
    for action in [
        "system.register",
        "api.publish",
        "application.submit",
        "application.approve",
    ] {
        assert!(
            audit.iter().any(|a| a == action),
            "{action} audited: {audit:?}"
        );
    }
}

#[tokio::test]
async fn reject_withdraw_and_impossible_transitions() {
    let app = TestApp::start().await;
    let (provider, requester, id) = pending_application(&app).await;

    let (status, body) = requester
        .post("/api/v1/applications", json!({ "api": "corp-basic", "system": "req-node", "scopes": ["basic"], "purpose": "再", "rate_limit_per_minute": 60 }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "application_exists"),
        "{body}"
    );
    let (status, body) = requester
        .post(&format!("/api/v1/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not_provider"),
        "{body}"
    );
    let (status, body) = provider
        .post(&format!("/api/v1/applications/{id}/withdraw"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not_requester"),
        "{body}"
    );
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/revoke"),
            json!({ "comment": "x" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "not_approved"),
        "{body}"
    );
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/approve"),
            json!({ "scopes": ["certificate"] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_scope"),
        "scopes can only narrow: {body}"
    );

    // Reject needs a reason; then it is final.
    let (status, body) = provider
        .post(&format!("/api/v1/applications/{id}/reject"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "missing_field"),
        "{body}"
    );
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/reject"),
            json!({ "comment": "目的が不明確です。\n再申請してください。" }),
        )
        .await;
    assert_eq!(
        (status, &body["application"]["status"]),
        (StatusCode::OK, &json!("rejected")),
        "{body}"
    );
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/reject"),
            json!({ "comment": "again" }),
        )
        .await;
    assert_eq!(
        (status, &body["changed"]),
        (StatusCode::OK, &json!(false)),
        "{body}"
    );
    let (status, body) = provider
        .post(&format!("/api/v1/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_rejected"),
        "approve after reject: {body}"
    );
    let (status, body) = requester
        .post(&format!("/api/v1/applications/{id}/withdraw"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_rejected"),
        "{body}"
    );
    assert!(
        app.mails_to(REQUESTER)
            .await
            .last()
            .unwrap()
            .body
            .contains("目的が不明確です。\n再申請してください。")
    );
    assert!(
        app.bundle_row("req-node", "corp-basic").await.is_none(),
        "nothing reached the bundles"
    );

    // After a rejection the requester may apply again; a member may withdraw it.
    let member = app.login(REQUESTER_MEMBER).await;
    let (status, body) = member
        .post("/api/v1/applications", json!({ "api": "corp-basic", "system": "req-node", "scopes": ["basic"], "purpose": "再申請", "rate_limit_per_minute": 60 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second = body["application"]["id"].as_i64().unwrap();
    let (status, body) = member
        .post(&format!("/api/v1/applications/{second}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "a member does not decide: {body}"
    );
    let (status, body) = member
        .post_raw(
            &format!("/api/v1/applications/{second}/withdraw"),
            Value::Null,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a body that is not an object: {body}"
    );
    let token = member.csrf().await;
    let (status, body) = member
        .send(
            member
                .client
                .post(format!(
                    "{}/api/v1/applications/{second}/withdraw",
                    member.url
                ))
                .header("x-csrf-token", token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "withdraw without a body: {body}");
    let (status, body) = member
        .post(
            &format!("/api/v1/applications/{second}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &body["changed"]),
        (StatusCode::OK, &json!(false)),
        "{body}"
    );
    let (status, body) = provider
        .post(&format!("/api/v1/applications/{second}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_withdrawn"),
        "{body}"
    );

    let (_, list) = requester.get("/api/v1/applications?side=requester").await;
    let statuses: Vec<_> = list["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["withdrawn", "rejected"], "newest first");
    let (_, history) = provider
        .get(&format!("/api/v1/applications/{second}/history"))
        .await;
    let steps: Vec<_> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["submitted", "withdrawn"],
        "repeats leave no history"
    );
}

#[tokio::test]
async fn other_organisations_can_neither_read_nor_decide() {
    let app = TestApp::start().await;
    let (_provider, _requester, id) = pending_application(&app).await;
    let other = app.login(OTHER).await;
    let (status, body) = other.get(&format!("/api/v1/applications/{id}")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = other
        .get(&format!("/api/v1/applications/{id}/history"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for action in ["approve", "reject", "withdraw", "revoke"] {
        let (status, body) = other
            .post(
                &format!("/api/v1/applications/{id}/{action}"),
                json!({ "comment": "x" }),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{action}: {body}"
        );
    }
    let (_, list) = other.get("/api/v1/applications").await;
    assert_eq!(
        list["applications"],
        json!([]),
        "an empty list, not an error"
    );
    let (status, _) = other.get("/api/v1/systems/req-node").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = other
        .put(
            "/api/v1/published-apis/corp-basic",
            api_form("corp-basic", "乗っ取り", &["x"], "prov-node"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "not_found"),
        "{body}"
    );
    // Nor can it apply through another organisation's system.
    let (status, body) = other
        .post("/api/v1/applications", json!({ "api": "corp-basic", "system": "req-node", "scopes": ["basic"], "purpose": "p", "rate_limit_per_minute": 1 }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_system"),
        "{body}"
    );
    let (_, systems) = other.get("/api/v1/systems").await;
    assert_eq!(systems["systems"], json!([]));

    // The operator sees everything but decides nothing.
    let operator = app.login(OPERATOR).await;
    let (_, list) = operator.get("/api/v1/applications").await;
    assert_eq!(list["applications"].as_array().unwrap().len(), 1);
    let (status, _) = operator
        .post(&format!("/api/v1/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // No login, no CSRF token: refused before anything changes.
    let anon = app.anonymous();
    let (status, body) = anon.get("/api/v1/applications").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let provider = app.login(PROVIDER).await;
    let (status, body) = provider
        .send(
            provider
                .client
                .post(format!("{}/api/v1/applications/{id}/approve", provider.url))
                .json(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("\"csrf\""), "{body}");
    let stored = portal_api_application::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "pending");
}

#[tokio::test]
async fn invalid_openapi_is_refused_naming_the_place_and_versions_and_unpublish() {
    let app = TestApp::start().await;
    let provider = app.login(PROVIDER).await;
    system(&provider, "prov-node").await;
    let cases = [
        (
            json!("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}"),
            "openapi: $.paths:",
        ),
        (
            json!({ "openapi": "2.0", "info": {}, "paths": {} }),
            "openapi: $.openapi:",
        ),
        (json!("{ not json"), "openapi: $: not valid JSON"),
        (
            json!({ "openapi": "3.0.3", "info": { "title": "t" }, "paths": {} }),
            "openapi: $.info:",
        ),
        (Value::Null, "openapi:"),
    ];
    for (doc, start) in cases {
        let mut form = api_form("bad-doc", "壊れた文書", &["x"], "prov-node");
        form["openapi"] = doc.clone();
        let (status, body) = provider.post("/api/v1/published-apis", form).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_openapi"),
            "{doc}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(start),
            "{message:?} should start with {start:?}"
        );
    }
    let mut form = api_form("bad-param", "壊れた引数", &["x"], "prov-node");
    form["openapi"]["paths"]["/v1/corporations/{corporate_number}"]["get"]["parameters"][0]["in"] =
        json!("nowhere");
    let (_, body) = provider.post("/api/v1/published-apis", form).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("openapi: $.paths./v1/corporations/{corporate_number}.get.parameters"),
        "{body}"
    );
    let mut form = api_form("other-system", "他人のシステム", &["x"], "someone-else");
    form["openapi"] = openapi("1.0.0");
    let (status, body) = provider.post("/api/v1/published-apis", form).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_system"),
        "{body}"
    );
    let mut form = api_form("bad-scope", "x", &["x"], "prov-node");
    form["scopes"] = json!(["everything"]);
    let (status, body) = provider.post("/api/v1/published-apis", form).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_scope"),
        "{body}"
    );

    // YAML is accepted and stored as JSON; versions add up; a label is used once.
    let mut form = api_form("yaml-api", "YAML の API", &["x"], "prov-node");
    form["openapi"] = json!(
        "openapi: 3.0.3\ninfo:\n  title: Y\n  version: 0.9.0\npaths:\n  /v1/x:\n    get:\n      responses:\n        '200': {description: ok}\n"
    );
    let (status, body) = provider.post("/api/v1/published-apis", form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["openapi"]["info"]["title"], "Y");
    let (status, body) = provider
        .post(
            "/api/v1/published-apis/yaml-api/versions",
            json!({ "openapi": openapi("2.0.0") }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["api"]["version"], "2.0.0");
    let versions: Vec<_> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2.0.0", "0.9.0"]);
    let (status, body) = provider
        .post(
            "/api/v1/published-apis/yaml-api/versions",
            json!({ "openapi": openapi("2.0.0") }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "duplicate_version"),
        "{body}"
    );
    let (status, body) = provider
        .post(
            "/api/v1/published-apis",
            api_form("yaml-api", "重複", &["x"], "prov-node"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "slug_taken"),
        "{body}"
    );

    // Unpublished: out of the catalogue, no new applications; repeating changes nothing.
    let (status, body) = provider
        .post("/api/v1/published-apis/yaml-api/unpublish", json!({}))
        .await;
    assert_eq!(
        (status, &body["changed"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    let (_, body) = provider
        .post("/api/v1/published-apis/yaml-api/unpublish", json!({}))
        .await;
    assert_eq!(body["changed"], false);
    let anon = app.anonymous();
    let (status, _) = anon.get("/api/v1/catalogue/yaml-api").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = anon.get("/api/v1/catalogue?q=yaml").await;
    assert_eq!(page["total"], 0);
    let (_, own) = provider.get("/api/v1/published-apis").await;
    assert_eq!(
        own["apis"][0]["status"], "unpublished",
        "the owner still sees it: {own}"
    );
    let requester = app.login(REQUESTER).await;
    system(&requester, "req-node").await;
    let (status, body) = requester
        .post("/api/v1/applications", json!({ "api": "yaml-api", "system": "req-node", "scopes": ["basic"], "purpose": "p", "rate_limit_per_minute": 1 }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "api_unpublished"),
        "{body}"
    );
}

#[tokio::test]
async fn approval_reaches_the_providers_bundle_and_revocation_removes_it() {
    let app = TestApp::start().await;
    bundle_follows_decisions(&app).await;
}

/// Search, decisions and bundles on PostgreSQL (LIKE, escapes, subqueries and counts differ).
#[tokio::test]
async fn the_workflow_runs_on_postgresql() {
    let Some(db) = renkei::storage::scratch::ScratchDatabase::postgres().await else {
        return;
    };
    let app = TestApp::start_on(Some(db.url.clone())).await;
    bundle_follows_decisions(&app).await;
    let anon = app.anonymous();
    let (status, page) = anon.get("/api/v1/catalogue?q=%E6%B3%95%E4%BA%BA&category=%E6%B3%95%E4%BA%BA%E5%9F%BA%E6%9C%AC%E6%83%85%E5%A0%B1&category=x").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1, "{page}");
    let (_, page) = anon.get("/api/v1/catalogue?q=100%25").await;
    assert_eq!(page["total"], 0, "% is a literal: {page}");
    let (status, cats) = anon.get("/api/v1/catalogue/categories").await;
    assert_eq!(status, StatusCode::OK, "{cats}");
    assert_eq!(
        cats["categories"],
        json!([{ "category": "法人基本情報", "apis": 1 }])
    );
}

async fn bundle_follows_decisions(app: &TestApp) {
    let (provider, requester, id) = pending_application(app).await;
    let grants = |bundle: renkei::bundle::NodeBundle| {
        bundle
            .applications
            .into_iter()
            .filter(|a| a.requester == "req-node" && a.api == "corp-basic")
            .map(|a| (a.provider, a.scopes, a.rate_limit_per_minute))
            .collect::<Vec<_>>()
    };
    let before = app
        .state
        .build_bundle("prov-node")
        .await
        .unwrap()
        .expect("the provider system is a node");
    assert!(
        before.nodes.iter().any(|n| n.client_id == "req-node"),
        "the requester's system is in the node list"
    );
    assert_eq!(
        grants(before),
        vec![],
        "pending: the provider node lets nobody in"
    );

    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/approve"),
            json!({ "scopes": ["basic"], "rate_limit_per_minute": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let approved = app.state.build_bundle("prov-node").await.unwrap().unwrap();
    assert_eq!(
        grants(approved),
        vec![("prov-node".to_owned(), vec!["basic".to_owned()], 10)]
    );
    let requester_side = app.state.build_bundle("req-node").await.unwrap().unwrap();
    assert_eq!(
        grants(requester_side).len(),
        1,
        "the requester node knows its approval too"
    );

    let (status, body) = provider
        .post(&format!("/api/v1/applications/{id}/revoke"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "missing_field"),
        "a revocation needs a reason: {body}"
    );
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/revoke"),
            json!({ "comment": "契約終了" }),
        )
        .await;
    assert_eq!(
        (status, &body["application"]["status"]),
        (StatusCode::OK, &json!("revoked")),
        "{body}"
    );
    let revoked = app.state.build_bundle("prov-node").await.unwrap().unwrap();
    assert_eq!(grants(revoked), vec![], "revocation takes it away");
    let (status, body) = provider
        .post(
            &format!("/api/v1/applications/{id}/revoke"),
            json!({ "comment": "again" }),
        )
        .await;
    assert_eq!((status, &body["changed"]), (StatusCode::OK, &json!(false)));
    let (status, body) = provider
        .post(&format!("/api/v1/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_revoked"),
        "{body}"
    );
    let (_, detail) = requester.get(&format!("/api/v1/applications/{id}")).await;
    let steps: Vec<_> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["submitted", "approved", "revoked"]);
    assert!(
        app.mails_to(REQUESTER)
            .await
            .last()
            .unwrap()
            .subject
            .contains("取り消されました")
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "application.revoke")
    );

    // A new application after the revocation can be approved again, and is back in the bundle.
    let (status, body) = requester
        .post("/api/v1/applications", json!({ "api": "corp-basic", "system": "req-node", "scopes": ["x-nta"], "purpose": "再開", "rate_limit_per_minute": 5 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let again = body["application"]["id"].as_i64().unwrap();
    let (status, _) = provider
        .post(&format!("/api/v1/applications/{again}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let back = app.state.build_bundle("prov-node").await.unwrap().unwrap();
    assert_eq!(
        grants(back),
        vec![("prov-node".to_owned(), vec!["x-nta".to_owned()], 5)]
    );
}

#[tokio::test]
async fn demo_seed_makes_the_approval_an_application_with_history() {
    let app = TestApp::start().await;
    let provider_org = app.org("デモ提供者", "000000000201").await;
    app.account(Some(provider_org), "provider-admin@demo.test", "org_admin")
        .await;
    let requester_org = app.org("デモ申請者", "000000000202").await;
    app.account(
        Some(requester_org),
        "requester-admin@demo.test",
        "org_admin",
    )
    .await;
    for (id, org) in [
        (renkei::demo::PROVIDER_ID, "p"),
        (renkei::demo::REQUESTER_ID, "r"),
    ] {
        app.state
            .register_node(portal_node::Model {
                client_id: id.into(),
                organisation: org.into(),
                endpoint: "http://127.0.0.1:1".into(),
                public_key: NodeKey::generate().public_b64(),
            })
            .await
            .unwrap();
    }
    app.state
        .publish_api(renkei::demo::catalogue_entry())
        .await
        .unwrap();
    let seed = || renkei::portal::applications::DemoApplication {
        provider_admin: "provider-admin@demo.test",
        requester_admin: "requester-admin@demo.test",
        provider_client_id: renkei::demo::PROVIDER_ID,
        requester_client_id: renkei::demo::REQUESTER_ID,
        api: renkei::demo::API_SLUG,
        scopes: vec!["basic".into(), "x-nta".into()],
        rate_limit_per_minute: 600,
    };
    renkei::portal::applications::seed_demo(&app.state, seed())
        .await
        .unwrap();
    renkei::portal::applications::seed_demo(&app.state, seed())
        .await
        .unwrap();
    // A restart publishes the entry again without an owner: the owner stays.
    app.state
        .publish_api(renkei::demo::catalogue_entry())
        .await
        .unwrap();
    let rows = portal_api_application::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "seeded once");
    let provider = app.login("provider-admin@demo.test").await;
    let (status, detail) = provider
        .get(&format!("/api/v1/applications/{}", rows[0].id))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["application"]["status"], "approved");
    assert_eq!(detail["application"]["side"], "provider");
    let steps: Vec<_> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["submitted", "approved"]);
    let (_, own) = provider.get("/api/v1/published-apis").await;
    assert_eq!(own["apis"][0]["slug"], renkei::demo::API_SLUG);
}
