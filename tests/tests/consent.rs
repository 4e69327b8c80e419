//! Consent against the real demo (portal + both nodes, bundles polled every 200 ms), with an API that
//! requires consent: prior consent granted and revoked through the portal's REST API; the portal's
//! OIDC provider driven by an HTTP client (discovery, authorize with the login form, token, ID token);
//! per-request consent at the requester node, redeemed once; and the provider node's offline check
//! of consent references.

use renkei::{
    consent::{self, IdTokenClaims, oidc},
    demo::{self, API_SLUG, Demo, DemoOptions, PROVIDER_ID, REQUESTER_ID},
    keys::NodeKey,
    portal::bundle::NewApplication,
    storage::entity::{
        account, account_suspension, audit_log, oidc_code, organisation, portal_node,
    },
    token,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};
use tokio::sync::OnceCell;

/// Corporation A logs in at the IdP for per-request consent; corporation B grants prior consents.
const CORP_A: &str = "1010001072706";
const CORP_B: &str = "1011002022162";
const OTHER: &str = "8390005003976";
const PASSWORD: &str = "correct horse battery staple 7";
const ADMIN_A: &str = "admin-a@consent.test";
const MEMBER_A: &str = "member-a@consent.test";
const ADMIN_B: &str = "admin-b@consent.test";
/// Corporation C grants and revokes consents that no refusal test depends on.
const CORP_C: &str = "3100001008599";
const ADMIN_C: &str = "admin-c@consent.test";

struct T {
    demo: Demo,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    /// PostgreSQL databases when the suite runs there (left for `scripts/postgres.sh` to drop).
    _databases: Vec<renkei::storage::scratch::ScratchDatabase>,
}

/// `RENKEI_TEST_MAIN_JOB_BACKEND=postgres` (as for the main job) runs this suite with the portal and
/// both nodes on PostgreSQL (`RENKEI_TEST_POSTGRES_URL`).
async fn postgres_databases() -> Option<(
    demo::DemoDatabases,
    Vec<renkei::storage::scratch::ScratchDatabase>,
)> {
    use renkei::storage::scratch::{POSTGRES_ENV, ScratchDatabase};
    if std::env::var("RENKEI_TEST_MAIN_JOB_BACKEND").as_deref() != Ok("postgres") {
        return None;
    }
    let server = std::env::var(POSTGRES_ENV).expect("RENKEI_TEST_POSTGRES_URL");
    let mut dbs = Vec::new();
    for _ in 0..3 {
        dbs.push(ScratchDatabase::create_on(&server).await);
    }
    let urls = demo::DemoDatabases {
        portal: dbs[0].url.clone(),
        provider: dbs[1].url.clone(),
        requester: dbs[2].url.clone(),
    };
    Some((urls, dbs))
}

static DEMO: OnceCell<Arc<T>> = OnceCell::const_new();
static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Runtime::new().expect("test runtime"));

fn run<F: Future<Output = ()>>(test: impl FnOnce(Arc<T>) -> F) {
    RUNTIME.block_on(async move { test(demo().await).await })
}

async fn demo() -> Arc<T> {
    DEMO.get_or_init(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut options = DemoOptions::in_repo(&repo, dir.path().join("data"));
        options.portal_port = 0;
        options.requester_port = 0;
        options.provider_port = 0;
        options.bundle_poll_ms = 200;
        options.bundle_lifetime_secs = 3600;
        let mut databases = Vec::new();
        if let Some((urls, dbs)) = postgres_databases().await {
            options.databases = Some(urls);
            databases = dbs;
        }
        let demo = demo::start(options).await.expect("demo starts");
        let mut api = demo::catalogue_entry();
        api.consent_required = true;
        demo.portal.publish_api(api).await.unwrap();
        let t = T {
            demo,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _dir: dir,
            _databases: databases,
        };
        t.wait_for_provider(|b| b.api(API_SLUG).is_some_and(|a| a.consent_required))
            .await;
        for (name, number, people) in [
            (
                "法人A (consent test)",
                CORP_A,
                vec![(ADMIN_A, "org_admin"), (MEMBER_A, "org_member")],
            ),
            ("法人B (consent test)", CORP_B, vec![(ADMIN_B, "org_admin")]),
            ("法人C (consent test)", CORP_C, vec![(ADMIN_C, "org_admin")]),
        ] {
            let org = organisation::ActiveModel {
                id: Default::default(),
                name: Set(name.into()),
                corporate_number: Set(number.into()),
                contact_name: Set("担当".into()),
                status: Set("approved".into()),
                review_comment: Set(None),
                created_at: Set(renkei::jst::now_rfc3339()),
                reviewed_at: Set(None),
            }
            .insert(&t.demo.portal.db)
            .await
            .unwrap();
            for (email, role) in people {
                account::ActiveModel {
                    id: Default::default(),
                    organisation_id: Set(Some(org.id)),
                    email: Set(email.into()),
                    display_name: Set(email.into()),
                    password_hash: Set(renkei::password::hash(PASSWORD)),
                    role: Set(role.into()),
                    created_at: Set(renkei::jst::now_rfc3339()),
                }
                .insert(&t.demo.portal.db)
                .await
                .unwrap();
            }
        }
        Arc::new(t)
    })
    .await
    .clone()
}

fn query_of(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

impl T {
    fn portal(&self) -> &str {
        &self.demo.info.portal_url
    }
    fn requester(&self) -> &str {
        &self.demo.info.requester_node_url
    }

    async fn wait_for_provider(&self, seen: impl Fn(&renkei::bundle::NodeBundle) -> bool) {
        let store = self.demo.provider.bundle.as_ref().expect("bundles");
        for _ in 0..100 {
            if store.current().is_some_and(|c| seen(&c.bundle)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the provider node's bundle did not change within 5 s");
    }

    /// `POST /v1/requests` at the requester node as the local system.
    async fn request(&self, number: &str, scopes: &[&str], nonce: Option<&str>) -> (u16, Value) {
        let mut body = json!({
            "provider": PROVIDER_ID,
            "path": format!("/v1/corporations/{number}"),
            "scopes": scopes,
        });
        if let Some(n) = nonce {
            body["nonce"] = json!(n);
        }
        let r = self
            .http
            .post(format!("{}/v1/requests", self.requester()))
            .basic_auth(
                &self.demo.info.requester_basic_user,
                Some(&self.demo.info.requester_basic_password),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST /v1/reception_tsudo` (the gBizConnect form).
    async fn tsudo(&self, form: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/reception_tsudo", self.requester()))
            .basic_auth(
                &self.demo.info.requester_basic_user,
                Some(&self.demo.info.requester_basic_password),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The audit rows of `action` (newest last).
    async fn audit(&self, action: &str) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq(action))
            .all(&self.demo.portal.db)
            .await
            .unwrap()
    }

    /// The per-request consent flow through the requester node's pages and the portal's login form,
    /// as a browser would follow it; returns the nonce the node shows at the end.
    async fn consent_via_node(&self, email: &str, scopes: &[&str]) -> String {
        let mut url = format!(
            "{}/v1/auth?api={API_SLUG}&state=caller-state",
            self.requester()
        );
        for s in scopes {
            url.push_str(&format!("&scope={s}"));
        }
        let r = self.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let authorize = location(&r);
        assert!(
            authorize.starts_with(&format!("{}/oidc/authorize?", self.portal())),
            "{authorize}"
        );
        let params = query_of(&authorize);
        assert_eq!(params["prompt"], "consent");
        assert_eq!(params["code_challenge_method"], "S256");
        let page = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("ログインと同意") && html.contains("Log in and consent"),
            "{html}"
        );
        assert!(
            html.contains("補助金申請システム") && html.contains(API_SLUG),
            "{html}"
        );
        let back = self.post_login(&params, email, PASSWORD, "approve").await;
        assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
        let callback = location(&back);
        assert!(callback.starts_with(&format!("{}/v1/auth/redirect_uri?", self.requester())));
        let done = self.http.get(&callback).send().await.unwrap();
        assert_eq!(done.status(), 200);
        let html = done.text().await.unwrap();
        let nonce = html
            .split(r#"<code id="nonce">"#)
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_else(|| panic!("no nonce on the page: {html}"));
        assert_eq!(nonce.len(), 32);
        nonce.to_owned()
    }

    /// Posts the login form of the authorize page.
    async fn post_login(
        &self,
        params: &HashMap<String, String>,
        email: &str,
        password: &str,
        decision: &str,
    ) -> reqwest::Response {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (n, v) in params {
            form.append_pair(n, v);
        }
        form.append_pair("email", email);
        form.append_pair("password", password);
        form.append_pair("decision", decision);
        let body = form.finish();
        self.http
            .post(format!("{}/oidc/authorize", self.portal()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

// ---- prior consent (事前同意) through the portal's REST API ----------------------------------

/// A logged-in browser session at the portal.
struct Browser {
    url: String,
    http: reqwest::Client,
    cookie: Mutex<Option<String>>,
    csrf: Mutex<Option<String>>,
}

impl Browser {
    async fn login(t: &T, email: &str) -> Browser {
        let b = Browser {
            url: t.portal().to_owned(),
            http: t.http.clone(),
            cookie: Mutex::new(None),
            csrf: Mutex::new(None),
        };
        let (status, info) = b.get("/api/v1/session").await;
        assert_eq!(status, 200, "{info}");
        *b.csrf.lock().unwrap() = info["csrf_token"].as_str().map(str::to_owned);
        let (status, body) = b
            .post(
                "/api/v1/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        *b.csrf.lock().unwrap() = body["csrf_token"].as_str().map(str::to_owned);
        b
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let mut request = request;
        if let Some(c) = self.cookie.lock().unwrap().clone() {
            request = request.header("cookie", format!("renkei_session={c}"));
        }
        let r = request.send().await.unwrap();
        for set in r.headers().get_all("set-cookie") {
            if let Some(rest) = set.to_str().unwrap().strip_prefix("renkei_session=") {
                let value = rest.split(';').next().unwrap();
                *self.cookie.lock().unwrap() = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let csrf = self.csrf.lock().unwrap().clone().unwrap_or_default();
        self.send(
            self.http
                .post(format!("{}{path}", self.url))
                .header("x-csrf-token", csrf)
                .json(&body),
        )
        .await
    }
}

fn grant_form(scopes: &[&str]) -> Value {
    json!({
        "requester": REQUESTER_ID,
        "api": API_SLUG,
        "kind": "individual",
        "scopes": scopes,
        "purpose": "補助金審査 (grant review)",
        "until": "2099-12-31",
    })
}

#[test]
fn prior_consent_granted_in_the_portal_lets_the_provider_answer_and_revoking_stops_it() {
    run(|t| async move {
        let (status, body) = t.request(CORP_B, &["basic"], None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_required")),
            "{body}"
        );

        let admin = Browser::login(&t, ADMIN_B).await;
        let (status, body) = admin.post("/api/v1/consents", grant_form(&["basic"])).await;
        assert_eq!(status, 201, "{body}");
        let consent = &body["consent"];
        assert_eq!(consent["corporate_number"], CORP_B);
        assert_eq!(consent["scopes"], json!(["basic"]));
        assert_eq!(consent["kind"], "individual");
        assert_eq!(consent["status"], "active");
        assert_eq!(consent["granted_by"], ADMIN_B);
        let id = consent["id"].as_i64().unwrap();
        assert!(
            t.audit("consent.grant")
                .await
                .iter()
                .any(|a| a.actor == ADMIN_B && a.target == format!("consent:{id}")),
            "the grant is audited"
        );
        t.wait_for_provider(|b| {
            b.prior_consents
                .iter()
                .any(|c| c.corporate_number == CORP_B)
        })
        .await;

        let (status, body) = t.request(CORP_B, &["basic"], None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["Basic"]["Destination"]["Corporate number"], CORP_B,
            "{body}"
        );
        // Both nodes' records of the exchange keep what allowed it: the provider names the consent.
        let rid = body["meta"]["request_id"].as_str().unwrap().to_owned();
        let provider_record = t
            .demo
            .provider
            .log
            .recent(500)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.request_id == rid)
            .expect("the provider logged the exchange");
        assert_eq!(
            provider_record.consent_ref.as_deref(),
            Some(format!("prior:{id}").as_str())
        );
        // A scope the consent does not cover is still refused.
        let (status, body) = t.request(CORP_B, &["basic", "x-nta"], None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_required")),
            "{body}"
        );

        let (status, list) = admin.get("/api/v1/consents").await;
        assert_eq!(status, 200);
        assert_eq!(list["corporate_number"], CORP_B);
        assert!(
            list["consents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == id)
        );

        let (status, body) = admin
            .post(&format!("/api/v1/consents/{id}/revoke"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["consent"]["status"], "revoked");
        assert!(
            t.audit("consent.revoke")
                .await
                .iter()
                .any(|a| a.target == format!("consent:{id}"))
        );
        t.wait_for_provider(|b| {
            !b.prior_consents
                .iter()
                .any(|c| c.corporate_number == CORP_B)
        })
        .await;
        let (status, body) = t.request(CORP_B, &["basic"], None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_required")),
            "{body}"
        );

        let (status, body) = admin
            .post(&format!("/api/v1/consents/{id}/revoke"), json!({}))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("already_revoked")),
            "{body}"
        );
    });
}

#[test]
fn a_comprehensive_consent_covers_every_scope_of_the_api() {
    run(|t| async move {
        let admin = Browser::login(&t, ADMIN_C).await;
        let mut form = grant_form(&[]);
        form["kind"] = json!("comprehensive");
        let (status, body) = admin.post("/api/v1/consents", form).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["consent"]["scopes"], json!(["basic", "x-nta"]));
        assert_eq!(body["consent"]["kind"], "comprehensive");
        let id = body["consent"]["id"].as_i64().unwrap();
        t.wait_for_provider(|b| {
            b.prior_consents.iter().any(|c| {
                c.corporate_number == CORP_C && c.scopes == ["basic".to_owned(), "x-nta".to_owned()]
            })
        })
        .await;
        let (status, body) = t.request(CORP_C, &["basic", "x-nta"], None).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["x-nta"].is_object(), "{body}");
        let (status, _) = admin
            .post(&format!("/api/v1/consents/{id}/revoke"), json!({}))
            .await;
        assert_eq!(status, 200);
    });
}

#[test]
fn prior_consent_input_is_checked_field_by_field() {
    run(|t| async move {
        let admin = Browser::login(&t, ADMIN_C).await;
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                json!({"requester": "no-such-node"}),
                "unknown_requester",
                "requester",
            ),
            (json!({"requester": ""}), "missing_field", "requester"),
            (json!({"api": "no-such-api"}), "unknown_api", "api"),
            (json!({"scopes": ["finance"]}), "invalid_scope", "scopes"),
            (json!({"scopes": []}), "missing_scopes", "scopes"),
            (json!({"kind": "comprehensive"}), "invalid_scope", "scopes"),
            (json!({"kind": "sometimes"}), "invalid_kind", "kind"),
            (json!({"purpose": "  "}), "missing_field", "purpose"),
            (json!({"until": "31/12/2099"}), "invalid_until", "until"),
            (json!({"until": "2099-02-30"}), "invalid_until", "until"),
            (json!({"until": "2001-01-01"}), "invalid_until", "until"),
        ];
        for (change, code, field) in cases {
            let mut form = grant_form(&["basic"]);
            for (k, v) in change.as_object().unwrap() {
                form[k] = v.clone();
            }
            let (status, body) = admin.post("/api/v1/consents", form.clone()).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (400, Some(code)),
                "{form}: {body}"
            );
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(&format!("{field}:")), "{message}");
        }
        let (status, body) = admin
            .post("/api/v1/consents", json!({"requester": REQUESTER_ID}))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_body")),
            "{body}"
        );

        // A member may list but not grant; without a session or CSRF token nothing happens.
        let member = Browser::login(&t, MEMBER_A).await;
        let (status, _) = member.get("/api/v1/consents").await;
        assert_eq!(status, 200);
        let (status, body) = member
            .post("/api/v1/consents", grant_form(&["basic"]))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        let r = t
            .http
            .get(format!("{}/api/v1/consents", t.portal()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        *admin.csrf.lock().unwrap() = Some("forged".into());
        let (status, body) = admin.post("/api/v1/consents", grant_form(&["basic"])).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("csrf")),
            "{body}"
        );

        // Another corporation's consent cannot be revoked (it does not exist for this caller).
        let other = Browser::login(&t, ADMIN_C).await;
        let (status, body) = other.post("/api/v1/consents", grant_form(&["basic"])).await;
        assert_eq!(status, 201, "{body}");
        let id = body["consent"]["id"].as_i64().unwrap();
        let b = Browser::login(&t, ADMIN_B).await;
        let (status, body) = b
            .post(&format!("/api/v1/consents/{id}/revoke"), json!({}))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{body}"
        );
        let (status, _) = other
            .post(&format!("/api/v1/consents/{id}/revoke"), json!({}))
            .await;
        assert_eq!(status, 200);
    });
}

// ---- the portal as OIDC provider -------------------------------------------------------------

/// A relying party of the test's own: a registered node with a fresh key, an OIDC client with one
/// redirect URI, approved for the demo API.
struct Rp {
    id: String,
    key: NodeKey,
    redirect_uri: String,
}

async fn new_rp(t: &T, name: &str) -> Rp {
    let id = format!("rp-{name}");
    let key = NodeKey::generate();
    let portal = &t.demo.portal;
    portal
        .register_node(portal_node::Model {
            client_id: id.clone(),
            organisation: format!("テスト利用者 {name}"),
            endpoint: "http://127.0.0.1:9".into(),
            public_key: key.public_b64(),
        })
        .await
        .unwrap();
    let redirect_uri = format!("https://{name}.example/cb");
    portal
        .register_oidc_client(&id, std::slice::from_ref(&redirect_uri))
        .await
        .unwrap();
    portal
        .approve_application(NewApplication {
            requester: id.clone(),
            api: API_SLUG.into(),
            scopes: vec!["basic".into(), "x-nta".into()],
            rate_limit_per_minute: 600,
        })
        .await
        .unwrap();
    Rp {
        id,
        key,
        redirect_uri,
    }
}

const VERIFIER: &str = "a-very-long-pkce-code-verifier-of-at-least-43-characters-0123456789";

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

impl Rp {
    fn authorize_params(&self, nonce: &str) -> HashMap<String, String> {
        [
            ("response_type", "code".to_owned()),
            ("client_id", self.id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", format!("openid basic {API_SLUG}")),
            ("state", "rp-state".to_owned()),
            ("nonce", nonce.to_owned()),
            ("code_challenge", challenge(VERIFIER)),
            ("code_challenge_method", "S256".to_owned()),
            ("prompt", "consent".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Authorize (page, then the login form) and return the code.
    async fn code(&self, t: &T, nonce: &str) -> String {
        let params = self.authorize_params(nonce);
        let url = format!(
            "{}/oidc/authorize?{}",
            t.portal(),
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish()
        );
        let page = t.http.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let back = t.post_login(&params, ADMIN_A, PASSWORD, "approve").await;
        assert_eq!(back.status(), 303);
        let to = location(&back);
        assert!(to.starts_with(&format!("{}?", self.redirect_uri)), "{to}");
        let q = query_of(&to);
        assert_eq!(q["state"], "rp-state");
        q["code"].clone()
    }

    /// Posts to the token endpoint with this client's assertion.
    async fn token(&self, t: &T, code: &str, redirect_uri: &str, verifier: &str) -> (u16, Value) {
        let endpoint = format!("{}/oidc/token", t.portal());
        let assertion = oidc::sign_client_assertion(&self.key, &self.id, &endpoint);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
                ("client_id", self.id.as_str()),
                ("client_assertion_type", oidc::CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ])
            .finish();
        let r = t
            .http
            .post(&endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn token_refused(status: u16, body: &Value, oauth: &str, code: &str) {
    assert_eq!(
        (status, body["error"].as_str(), body["error_code"].as_str()),
        (400, Some(oauth), Some(code)),
        "{body}"
    );
    assert!(body.get("id_token").is_none());
}

async fn refusal_logged(t: &T, code: &str) {
    assert!(
        t.audit("security.oidc_token_refused")
            .await
            .iter()
            .any(|a| a.target == code),
        "no audit record for {code}"
    );
}

#[test]
fn discovery_and_jwks_describe_the_provider() {
    run(|t| async move {
        let d: Value = t
            .http
            .get(format!("{}/.well-known/openid-configuration", t.portal()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["issuer"], t.portal());
        assert_eq!(
            d["authorization_endpoint"],
            format!("{}/oidc/authorize", t.portal())
        );
        assert_eq!(d["token_endpoint"], format!("{}/oidc/token", t.portal()));
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(d["response_types_supported"], json!(["code"]));
        assert_eq!(d["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
        let jwks: Value = t
            .http
            .get(d["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(
            (key["kty"].as_str(), key["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert_eq!(key["x"], t.demo.portal.key.public_b64());
    });
}

#[test]
fn the_code_flow_with_pkce_issues_an_id_token_with_the_corporate_number() {
    run(|t| async move {
        let rp = new_rp(&t, "flow").await;
        let code = rp.code(&t, "nonce-flow-1").await;
        let (status, body) = rp.token(&t, &code, &rp.redirect_uri, VERIFIER).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        let id_token = body["id_token"].as_str().unwrap();
        // Verify as any relying party would: with the key from the JWKS.
        let jwks: jsonwebtoken::jwk::JwkSet = t
            .http
            .get(format!("{}/oidc/jwks", t.portal()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        let jwk = jwks
            .find(header.kid.as_deref().unwrap())
            .expect("kid in the JWKS");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_audience(&[&rp.id]);
        validation.set_issuer(&[t.portal()]);
        let claims = jsonwebtoken::decode::<IdTokenClaims>(
            id_token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &validation,
        )
        .expect("the ID token verifies")
        .claims;
        assert_eq!(claims.corporate_number, CORP_A);
        assert_eq!(
            claims.account_type, "2",
            "an org_admin is a gBizID Prime account"
        );
        assert_eq!(claims.nonce, "nonce-flow-1");
        assert_eq!(claims.scope, "openid basic");
        assert_eq!(
            (claims.api.as_str(), claims.provider.as_str()),
            (API_SLUG, PROVIDER_ID)
        );
        assert!(claims.sub.starts_with("account:"));
        assert!(claims.exp - claims.iat <= consent::ID_TOKEN_LIFETIME_SECS);
        assert!(
            t.audit("oidc.consent")
                .await
                .iter()
                .any(|a| a.actor == ADMIN_A && a.target == format!("client:{}", rp.id))
        );

        // The same code a second time.
        let (status, body) = rp.token(&t, &code, &rp.redirect_uri, VERIFIER).await;
        token_refused(status, &body, "invalid_grant", "code_reused");
        refusal_logged(&t, "code_reused").await;
    });
}

#[test]
fn the_token_endpoint_refuses_wrong_verifier_expired_code_wrong_client_and_redirect_uri() {
    run(|t| async move {
        let rp = new_rp(&t, "refusals").await;
        let thief = new_rp(&t, "thief").await;

        let code = rp.code(&t, "n1").await;
        let wrong = "another-pkce-code-verifier-that-is-long-enough-0123456789abcdef";
        let (status, body) = rp.token(&t, &code, &rp.redirect_uri, wrong).await;
        token_refused(status, &body, "invalid_grant", "pkce_mismatch");
        refusal_logged(&t, "pkce_mismatch").await;
        // A failed attempt spends the code.
        let (status, body) = rp.token(&t, &code, &rp.redirect_uri, VERIFIER).await;
        token_refused(status, &body, "invalid_grant", "code_reused");

        let code = rp.code(&t, "n2").await;
        let (status, body) = thief.token(&t, &code, &thief.redirect_uri, VERIFIER).await;
        token_refused(status, &body, "invalid_grant", "code_client_mismatch");
        refusal_logged(&t, "code_client_mismatch").await;

        let code = rp.code(&t, "n3").await;
        let (status, body) = rp
            .token(&t, &code, "https://refusals.example/other", VERIFIER)
            .await;
        token_refused(status, &body, "invalid_grant", "redirect_uri_mismatch");
        refusal_logged(&t, "redirect_uri_mismatch").await;

        let code = rp.code(&t, "n4").await;
        // Age the code past its lifetime (no waiting in tests).
        oidc_code::Entity::update_many()
            .col_expr(
                oidc_code::Column::ExpiresAt,
                sea_orm::sea_query::Expr::value(token::unix_now() - 1),
            )
            .filter(oidc_code::Column::ClientId.eq(&rp.id))
            .filter(oidc_code::Column::UsedAt.is_null())
            .exec(&t.demo.portal.db)
            .await
            .unwrap();
        let (status, body) = rp.token(&t, &code, &rp.redirect_uri, VERIFIER).await;
        token_refused(status, &body, "invalid_grant", "code_expired");
        refusal_logged(&t, "code_expired").await;

        // A client assertion signed with a key that is not the client's.
        let code = rp.code(&t, "n5").await;
        let impostor = Rp {
            id: rp.id.clone(),
            key: NodeKey::generate(),
            redirect_uri: rp.redirect_uri.clone(),
        };
        let (status, body) = impostor.token(&t, &code, &rp.redirect_uri, VERIFIER).await;
        assert_eq!(
            (status, body["error"].as_str(), body["error_code"].as_str()),
            (401, Some("invalid_client"), Some("client_auth_failed")),
            "{body}"
        );
        refusal_logged(&t, "client_auth_failed").await;
        let (status, body) = rp
            .token(&t, "no-such-code", &rp.redirect_uri, VERIFIER)
            .await;
        token_refused(status, &body, "invalid_grant", "code_unknown");
    });
}

#[test]
fn the_authorize_endpoint_checks_client_redirect_uri_pkce_and_login() {
    run(|t| async move {
        let rp = new_rp(&t, "authz").await;
        let get = |params: HashMap<String, String>| {
            let t = t.clone();
            async move {
                let url = format!(
                    "{}/oidc/authorize?{}",
                    t.portal(),
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(&params)
                        .finish()
                );
                let r = t.http.get(&url).send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let cases: Vec<(&str, &str, &str)> = vec![
            ("client_id", "nobody", "unknown_client"),
            (
                "redirect_uri",
                "https://authz.example/cb/",
                "redirect_uri_mismatch",
            ),
            (
                "redirect_uri",
                "https://evil.example/cb",
                "redirect_uri_mismatch",
            ),
            (
                "code_challenge_method",
                "plain",
                "unsupported_code_challenge_method",
            ),
            ("code_challenge", "short", "invalid_code_challenge"),
            ("response_type", "token", "unsupported_response_type"),
            ("scope", "basic nta-corporations", "invalid_scope"),
            ("scope", "openid finance nta-corporations", "invalid_scope"),
            ("scope", "openid basic", "invalid_scope"),
            ("nonce", "", "missing_parameter"),
        ];
        for (field, value, code) in cases {
            let mut params = rp.authorize_params("n");
            params.insert(field.into(), value.into());
            let (status, body) = get(params).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (400, Some(code)),
                "{field}={value}: {body}"
            );
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(field),
                "{body}"
            );
        }
        assert!(
            t.audit("security.oidc_refused")
                .await
                .iter()
                .any(|a| a.detail.starts_with("redirect_uri_mismatch"))
        );

        // Wrong password: the page again, 401, and an audit record; no redirect.
        let params = rp.authorize_params("n");
        let r = t
            .post_login(&params, ADMIN_A, "wrong password", "approve")
            .await;
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("Wrong email or password"));
        assert!(
            t.audit("security.login_failed")
                .await
                .iter()
                .any(|a| a.actor == ADMIN_A && a.detail.starts_with("oidc"))
        );
        // A suspended account cannot consent, even with the right password.
        let org = organisation::Entity::find()
            .filter(organisation::Column::CorporateNumber.eq(CORP_A))
            .one(&t.demo.portal.db)
            .await
            .unwrap()
            .unwrap();
        let suspended = account::ActiveModel {
            id: Default::default(),
            organisation_id: Set(Some(org.id)),
            email: Set("suspended-a@consent.test".into()),
            display_name: Set("suspended".into()),
            password_hash: Set(renkei::password::hash(PASSWORD)),
            role: Set("org_member".into()),
            created_at: Set(renkei::jst::now_rfc3339()),
        }
        .insert(&t.demo.portal.db)
        .await
        .unwrap();
        account_suspension::ActiveModel {
            account_id: Set(suspended.id),
            suspended_at: Set(renkei::jst::now_rfc3339()),
            suspended_by: Set("operator@renkei.example".into()),
            by_role: Set("operator".into()),
            reason: Set(String::new()),
        }
        .insert(&t.demo.portal.db)
        .await
        .unwrap();
        let r = t
            .post_login(&params, "suspended-a@consent.test", PASSWORD, "approve")
            .await;
        assert_eq!(r.status(), 403);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("This account is suspended")
        );
        assert!(
            t.audit("security.login_suspended")
                .await
                .iter()
                .any(|a| a.actor == "suspended-a@consent.test" && a.target == "oidc")
        );
        // Denying sends the user back with access_denied.
        let r = t.post_login(&params, "", "", "deny").await;
        assert_eq!(r.status(), 303);
        let q = query_of(&location(&r));
        assert_eq!(
            (q["error"].as_str(), q["state"].as_str()),
            ("access_denied", "rp-state")
        );
    });
}

// ---- per-request consent (都度同意) at the requester node ------------------------------------

#[test]
fn the_consent_page_lists_the_approved_api_and_its_scopes() {
    run(|t| async move {
        let r = t
            .http
            .get(format!("{}/v1/consent?state=s1", t.requester()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("データ提供への同意") && html.contains("Consent to share data"),
            "{html}"
        );
        assert!(
            html.contains(API_SLUG)
                && html.contains(PROVIDER_ID)
                && html.contains(r#"value="x-nta""#),
            "{html}"
        );
        let r = t
            .http
            .get(format!(
                "{}/v1/auth?api={API_SLUG}&scope=finance&state=s",
                t.requester()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("invalid_scope"));
    });
}

#[test]
fn a_per_request_consent_is_redeemed_once_through_reception_tsudo() {
    run(|t| async move {
        let nonce = t.consent_via_node(ADMIN_A, &["basic"]).await;
        let held = t
            .demo
            .requester
            .consent
            .peek(&nonce)
            .expect("the node holds the consent");
        assert_eq!(held.claims.corporate_number, CORP_A);
        assert_eq!(held.claims.aud, REQUESTER_ID);
        assert_eq!(held.claims.data_scopes(), vec!["basic".to_owned()]);
        assert!(held.claims.sub.starts_with("account:"));

        // Without consent the API refuses corporation A.
        let (status, body) = t.request(CORP_A, &["basic"], None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_required")),
            "{body}"
        );

        let form = format!(
            "call_api=/v1/corporations/{CORP_A}&client_id={PROVIDER_ID}&method=GET&scope=basic&nonce={nonce}"
        );
        let (status, body) = t.tsudo(&form).await;
        assert_eq!(status, 200, "{body}");
        // Both nodes' records name the consent by the ID token's unique id.
        let cref = format!("tsudo:{}", held.claims.jti);
        let rid = body["meta"]["request_id"].as_str().unwrap().to_owned();
        for (side, node) in [
            ("requester", &t.demo.requester),
            ("provider", &t.demo.provider),
        ] {
            let record = node
                .log
                .recent(500)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.request_id == rid)
                .unwrap_or_else(|| panic!("the {side} logged the exchange"));
            assert_eq!(record.consent_ref.as_deref(), Some(cref.as_str()), "{side}");
        }
        assert_eq!(
            body["data"]["Basic"]["Destination"]["Corporate number"],
            CORP_A
        );
        assert!(
            body["data"].get("x-nta").is_none(),
            "only the consented scope: {body}"
        );

        let (status, body) = t.tsudo(&form).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_replayed")),
            "{body}"
        );
        let records = t.demo.requester.log.recent(200).await.unwrap();
        assert!(
            records
                .iter()
                .any(|r| r.error_code.as_deref() == Some("consent_replayed")
                    && r.corporate_number.as_deref() == Some(CORP_A))
        );

        let (status, body) = t
            .tsudo(&format!(
                "call_api=/v1/corporations/{CORP_A}&client_id={PROVIDER_ID}&method=GET"
            ))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("missing_parameter")),
            "{body}"
        );
        let (status, body) = t.tsudo(&format!("{form}0")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("consent_unknown")),
            "{body}"
        );
    });
}

#[test]
fn a_per_request_consent_is_redeemed_once_through_the_json_api_and_only_for_its_corporation() {
    run(|t| async move {
        let nonce = t.consent_via_node(MEMBER_A, &["basic", "x-nta"]).await;
        assert_eq!(
            t.demo
                .requester
                .consent
                .peek(&nonce)
                .unwrap()
                .claims
                .account_type,
            "3"
        );
        let (status, body) = t.request(CORP_A, &[], Some(&nonce)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["meta"]["scopes"], json!(["basic", "x-nta"]));
        let (status, body) = t.request(CORP_A, &[], Some(&nonce)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_replayed")),
            "{body}"
        );

        let nonce = t.consent_via_node(ADMIN_A, &["basic"]).await;
        let (status, body) = t.request(OTHER, &["basic"], Some(&nonce)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_other_corporation")),
            "{body}"
        );
        assert!(body.get("data").is_none());
        let records = t.demo.requester.log.recent(200).await.unwrap();
        assert!(records.iter().any(|r| r.error_code.as_deref()
            == Some("consent_other_corporation")
            && r.corporate_number.as_deref() == Some(OTHER)));
        // The refused attempt spent it.
        let (status, body) = t.request(CORP_A, &["basic"], Some(&nonce)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_replayed")),
            "{body}"
        );
    });
}

#[test]
fn an_expired_per_request_consent_is_refused_at_the_requester_node() {
    run(|t| async move {
        let nonce = t.consent_via_node(ADMIN_A, &["basic"]).await;
        let mut held = t.demo.requester.consent.peek(&nonce).unwrap();
        // The same consent, held past its ID token's expiry (no waiting in tests).
        held.claims.exp = token::unix_now() - 1;
        let stale = format!("{nonce}-stale");
        t.demo.requester.consent.insert(stale.clone(), held);
        let (status, body) = t.request(CORP_A, &["basic"], Some(&stale)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("consent_expired")),
            "{body}"
        );
        assert!(body.get("data").is_none());
        let records = t.demo.requester.log.recent(200).await.unwrap();
        assert!(
            records
                .iter()
                .any(|r| r.error_code.as_deref() == Some("consent_expired"))
        );
        // The fresh one still works, once.
        let (status, body) = t.request(CORP_A, &["basic"], Some(&nonce)).await;
        assert_eq!(status, 200, "{body}");
    });
}

/// The provider node checks a consent reference offline, whatever the requester node did.
#[test]
fn the_provider_refuses_expired_foreign_replayed_and_forged_consent_references() {
    run(|t| async move {
        let now = token::unix_now();
        let claims = |number: &str, exp: i64| IdTokenClaims {
            iss: t.portal().to_owned(),
            sub: "account:1".into(),
            aud: REQUESTER_ID.into(),
            iat: now - 10,
            exp,
            auth_time: now - 10,
            nonce: "n".into(),
            jti: uuid::Uuid::new_v4().to_string(),
            corporate_number: number.into(),
            account_type: "2".into(),
            scope: "openid basic".into(),
            api: API_SLUG.into(),
            provider: PROVIDER_ID.into(),
        };
        let portal_key = &t.demo.portal.key;
        let call = |cref: String, number: &'static str| {
            let t = t.clone();
            async move {
                let path = format!("/v1/corporations/{number}");
                let rid = uuid::Uuid::new_v4().to_string();
                let scopes = vec!["basic".to_owned()];
                let bearer = token::sign(
                    &t.demo.requester.key,
                    REQUESTER_ID,
                    &token::TokenRequest {
                        audience: PROVIDER_ID,
                        request_id: &rid,
                        method: "GET",
                        path: &path,
                        scopes: &scopes,
                        body: b"",
                        consent_ref: Some(&cref),
                    },
                    30,
                );
                let r = t
                    .http
                    .get(format!("{}{path}", t.demo.info.provider_node_url))
                    .bearer_auth(bearer)
                    .header("x-request-id", &rid)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                let records = t.demo.provider.log.recent(500).await.unwrap();
                let logged = records
                    .into_iter()
                    .find(|r| r.request_id == rid)
                    .and_then(|r| r.error_code);
                (status, body, logged)
            }
        };
        let good = consent::sign_id_token(portal_key, &claims(CORP_A, now + 120));
        let (status, body, _) = call(good.clone(), CORP_A).await;
        assert_eq!(status, 200, "{body}");
        for (cref, number, status, code) in [
            (good, CORP_A, 403, "consent_replayed"),
            (
                consent::sign_id_token(portal_key, &claims(CORP_A, now - 60)),
                CORP_A,
                403,
                "consent_expired",
            ),
            (
                consent::sign_id_token(portal_key, &claims(CORP_A, now + 120)),
                OTHER,
                403,
                "consent_other_corporation",
            ),
            (
                consent::sign_id_token(&NodeKey::generate(), &claims(CORP_A, now + 120)),
                CORP_A,
                401,
                "consent_invalid",
            ),
            ("not-a-token".to_owned(), CORP_A, 401, "consent_invalid"),
        ] {
            let (got, body, logged) = call(cref, number).await;
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
            assert!(body.get("data").is_none());
            assert_eq!(logged.as_deref(), Some(code));
        }
        let mut other_aud = claims(CORP_A, now + 120);
        other_aud.aud = "someone-else".into();
        let (got, body, _) = call(consent::sign_id_token(portal_key, &other_aud), CORP_A).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (403, Some("consent_not_covered")),
            "{body}"
        );
    });
}
