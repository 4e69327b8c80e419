//! Portal accounts over HTTP, against a real portal on 127.0.0.1:0 with an SQLite file: sign-up,
//! review, mails in the outbox, login, sessions, CSRF, throttling, links, members, role isolation.

use renkei::{
    accounts::{AccountsConfig, gate::BasicGate, throttle::ThrottlePolicy},
    portal::{self, PortalConfig, PortalState},
    storage::{
        self,
        entity::{account, audit_log, mail_outbox, organisation},
    },
};
use renkei_standard::CorporateNumber;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait, QueryOrder};
use serde_json::{Value, json};
use std::{sync::Arc, sync::Mutex, time::Duration};

const OPERATOR: &str = "operator@renkei.test";
const OPERATOR_PW: &str = "Operator-passw0rd";
const STRONG_PW: &str = "Kaisha-no-passw0rd";

/// A 13-digit corporate number with the check digit that fits `base` (12 digits).
fn corporate_number(base: &str) -> String {
    (0..=9)
        .map(|d| format!("{d}{base}"))
        .find(|n| CorporateNumber::parse(n).is_ok())
        .expect("a check digit fits")
}

/// A running portal with its own database, and direct access to that database for assertions.
struct TestApp {
    url: String,
    state: Arc<PortalState>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    async fn start() -> TestApp {
        TestApp::with(AccountsConfig::default()).await
    }

    async fn with(accounts: AccountsConfig) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = storage::sqlite_url(&dir.path().join("portal.db"));
        TestApp::on(url, dir, accounts).await
    }

    /// A portal on the database at `database_url` (SQLite or PostgreSQL).
    async fn on(database_url: String, dir: tempfile::TempDir, accounts: AccountsConfig) -> TestApp {
        let state = PortalState::open(PortalConfig {
            listen: "127.0.0.1:0".into(),
            database_url,
            key_file: dir.path().join("portal.key.pem"),
            site_root: dir.path().join("site"),
            bundle_lifetime_secs: portal::DEFAULT_BUNDLE_LIFETIME_SECS,
            accounts,
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
        app.insert_account(None, OPERATOR, OPERATOR_PW, "operator")
            .await;
        app
    }

    fn browser(&self) -> Browser {
        Browser {
            url: self.url.clone(),
            client: renkei::tls::http_client(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        }
    }

    async fn insert_account(
        &self,
        org: Option<i64>,
        email: &str,
        password: &str,
        role: &str,
    ) -> i64 {
        account::ActiveModel {
            id: Default::default(),
            organisation_id: Set(org),
            email: Set(email.into()),
            display_name: Set(format!("{role} person")),
            password_hash: Set(renkei::password::hash(password)),
            role: Set(role.into()),
            created_at: Set(renkei::jst::now_rfc3339()),
        }
        .insert(&self.state.db)
        .await
        .unwrap()
        .id
    }

    /// An approved organisation with one admin, straight into the database.
    async fn approved_org(&self, name: &str, base: &str, admin: &str) -> i64 {
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
        .insert(&self.state.db)
        .await
        .unwrap();
        self.insert_account(Some(org.id), admin, STRONG_PW, "org_admin")
            .await;
        org.id
    }

    async fn outbox(&self) -> Vec<mail_outbox::Model> {
        mail_outbox::Entity::find()
            .order_by_asc(mail_outbox::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
    }

    async fn mails_to(&self, to: &str) -> Vec<mail_outbox::Model> {
        self.outbox()
            .await
            .into_iter()
            .filter(|m| m.to_addr == to)
            .collect()
    }

    async fn audit(&self) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .order_by_asc(audit_log::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
    }

    async fn audit_actions(&self, action: &str) -> Vec<audit_log::Model> {
        self.audit()
            .await
            .into_iter()
            .filter(|a| a.action == action)
            .collect()
    }

    async fn counts(&self) -> (u64, u64, u64) {
        let db = &self.state.db;
        (
            organisation::Entity::find().count(db).await.unwrap(),
            account::Entity::find().count(db).await.unwrap(),
            mail_outbox::Entity::find().count(db).await.unwrap(),
        )
    }

    async fn operator(&self) -> Browser {
        let b = self.browser();
        b.login_ok(OPERATOR, OPERATOR_PW).await;
        b
    }
}

/// One browser: its own session cookie and CSRF token.
struct Browser {
    url: String,
    client: reqwest::Client,
    cookie: Mutex<Option<String>>,
    csrf: Mutex<Option<String>>,
}

impl Browser {
    fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    fn set_cookie(&self, value: &str) {
        *self.cookie.lock().unwrap() = Some(value.into());
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = request;
        if let Some(c) = self.cookie() {
            request = request.header("cookie", format!("renkei_session={c}"));
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            if let Some(rest) = set.strip_prefix("renkei_session=") {
                let value = rest.split(';').next().unwrap();
                *self.cookie.lock().unwrap() = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self
            .send(self.client.get(format!("{}{path}", self.url)))
            .await;
        (s, b)
    }

    /// Fetches the session's CSRF token first when there is none yet.
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        if self.csrf.lock().unwrap().is_none() {
            let (status, info) = self.get("/api/v1/session").await;
            assert_eq!(status, StatusCode::OK, "{info}");
            *self.csrf.lock().unwrap() = Some(info["csrf_token"].as_str().unwrap().to_owned());
        }
        let token = self.csrf.lock().unwrap().clone().unwrap();
        let (s, _, b) = self
            .send(
                self.client
                    .post(format!("{}{path}", self.url))
                    .header("x-csrf-token", token)
                    .json(&body),
            )
            .await;
        (s, b)
    }

    async fn post_raw(
        &self,
        path: &str,
        request: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> (StatusCode, Value) {
        let (s, _, b) = self
            .send(request(self.client.post(format!("{}{path}", self.url))))
            .await;
        (s, b)
    }

    async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let (status, body) = self
            .post(
                "/api/v1/login",
                json!({ "email": email, "password": password }),
            )
            .await;
        if status == StatusCode::OK {
            *self.csrf.lock().unwrap() = Some(body["csrf_token"].as_str().unwrap().to_owned());
        }
        (status, body)
    }

    async fn login_ok(&self, email: &str, password: &str) -> Value {
        let (status, body) = self.login(email, password).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

fn link_token(body: &str) -> String {
    let at = body
        .find("token=")
        .unwrap_or_else(|| panic!("no link in {body}"))
        + "token=".len();
    body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn sign_up_form(email: &str, base: &str) -> Value {
    json!({
        "organisation_name": "株式会社テスト申請",
        "corporate_number": corporate_number(base),
        "contact_name": "申請 太郎",
        "email": email,
        "password": STRONG_PW,
    })
}

#[tokio::test]
async fn sign_up_then_approval_mails_the_applicant_and_lets_them_log_in() {
    let app = TestApp::start().await;
    let applicant = app.browser();
    let (status, body) = applicant
        .post(
            "/api/v1/signup",
            sign_up_form("Taro@Example.JP", "000000000001"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["organisation"]["status"], "pending");
    assert_eq!(
        body["organisation"]["corporate_number"],
        corporate_number("000000000001")
    );
    assert_eq!(body["account"]["email"], "taro@example.jp");
    assert_eq!(body["account"]["role"], "org_admin");
    let org_id = body["organisation"]["id"].as_i64().unwrap();
    let received = app.mails_to("taro@example.jp").await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].subject,
        "利用申請を受け付けました / We received your application"
    );

    // Pending: the right password still does not open the portal.
    let (status, body) = app.browser().login("taro@example.jp", STRONG_PW).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_pending")
    );

    let op = app.operator().await;
    let (status, body) = op
        .get("/api/v1/operator/organisations?status=pending")
        .await;
    assert_eq!(status, StatusCode::OK);
    let pending: Vec<&str> = body["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["株式会社テスト申請"]);

    let comment = format!("{}ここは切られる", "承".repeat(200));
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/organisations/{org_id}/approve"),
            json!({ "comment": comment }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["organisation"]["status"], "approved");
    assert_eq!(body["organisation"]["review_comment"], comment.as_str());

    let mails = app.mails_to("taro@example.jp").await;
    assert_eq!(mails.len(), 2);
    let approval = &mails[1];
    assert_eq!(
        approval.subject,
        "利用申請が承認されました / Your application was approved"
    );
    assert!(
        approval.body.contains(&format!("{}…", "承".repeat(200))),
        "{}",
        approval.body
    );
    assert!(
        !approval.body.contains("ここは切られる"),
        "comment cut at 200 characters"
    );
    let ja = approval.body.find("承認しました").unwrap();
    let en = approval.body.find("was approved").unwrap();
    assert!(ja < en, "Japanese first, then English");

    let reviews = app.audit_actions("organisation.approve").await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].actor, OPERATOR);
    assert_eq!(reviews[0].target, format!("organisation:{org_id}"));
    assert!(
        reviews[0].time.ends_with("+09:00"),
        "JST: {}",
        reviews[0].time
    );

    let applicant = app.browser();
    let body = applicant.login_ok("taro@example.jp", STRONG_PW).await;
    assert_eq!(body["account"]["role"], "org_admin");
    let (status, me) = applicant.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["organisation"]["status"], "approved");
    assert_eq!(me["account"]["email"], "taro@example.jp");

    // Reviewed once: a second decision is refused and changes nothing.
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/organisations/{org_id}/reject"),
            json!({ "comment": "late" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_reviewed")
    );
    let (_, me) = applicant.get("/api/v1/me").await;
    assert_eq!(me["organisation"]["status"], "approved");
}

#[tokio::test]
async fn rejection_needs_a_reason_and_is_mailed() {
    let app = TestApp::with(AccountsConfig {
        environment: Some("外部接続環境".into()),
        ..AccountsConfig::default()
    })
    .await;
    let (status, body) = app
        .browser()
        .post(
            "/api/v1/signup",
            sign_up_form("hanako@example.jp", "000000000002"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let org_id = body["organisation"]["id"].as_i64().unwrap();
    let op = app.operator().await;
    let path = format!("/api/v1/operator/organisations/{org_id}/reject");
    let (status, body) = op.post(&path, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "missing_field")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("comment:")
    );
    let (status, body) = op
        .post(&path, json!({ "comment": "法人番号と名称が一致しません" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["organisation"]["status"], "rejected");
    let mails = app.mails_to("hanako@example.jp").await;
    assert_eq!(
        mails.last().unwrap().subject,
        "[外部接続環境] 利用申請は承認されませんでした / Your application was not approved"
    );
    assert!(
        mails
            .last()
            .unwrap()
            .body
            .contains("法人番号と名称が一致しません")
    );
    assert!(
        mails
            .iter()
            .all(|m| m.subject.starts_with("[外部接続環境] "))
    );
    let (status, body) = app.browser().login("hanako@example.jp", STRONG_PW).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_rejected")
    );
    assert_eq!(
        app.audit_actions("organisation.reject").await[0].detail,
        "法人番号と名称が一致しません"
    );
}

#[tokio::test]
async fn bad_sign_ups_are_refused_with_the_field_named_and_nothing_stored() {
    let app = TestApp::start().await;
    let b = app.browser();
    let (status, _) = b
        .post(
            "/api/v1/signup",
            sign_up_form("first@example.jp", "000000000003"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = app.counts().await;

    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            sign_up_form("FIRST@example.jp", "000000000004"),
            StatusCode::CONFLICT,
            "duplicate_email",
            "email:",
        ),
        (
            sign_up_form("second@example.jp", "000000000003"),
            StatusCode::CONFLICT,
            "duplicate_corporate_number",
            "corporate_number:",
        ),
        (
            {
                let mut f = sign_up_form("third@example.jp", "000000000005");
                f["corporate_number"] = json!("1234567890123");
                f
            },
            StatusCode::BAD_REQUEST,
            "invalid_corporate_number",
            "corporate_number:",
        ),
        (
            {
                let mut f = sign_up_form("third@example.jp", "000000000005");
                f["password"] = json!("short");
                f
            },
            StatusCode::BAD_REQUEST,
            "weak_password",
            "password:",
        ),
        (
            {
                let mut f = sign_up_form("third@example.jp", "000000000005");
                f["password"] = json!("onlylowercaseletters");
                f
            },
            StatusCode::BAD_REQUEST,
            "weak_password",
            "password:",
        ),
        (
            {
                let mut f = sign_up_form("third@example.jp", "000000000005");
                f["password"] = json!("third@example.jp");
                f
            },
            StatusCode::BAD_REQUEST,
            "weak_password",
            "password:",
        ),
        (
            {
                let mut f = sign_up_form("not-an-address", "000000000005");
                f["password"] = json!(STRONG_PW);
                f
            },
            StatusCode::BAD_REQUEST,
            "invalid_email",
            "email:",
        ),
        (
            {
                let mut f = sign_up_form("third@example.jp", "000000000005");
                f["organisation_name"] = json!("  ");
                f
            },
            StatusCode::BAD_REQUEST,
            "missing_field",
            "organisation_name:",
        ),
        (
            json!({ "email": "x@example.jp" }),
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "missing field",
        ),
    ];
    for (form, want_status, want_code, field) in cases {
        let (status, body) = b.post("/api/v1/signup", form.clone()).await;
        assert_eq!(
            (status, code(&body)),
            (want_status, want_code),
            "{form}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{want_code}: message {message:?} names {field}"
        );
    }
    assert_eq!(app.counts().await, before, "nothing was stored or mailed");
}

#[tokio::test]
async fn state_changing_requests_without_the_csrf_token_are_refused_and_logged() {
    let app = TestApp::start().await;
    let b = app.browser();
    let before = app.counts().await;
    let form = sign_up_form("csrf@example.jp", "000000000006");

    // No session, no token.
    let (status, body) = b.post_raw("/api/v1/signup", |r| r.json(&form)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    // A session, but the token left out.
    let (_, info) = b.get("/api/v1/session").await;
    let token = info["csrf_token"].as_str().unwrap().to_owned();
    let (status, body) = b.post_raw("/api/v1/signup", |r| r.json(&form)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    // A wrong token, in the header and as a form field.
    let (status, body) = b
        .post_raw("/api/v1/signup", |r| {
            r.header("x-csrf-token", "forged").json(&form)
        })
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    let (status, body) = b
        .post_raw("/api/v1/login", |r| {
            let body: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("email", OPERATOR),
                    ("password", OPERATOR_PW),
                    ("csrf_token", "forged"),
                ])
                .finish();
            r.header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        })
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    // Another browser's valid token is no good in this session.
    let other = app.browser();
    let (_, other_info) = other.get("/api/v1/session").await;
    let other_token = other_info["csrf_token"].as_str().unwrap().to_owned();
    let (status, body) = b
        .post_raw("/api/v1/signup", |r| {
            r.header("x-csrf-token", other_token).json(&form)
        })
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    assert_eq!(app.counts().await, before, "nothing changed");
    let refusals = app.audit_actions("security.csrf_refused").await;
    assert_eq!(
        refusals
            .iter()
            .map(|r| (r.target.as_str(), r.detail.as_str()))
            .collect::<Vec<_>>(),
        [
            ("/api/v1/signup", "no CSRF token in the session"),
            ("/api/v1/signup", "no CSRF token sent"),
            ("/api/v1/signup", "wrong CSRF token"),
            ("/api/v1/login", "wrong CSRF token"),
            ("/api/v1/signup", "wrong CSRF token"),
        ]
    );
    // The right token works: the form field form of it too.
    let (status, _) = b
        .post_raw("/api/v1/signup", |r| {
            r.header("x-csrf-token", token).json(&form)
        })
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn sessions_cycle_at_login_and_refuse_tampered_or_ended_cookies() {
    let app = TestApp::start().await;
    let b = app.browser();
    let (_, headers, _) = b
        .send(b.client.get(format!("{}/api/v1/session", b.url)))
        .await;
    let set_cookie = headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "no TLS in the test: {set_cookie}"
    );
    let before_login = b.cookie().unwrap();
    b.login_ok(OPERATOR, OPERATOR_PW).await;
    let after_login = b.cookie().unwrap();
    assert_ne!(before_login, after_login, "session id cycled at login");
    assert_eq!(b.get("/api/v1/me").await.1["account"]["email"], OPERATOR);

    // The pre-login id is dead.
    let stale = app.browser();
    stale.set_cookie(&before_login);
    let (status, body) = stale.get("/api/v1/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );

    // A tampered cookie (one character changed) and garbage are refused and logged.
    let mut chars: Vec<char> = after_login.chars().collect();
    chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
    for cookie in [
        chars.into_iter().collect::<String>(),
        "not-a-session".to_owned(),
    ] {
        let forged = app.browser();
        forged.set_cookie(&cookie);
        let (status, body) = forged.get("/api/v1/operator/accounts").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{cookie}"
        );
    }
    assert_eq!(
        app.audit_actions("security.session_rejected").await.len(),
        3
    );

    // Logout ends the session for good.
    let (status, _) = b.post("/api/v1/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let replay = app.browser();
    replay.set_cookie(&after_login);
    let (status, body) = replay.get("/api/v1/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_a_login() {
    let idle = TestApp::with(AccountsConfig {
        idle_timeout: Duration::from_secs(1),
        ..AccountsConfig::default()
    })
    .await;
    let b = idle.operator().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = b.get("/api/v1/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );

    let absolute = TestApp::with(AccountsConfig {
        absolute_timeout: Duration::from_secs(4),
        ..AccountsConfig::default()
    })
    .await;
    let b = absolute.operator().await;
    let logged_in = std::time::Instant::now();
    for _ in 0..2 {
        // Busy all along: activity does not stretch the absolute limit.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let (status, body) = b.get("/api/v1/me").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(4300).saturating_sub(logged_in.elapsed())).await;
    let (status, body) = b.get("/api/v1/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "session_expired")
    );
    assert_eq!(
        absolute
            .audit_actions("security.session_expired")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn login_is_throttled_per_account_and_per_address() {
    let app = TestApp::with(AccountsConfig {
        throttle: ThrottlePolicy {
            window_secs: 900,
            per_account: 5,
            per_address: 8,
        },
        ..AccountsConfig::default()
    })
    .await;
    let b = app.browser();
    for _ in 0..5 {
        let (status, body) = b.login(OPERATOR, "wrong-password-1").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
    }
    // The sixth try is refused even with the right password.
    let (status, body) = b.login(OPERATOR, OPERATOR_PW).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("15 minutes"),
        "{body}"
    );
    assert_eq!(app.audit_actions("security.login_failed").await.len(), 5);
    assert_eq!(app.audit_actions("security.login_throttled").await.len(), 1);

    // Three more failures on other (even unknown) accounts fill the address's quota of 8.
    for email in [
        "nobody1@example.jp",
        "nobody2@example.jp",
        "nobody3@example.jp",
    ] {
        let (status, _) = b.login(email, "whatever-pass-1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    app.insert_account(None, "second-op@renkei.test", OPERATOR_PW, "operator")
        .await;
    let (status, body) = app
        .browser()
        .login("second-op@renkei.test", OPERATOR_PW)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "throttled")
    );
}

#[tokio::test]
async fn password_reset_link_is_single_use_and_expires() {
    let app = TestApp::with(AccountsConfig {
        link_ttl: Duration::from_secs(2),
        ..AccountsConfig::default()
    })
    .await;
    let b = app.browser();
    // Unknown address: the same answer, no mail.
    let (status, body) = b
        .post(
            "/api/v1/password-reset",
            json!({ "email": "nobody@example.jp" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::ACCEPTED, json!({ "status": "accepted" }))
    );
    assert!(app.outbox().await.is_empty());

    let (status, _) = b
        .post("/api/v1/password-reset", json!({ "email": OPERATOR }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let first = link_token(&app.mails_to(OPERATOR).await[0].body);
    // A newer link voids the older one.
    b.post("/api/v1/password-reset", json!({ "email": OPERATOR }))
        .await;
    let mails = app.mails_to(OPERATOR).await;
    assert_eq!(
        mails[1].subject,
        "パスワード再設定のご案内 / Resetting your password"
    );
    assert!(
        mails[1].body.contains("/password-reset?token="),
        "{}",
        mails[1].body
    );
    let token = link_token(&mails[1].body);
    let confirm = |token: &str, password: &str| json!({ "token": token, "password": password });

    let (status, body) = b
        .post(
            "/api/v1/password-reset/confirm",
            confirm(&first, "Brand-new-passw0rd"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "token_used")
    );
    // A weak password is refused and leaves the link usable.
    let (status, body) = b
        .post("/api/v1/password-reset/confirm", confirm(&token, "weak"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "weak_password")
    );
    let (status, body) = b
        .post(
            "/api/v1/password-reset/confirm",
            confirm(&token, "Brand-new-passw0rd"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["email"], OPERATOR);
    let (status, body) = b
        .post(
            "/api/v1/password-reset/confirm",
            confirm(&token, "Another-passw0rd"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "token_used")
    );
    let (status, body) = b
        .post(
            "/api/v1/password-reset/confirm",
            confirm("made-up-token", "Another-passw0rd"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "token_invalid")
    );

    assert_eq!(
        app.browser().login(OPERATOR, OPERATOR_PW).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.browser().login_ok(OPERATOR, "Brand-new-passw0rd").await;

    // An expired link.
    b.post("/api/v1/password-reset", json!({ "email": OPERATOR }))
        .await;
    let late = link_token(&app.mails_to(OPERATOR).await.last().unwrap().body);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = b
        .post(
            "/api/v1/password-reset/confirm",
            confirm(&late, "Too-late-passw0rd"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "token_expired")
    );
    app.browser().login_ok(OPERATOR, "Brand-new-passw0rd").await;
    let refused: Vec<String> = app
        .audit_actions("security.token_refused")
        .await
        .into_iter()
        .map(|a| a.detail)
        .collect();
    assert_eq!(refused, ["used", "used", "invalid", "expired"]);
}

#[tokio::test]
async fn email_change_takes_effect_only_when_the_new_address_confirms() {
    let app = TestApp::start().await;
    app.approved_org("株式会社変更", "000000000007", "old@example.jp")
        .await;
    app.approved_org("他社", "000000000008", "taken@example.jp")
        .await;
    let b = app.browser();
    b.login_ok("old@example.jp", STRONG_PW).await;

    let (status, body) = b
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "new@example.jp", "password": "Wrong-passw0rd" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_credentials")
    );
    let (status, body) = b
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "taken@example.jp", "password": STRONG_PW }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "duplicate_email")
    );
    assert!(app.outbox().await.is_empty());

    let (status, body) = b
        .post(
            "/api/v1/me/email",
            json!({ "new_email": "New@Example.jp", "password": STRONG_PW }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body,
        json!({ "status": "confirmation_sent", "new_email": "new@example.jp" })
    );
    let to_new = app.mails_to("new@example.jp").await;
    assert_eq!(to_new.len(), 1);
    assert_eq!(
        to_new[0].subject,
        "メールアドレス変更の確認 / Confirm your new email address"
    );
    let to_old = app.mails_to("old@example.jp").await;
    assert_eq!(
        to_old[0].subject,
        "メールアドレス変更の申請がありました / A change of your email address was requested"
    );

    // Until the link is used, the old address logs in and the new one does not.
    app.browser().login_ok("old@example.jp", STRONG_PW).await;
    let (status, _) = app.browser().login("new@example.jp", STRONG_PW).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        b.get("/api/v1/me").await.1["account"]["email"],
        "old@example.jp"
    );

    let token = link_token(&to_new[0].body);
    let (status, body) = app
        .browser()
        .post("/api/v1/email-change/confirm", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["email"], "new@example.jp");
    let to_old = app.mails_to("old@example.jp").await;
    assert_eq!(
        to_old.last().unwrap().subject,
        "メールアドレスが変更されました / Your email address was changed"
    );
    assert!(to_old.last().unwrap().body.contains("new@example.jp"));

    let (status, _) = app.browser().login("old@example.jp", STRONG_PW).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.browser().login_ok("new@example.jp", STRONG_PW).await;
    let (status, body) = app
        .browser()
        .post("/api/v1/email-change/confirm", json!({ "token": token }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "token_used")
    );
    let changed = app.audit_actions("account.email_changed").await;
    assert_eq!(changed[0].detail, "old@example.jp → new@example.jp");
}

#[tokio::test]
async fn admins_invite_members_and_members_see_only_their_own_organisation() {
    let app = TestApp::start().await;
    app.approved_org("提供者株式会社", "000000000009", "admin-a@example.jp")
        .await;
    app.approved_org("要求者株式会社", "000000000010", "admin-b@example.jp")
        .await;
    let admin = app.browser();
    admin.login_ok("admin-a@example.jp", STRONG_PW).await;

    let (status, body) = admin
        .post("/api/v1/org/members", json!({ "email": "member-a@example.jp", "display_name": "メンバー A", "role": "operator" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_role")
    );
    let (status, body) = admin
        .post(
            "/api/v1/org/members",
            json!({ "email": "admin-b@example.jp", "display_name": "重複", "role": "org_member" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "duplicate_email")
    );
    let (status, body) = admin
        .post("/api/v1/org/members", json!({ "email": "member-a@example.jp", "display_name": "メンバー A", "role": "org_member" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account"]["role"], "org_member");
    let invite = &app.mails_to("member-a@example.jp").await[0];
    assert_eq!(
        invite.subject,
        "提供者株式会社 への招待 / Invitation to 提供者株式会社"
    );
    // No password yet: nothing logs in until the invitation is accepted.
    assert_eq!(
        app.browser().login("member-a@example.jp", "").await.0,
        StatusCode::UNAUTHORIZED
    );
    let token = link_token(&invite.body);
    let (status, body) = app
        .browser()
        .post(
            "/api/v1/invitations/accept",
            json!({ "token": token, "password": "Member-passw0rd" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let member = app.browser();
    member
        .login_ok("member-a@example.jp", "Member-passw0rd")
        .await;

    let (status, body) = member.get("/api/v1/org/members").await;
    assert_eq!(status, StatusCode::OK);
    let emails: Vec<&str> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["admin-a@example.jp", "member-a@example.jp"]);
    let (_, body) = member.get("/api/v1/org").await;
    assert_eq!(body["organisation"]["name"], "提供者株式会社");

    let before = app.counts().await;
    for path in [
        "/api/v1/operator/accounts",
        "/api/v1/operator/organisations",
        "/api/v1/operator/audit",
        "/api/v1/operator/outbox",
    ] {
        let (status, body) = member.get(path).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
        let (status, body) = admin.get(path).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
        let (status, body) = app.browser().get(path).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{path}"
        );
    }
    let (status, body) = member
        .post(
            "/api/v1/org/members",
            json!({ "email": "sneaky@example.jp", "display_name": "x", "role": "org_admin" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = member
        .post("/api/v1/operator/organisations/1/approve", json!({}))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = member
        .post(
            "/api/v1/operator/notices",
            json!({ "title": "x", "body": "y" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    assert_eq!(app.counts().await, before);
    let refused = app.audit_actions("security.forbidden").await;
    assert_eq!(refused.len(), 11);
    assert!(
        refused
            .iter()
            .any(|r| r.actor == "member-a@example.jp" && r.target == "/api/v1/operator/accounts")
    );

    let other = app.browser();
    other.login_ok("admin-b@example.jp", STRONG_PW).await;
    let (_, body) = other.get("/api/v1/org/members").await;
    assert_eq!(body["members"].as_array().unwrap().len(), 1);
    assert_eq!(body["members"][0]["email"], "admin-b@example.jp");
    let invited = app.audit_actions("member.invite").await;
    assert_eq!(
        (invited[0].actor.as_str(), invited[0].detail.as_str()),
        ("admin-a@example.jp", "member-a@example.jp as org_member")
    );
}

#[tokio::test]
async fn operators_see_accounts_audit_and_outbox_and_publish_notices() {
    let app = TestApp::start().await;
    app.browser()
        .post(
            "/api/v1/signup",
            sign_up_form("applicant@example.jp", "000000000011"),
        )
        .await;
    let op = app.operator().await;
    let (status, body) = op.get("/api/v1/operator/accounts").await;
    assert_eq!(status, StatusCode::OK);
    let emails: Vec<&str> = body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, [OPERATOR, "applicant@example.jp"]);
    assert!(
        body["accounts"][0].get("password_hash").is_none(),
        "hashes never leave the server"
    );
    let (_, body) = op.get("/api/v1/operator/outbox").await;
    assert_eq!(body["mails"][0]["to"], "applicant@example.jp");
    assert_eq!(
        body["mails"][0]["subject"],
        "利用申請を受け付けました / We received your application"
    );
    let (status, body) = op.get("/api/v1/operator/organisations?status=bogus").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_status")
    );

    let (status, body) = op.post("/api/v1/operator/notices", json!({ "title": "メンテナンスのお知らせ", "body": "12月10日 2:00〜4:00 に停止します。" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = op
        .post(
            "/api/v1/operator/notices",
            json!({ "title": "", "body": "x" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "missing_field")
    );
    let (status, body) = app.browser().get("/api/v1/notices").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["notices"].as_array().unwrap().len(), 1);
    assert_eq!(body["notices"][0]["title"], "メンテナンスのお知らせ");
    assert!(
        body["notices"][0]["published_at"]
            .as_str()
            .unwrap()
            .ends_with("+09:00")
    );
    let (_, body) = op.get("/api/v1/operator/audit").await;
    let actions: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["notice.publish", "organisation.apply"]);
    assert_eq!(body["entries"][0]["actor"], OPERATOR);
}

#[tokio::test]
async fn the_optional_basic_gate_fences_the_site_but_not_node_ingest() {
    let app = TestApp::with(AccountsConfig {
        basic_gate: Some(BasicGate::new(
            "trial".into(),
            renkei::password::hash("gate-passw0rd"),
        )),
        ..AccountsConfig::default()
    })
    .await;
    let client = renkei::tls::http_client();
    let get = |path: &str, auth: Option<(&str, &str)>| {
        let mut r = client.get(format!("{}{path}", app.url));
        if let Some((u, p)) = auth {
            r = r.basic_auth(u, Some(p));
        }
        r.send()
    };
    let response = get("/api/v1/notices", None).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(code(&response.json().await.unwrap()), "basic_auth_required");
    assert_eq!(
        get("/", Some(("trial", "wrong"))).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get("/api/v1/notices", Some(("trial", "gate-passw0rd")))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get("/healthcheck", None).await.unwrap().status(),
        StatusCode::OK
    );
}

// ---- account administration ---------------------------------------------------------------------

const MEMBER_PW: &str = "Member-passw0rd";

impl TestApp {
    async fn account_id(&self, email: &str) -> i64 {
        use sea_orm::{ColumnTrait, QueryFilter};
        account::Entity::find()
            .filter(account::Column::Email.eq(email))
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no account {email}"))
            .id
    }

    async fn role_of(&self, id: i64) -> String {
        account::Entity::find_by_id(id)
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
            .role
    }
}

#[tokio::test]
async fn a_suspended_account_cannot_log_in_and_its_sessions_end_until_reactivated() {
    let app = TestApp::start().await;
    let org = app
        .approved_org("提供者株式会社", "000000000009", "admin-a@example.jp")
        .await;
    let member = app
        .insert_account(Some(org), "member-a@example.jp", MEMBER_PW, "org_member")
        .await;
    let old_session = app.browser();
    old_session.login_ok("member-a@example.jp", MEMBER_PW).await;
    let op = app.operator().await;

    let path = format!("/api/v1/operator/accounts/{member}/suspend");
    let (status, body) = op.post(&path, json!({ "reason": "不正利用の疑い" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], true);
    assert_eq!(body["account"]["suspended_by"], "operator");
    assert!(
        body["account"]["suspended_at"]
            .as_str()
            .unwrap()
            .ends_with("+09:00")
    );
    // Asking again changes nothing and writes nothing.
    let (status, body) = op.post(&path, json!({})).await;
    assert_eq!((status, &body["changed"]), (StatusCode::OK, &json!(false)));

    // The session opened before the suspension ends at its next request.
    let (status, body) = old_session.get("/api/v1/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_suspended")
    );
    let (status, body) = old_session.get("/api/v1/org/members").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    // A new login is refused with the reason, even with the right password.
    let (status, body) = app.browser().login("member-a@example.jp", MEMBER_PW).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_suspended")
    );
    assert_eq!(
        body["error"]["message"],
        "このアカウントは利用停止中です。運営事務局または組織の管理者にお問い合わせください / This account is suspended: contact the operator or your organisation's admin."
    );
    // A wrong password still says only that.
    let (status, body) = app
        .browser()
        .login("member-a@example.jp", "Wrong-passw0rd")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );

    // Both lists show it.
    let (_, body) = op.get("/api/v1/operator/accounts").await;
    let row = body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == member)
        .unwrap()
        .clone();
    assert_eq!(row["suspended_by"], "operator");
    let admin = app.browser();
    admin.login_ok("admin-a@example.jp", STRONG_PW).await;
    let (_, body) = admin.get("/api/v1/org/members").await;
    assert_eq!(body["members"][1]["suspended_by"], "operator");
    assert_eq!(body["members"][0]["suspended_at"], Value::Null);

    // The organisation's admin cannot lift the operator's suspension.
    let (status, body) = admin
        .post(
            &format!("/api/v1/org/members/{member}/reactivate"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "suspended_by_operator")
    );

    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{member}/reactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["suspended_at"], Value::Null);
    app.browser()
        .login_ok("member-a@example.jp", MEMBER_PW)
        .await;

    let suspended = app.audit_actions("account.suspend").await;
    assert_eq!(suspended.len(), 1, "the repeat wrote nothing");
    assert_eq!(
        (
            suspended[0].actor.as_str(),
            suspended[0].target.clone(),
            suspended[0].detail.as_str()
        ),
        (
            OPERATOR,
            format!("account:{member}"),
            "member-a@example.jp: 不正利用の疑い"
        )
    );
    assert!(suspended[0].time.ends_with("+09:00"), "JST");
    let reactivated = app.audit_actions("account.reactivate").await;
    assert_eq!(
        (reactivated.len(), reactivated[0].actor.as_str()),
        (1, OPERATOR)
    );
    assert_eq!(app.audit_actions("security.login_suspended").await.len(), 1);
    assert_eq!(
        app.audit_actions("security.session_suspended").await.len(),
        1
    );

    // An organisation's admin deactivates and reactivates their own member.
    let (status, body) = admin
        .post(
            &format!("/api/v1/org/members/{member}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["suspended_by"], "org_admin");
    assert_eq!(
        code(
            &app.browser()
                .login("member-a@example.jp", MEMBER_PW)
                .await
                .1
        ),
        "account_suspended"
    );
    let (status, _) = admin
        .post(
            &format!("/api/v1/org/members/{member}/reactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.browser()
        .login_ok("member-a@example.jp", MEMBER_PW)
        .await;
    let actions: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .filter(|a| a.action.starts_with("member."))
        .map(|a| format!("{} {}", a.actor, a.action))
        .collect();
    assert_eq!(
        actions,
        [
            "admin-a@example.jp member.deactivate",
            "admin-a@example.jp member.reactivate"
        ]
    );
}

#[tokio::test]
async fn roles_change_but_never_the_last_operator_or_admin_nor_ones_own() {
    let app = TestApp::start().await;
    let org = app
        .approved_org("提供者株式会社", "000000000009", "admin-a@example.jp")
        .await;
    let admin_id = app.account_id("admin-a@example.jp").await;
    let member = app
        .insert_account(Some(org), "member-a@example.jp", MEMBER_PW, "org_member")
        .await;
    let operator_id = app.account_id(OPERATOR).await;
    let op = app.operator().await;
    let admin = app.browser();
    admin.login_ok("admin-a@example.jp", STRONG_PW).await;
    let member_session = app.browser();
    member_session
        .login_ok("member-a@example.jp", MEMBER_PW)
        .await;

    // The only operator can neither demote nor suspend themselves: the last operator.
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{operator_id}/role"),
            json!({ "role": "org_member", "organisation_id": org }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_operator")
    );
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{operator_id}/suspend"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_operator")
    );
    // With a second operator, it is still their own account.
    let second = app
        .insert_account(None, "op2@renkei.test", OPERATOR_PW, "operator")
        .await;
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{operator_id}/suspend"),
            json!({}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "self_change"));
    // The second operator becomes an admin of the organisation: it must name one.
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{second}/role"),
            json!({ "role": "org_admin" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "missing_field")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("organisation_id: ")
    );
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{member}/role"),
            json!({ "role": "boss" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_role")
    );

    // The organisation's only admin: demoting them is refused, whoever asks.
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{admin_id}/role"),
            json!({ "role": "org_member" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "last_admin"));
    for action in ["role", "deactivate"] {
        let (status, body) = admin
            .post(
                &format!("/api/v1/org/members/{admin_id}/{action}"),
                json!({ "role": "org_member" }),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "last_admin"),
            "{action}"
        );
    }
    assert_eq!(app.role_of(admin_id).await, "org_admin");

    // The operator makes the member an admin: their open session sees it at once.
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{member}/role"),
            json!({ "role": "org_admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["account"]["role"], &body["changed"]),
        (&json!("org_admin"), &json!(true))
    );
    assert_eq!(
        member_session.get("/api/v1/me").await.1["account"]["role"],
        "org_admin"
    );
    // Now there are two admins: still not one's own role, but the other's.
    let (status, body) = admin
        .post(
            &format!("/api/v1/org/members/{admin_id}/role"),
            json!({ "role": "org_member" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "self_change"));
    let (status, body) = admin
        .post(
            &format!("/api/v1/org/members/{member}/role"),
            json!({ "role": "operator" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_role")
    );
    let (status, body) = admin
        .post(
            &format!("/api/v1/org/members/{member}/role"),
            json!({ "role": "org_member" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.role_of(member).await, "org_member");
    let (status, body) = admin
        .post(
            &format!("/api/v1/org/members/{member}/role"),
            json!({ "role": "org_member" }),
        )
        .await;
    assert_eq!((status, &body["changed"]), (StatusCode::OK, &json!(false)));
    let (_, body) = member_session.get("/api/v1/operator/accounts").await;
    assert_eq!(code(&body), "forbidden");

    let changes: Vec<(String, String, String)> = app
        .audit()
        .await
        .into_iter()
        .filter(|a| a.action.ends_with(".role_change"))
        .map(|a| (a.actor, a.action, a.detail))
        .collect();
    assert_eq!(
        changes,
        [
            (
                OPERATOR.to_owned(),
                "account.role_change".to_owned(),
                "member-a@example.jp: org_member → org_admin".to_owned()
            ),
            (
                "admin-a@example.jp".to_owned(),
                "member.role_change".to_owned(),
                "member-a@example.jp: org_admin → org_member".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn an_organisation_cannot_manage_another_ones_accounts_nor_reach_operator_endpoints() {
    let app = TestApp::start().await;
    let org_a = app
        .approved_org("提供者株式会社", "000000000009", "admin-a@example.jp")
        .await;
    app.approved_org("要求者株式会社", "000000000010", "admin-b@example.jp")
        .await;
    let admin_b = app.account_id("admin-b@example.jp").await;
    let member_a = app
        .insert_account(Some(org_a), "member-a@example.jp", MEMBER_PW, "org_member")
        .await;
    let operator_id = app.account_id(OPERATOR).await;
    let admin = app.browser();
    admin.login_ok("admin-a@example.jp", STRONG_PW).await;
    let member = app.browser();
    member.login_ok("member-a@example.jp", MEMBER_PW).await;
    let before = app.audit_actions("security.forbidden").await.len();

    for action in ["role", "deactivate", "reactivate"] {
        let path = format!("/api/v1/org/members/{admin_b}/{action}");
        let (status, body) = admin.post(&path, json!({ "role": "org_member" })).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
        // A member is no admin, even in their own organisation.
        let path = format!("/api/v1/org/members/{member_a}/{action}");
        let (status, body) = member.post(&path, json!({ "role": "org_admin" })).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
    }
    for action in ["role", "suspend", "reactivate"] {
        for target in [admin_b, member_a, operator_id] {
            let path = format!("/api/v1/operator/accounts/{target}/{action}");
            for who in [&admin, &member] {
                let (status, body) = who.post(&path, json!({ "role": "operator" })).await;
                assert_eq!(
                    (status, code(&body)),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{path}"
                );
            }
            let (status, body) = app.browser().post(&path, json!({})).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::UNAUTHORIZED, "unauthenticated"),
                "{path}"
            );
        }
    }
    let refused = app.audit_actions("security.forbidden").await;
    assert_eq!(refused.len() - before, 6 + 18);
    assert!(refused.iter().any(|r| r.actor == "admin-a@example.jp"
        && r.detail == format!("account:{admin_b} belongs to another organisation")));
    assert_eq!(app.role_of(admin_b).await, "org_admin");
    assert_eq!(app.role_of(operator_id).await, "operator");
    assert!(
        app.audit()
            .await
            .iter()
            .all(|a| !a.action.starts_with("account.") && !a.action.starts_with("member.")),
        "nothing changed"
    );

    // Without the CSRF token nothing happens; an unknown account is 404.
    let op = app.operator().await;
    let (status, body) = op
        .post_raw(
            &format!("/api/v1/operator/accounts/{member_a}/suspend"),
            |r| r.json(&json!({})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf"));
    let (status, body) = op
        .post("/api/v1/operator/accounts/99999/suspend", json!({}))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = admin
        .post("/api/v1/org/members/99999/deactivate", json!({}))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = member.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "the member was never suspended");
}

/// Two admins demote each other at the same moment: one wins, the other is refused (the rule saw
/// the first change, or the loser is no admin any more), and the organisation keeps one admin.
async fn two_admins_demoting_each_other_leave_one(app: &TestApp) {
    use sea_orm::{ColumnTrait, QueryFilter};
    let org = app
        .approved_org("提供者株式会社", "000000000012", "race-a@example.jp")
        .await;
    let a = app.account_id("race-a@example.jp").await;
    let b = app
        .insert_account(Some(org), "race-b@example.jp", STRONG_PW, "org_admin")
        .await;
    let (sa, sb) = (app.browser(), app.browser());
    sa.login_ok("race-a@example.jp", STRONG_PW).await;
    sb.login_ok("race-b@example.jp", STRONG_PW).await;
    let (pa, pb) = (
        format!("/api/v1/org/members/{b}/role"),
        format!("/api/v1/org/members/{a}/role"),
    );
    let demote = json!({ "role": "org_member" });
    let ((s1, b1), (s2, b2)) = tokio::join!(sa.post(&pa, demote.clone()), sb.post(&pb, demote));
    let mut outcomes = [(s1, code(&b1).to_owned()), (s2, code(&b2).to_owned())];
    outcomes.sort();
    assert_eq!(outcomes[0].0, StatusCode::OK, "{outcomes:?}");
    assert!(
        matches!(
            (outcomes[1].0, outcomes[1].1.as_str()),
            (StatusCode::CONFLICT, "last_admin") | (StatusCode::FORBIDDEN, "forbidden")
        ),
        "{outcomes:?}"
    );
    let admins = account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org))
        .filter(account::Column::Role.eq("org_admin"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    two_admins_demoting_each_other_leave_one(&TestApp::start().await).await;
}

/// The account-administration table and rules on PostgreSQL too (skipped without
/// `RENKEI_TEST_POSTGRES_URL`, as the storage tests are): suspension ends a session and refuses a
/// login, and an organisation keeps an admin, also when two admins demote each other at once.
#[tokio::test]
async fn account_administration_works_on_postgres() {
    let Some(db) = storage::scratch::ScratchDatabase::postgres().await else {
        return;
    };
    let app = TestApp::on(
        db.url.clone(),
        tempfile::tempdir().expect("temp dir"),
        AccountsConfig::default(),
    )
    .await;
    let org = app
        .approved_org("提供者株式会社", "000000000009", "admin-a@example.jp")
        .await;
    let admin_id = app.account_id("admin-a@example.jp").await;
    let member = app
        .insert_account(Some(org), "member-a@example.jp", MEMBER_PW, "org_member")
        .await;
    let session = app.browser();
    session.login_ok("member-a@example.jp", MEMBER_PW).await;
    let op = app.operator().await;
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{member}/suspend"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        code(&session.get("/api/v1/me").await.1),
        "account_suspended"
    );
    assert_eq!(
        code(
            &app.browser()
                .login("member-a@example.jp", MEMBER_PW)
                .await
                .1
        ),
        "account_suspended"
    );
    let (status, _) = op
        .post(
            &format!("/api/v1/operator/accounts/{member}/reactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.browser()
        .login_ok("member-a@example.jp", MEMBER_PW)
        .await;
    let (status, body) = op
        .post(
            &format!("/api/v1/operator/accounts/{admin_id}/role"),
            json!({ "role": "org_member" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "last_admin"));
    assert_eq!(app.audit_actions("account.suspend").await.len(), 1);
    two_admins_demoting_each_other_leave_one(&app).await;
    drop(app);
    drop(db);
}
