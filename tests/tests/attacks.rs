//! The attack suite: every refusal of the provider node and of the bundle machinery, against the real
//! demo (portal + both nodes, bundles polled every 200 ms). Each case asserts the status, the error code,
//! the record that was logged with that code, and that no data came back.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use renkei::{
    bundle::{self, NodeBundle},
    demo::{self, API_SLUG, Demo, DemoOptions, PROVIDER_ID},
    keys::NodeKey,
    portal::bundle::NewApplication,
    storage::entity::{exchange_record, portal_node},
    token::{self, RequestClaims},
};
use serde_json::Value;
use std::{
    future::Future,
    path::PathBuf,
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::OnceCell,
};

const NUMBER: &str = "1010001072706";
/// The corporate name of NUMBER: it must never appear in a refused answer.
const NAME: &str = "東京増田医療器株式会社";

struct TestDemo {
    demo: Demo,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

static DEMO: OnceCell<Arc<TestDemo>> = OnceCell::const_new();
static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Runtime::new().expect("test runtime"));

fn run<F: Future<Output = ()>>(test: impl FnOnce(Arc<TestDemo>) -> F) {
    RUNTIME.block_on(async move { test(shared_demo().await).await })
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn start_demo(lifetime_secs: i64) -> TestDemo {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = DemoOptions::in_repo(&repo(), dir.path().join("data"));
    options.portal_port = 0;
    options.requester_port = 0;
    options.provider_port = 0;
    options.bundle_poll_ms = 200;
    options.bundle_lifetime_secs = lifetime_secs;
    assert!(
        options.plugin.exists(),
        "{} is missing: run scripts/build-plugins.sh first (scripts/test.sh does)",
        options.plugin.display()
    );
    let demo = demo::start(options).await.expect("demo starts");
    TestDemo {
        demo,
        http: renkei::tls::http_client(),
        _dir: dir,
    }
}

async fn shared_demo() -> Arc<TestDemo> {
    DEMO.get_or_init(|| async { Arc::new(start_demo(3600).await) })
        .await
        .clone()
}

fn now() -> i64 {
    token::unix_now()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A node of the test's own, registered in the portal with a fresh key.
struct Caller {
    id: String,
    key: NodeKey,
}

/// An answer read off the wire.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    raw: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn code(&self) -> &str {
        self.body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("<none>")
    }

    /// Status and code as expected, and nothing of the corporation's data in the answer.
    fn assert_refused(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.raw);
        assert!(self.body.get("data").is_none(), "{}", self.raw);
        assert!(!self.raw.contains(NAME), "data leaked: {}", self.raw);
    }
}

impl TestDemo {
    fn provider_addr(&self) -> String {
        self.demo
            .info
            .provider_node_url
            .trim_start_matches("http://")
            .to_owned()
    }

    /// Sends a request exactly as written (no client-side URL normalisation) and reads the answer.
    async fn raw(&self, addr: &str, request_line_path: &str, headers: &[(&str, String)]) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut request =
            format!("GET {request_line_path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Answer {
            status,
            headers,
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            raw: body,
        }
    }

    /// `GET path` at the provider node with `token` and a request id the test can find in the log.
    async fn provider_get(&self, path: &str, token: Option<&str>, rid: &str) -> Answer {
        let mut headers = vec![("x-request-id", rid.to_owned())];
        if let Some(t) = token {
            headers.push(("authorization", format!("Bearer {t}")));
        }
        self.raw(&self.provider_addr(), path, &headers).await
    }

    /// Registers a node and (unless `rate` is None) approves it for the NTA API; waits until the
    /// provider node's bundle knows it.
    async fn caller(&self, name: &str, scopes: &[&str], rate: Option<u32>) -> Caller {
        let id = format!("atk-{name}");
        let key = NodeKey::generate();
        let portal = &self.demo.portal;
        portal
            .register_node(portal_node::Model {
                client_id: id.clone(),
                organisation: format!("attack test {name}"),
                endpoint: "http://127.0.0.1:9".to_owned(),
                public_key: key.public_b64(),
            })
            .await
            .unwrap();
        if let Some(rate) = rate {
            portal
                .approve_application(NewApplication {
                    requester: id.clone(),
                    api: API_SLUG.to_owned(),
                    scopes: scopes.iter().map(|s| s.to_string()).collect(),
                    rate_limit_per_minute: rate,
                })
                .await
                .unwrap();
        }
        self.wait_for_provider(|b| {
            b.node(&id).is_some()
                && (rate.is_none() || b.application(&id, PROVIDER_ID, API_SLUG).is_some())
        })
        .await;
        Caller { id, key }
    }

    async fn wait_for_provider(&self, seen: impl Fn(&NodeBundle) -> bool) {
        let store = self.demo.provider.bundle.as_ref().expect("bundles");
        for _ in 0..100 {
            if store.current().is_some_and(|c| seen(&c.bundle)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the provider node's bundle did not change within 5 s (20 polls)");
    }

    /// The provider's log record of request `rid`.
    async fn provider_record(&self, rid: &str) -> exchange_record::Model {
        let records = self.demo.provider.log.recent(2000).await.unwrap();
        records
            .into_iter()
            .find(|r| r.request_id == rid)
            .unwrap_or_else(|| panic!("no provider log record for request {rid}"))
    }

    async fn provider_record_for_path(&self, path: &str) -> exchange_record::Model {
        let records = self.demo.provider.log.recent(2000).await.unwrap();
        records
            .into_iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("no provider log record for path {path}"))
    }

    async fn admin_post_bundle(&self, body: &str, password: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/admin/bundle", self.demo.info.provider_node_url))
            .body(body.to_owned());
        if let Some(pw) = password {
            request = request.basic_auth(&self.demo.info.node_admin_user, Some(pw));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn admin_status(&self, url: &str) -> Value {
        self.http
            .get(format!("{url}/admin/status"))
            .basic_auth(
                &self.demo.info.node_admin_user,
                Some(&self.demo.info.node_admin_password),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Pushes a bundle to the provider's admin API and checks the refusal, its event, and that the
    /// node still serves on the version it had.
    async fn assert_bundle_refused(&self, jws: &str, status: u16, code: &str) {
        let store = self.demo.provider.bundle.as_ref().unwrap();
        let before = store.current().unwrap().bundle.version;
        let password = self.demo.info.node_admin_password.clone();
        let (got, body) = self.admin_post_bundle(jws, Some(&password)).await;
        assert_eq!(
            (got, body.pointer("/error/code").and_then(Value::as_str)),
            (status, Some(code)),
            "{body}"
        );
        let events = store.events(200).await.unwrap();
        assert!(
            events.iter().any(|e| e.source == "admin"
                && e.outcome == "refused"
                && e.code.as_deref() == Some(code)),
            "no refused event with code {code}: {events:?}"
        );
        assert!(
            store.current().unwrap().bundle.version >= before,
            "the last good bundle is kept"
        );
    }

    /// A bundle for the provider as the portal would issue it now.
    async fn portal_bundle(&self, audience: &str) -> NodeBundle {
        self.demo
            .portal
            .build_bundle(audience)
            .await
            .unwrap()
            .unwrap()
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn claims_for(caller: &Caller, path: &str) -> RequestClaims {
    let now = now();
    RequestClaims {
        iss: caller.id.clone(),
        aud: PROVIDER_ID.to_owned(),
        iat: now,
        nbf: now,
        exp: now + 30,
        jti: uuid(),
        rid: uuid(),
        method: "GET".to_owned(),
        path: path.to_owned(),
        scopes: vec!["basic".to_owned()],
        bh: token::body_hash(b""),
        cref: None,
    }
}

fn corp_path() -> String {
    format!("/v1/corporations/{NUMBER}")
}

/// Sends a token made from `claims` (signed by `key`) and returns the answer and the request id.
async fn send(t: &TestDemo, key: &NodeKey, claims: &RequestClaims, path: &str) -> Answer {
    t.provider_get(path, Some(&token::sign_claims(key, claims)), &claims.rid)
        .await
}

/// Asserts the refusal and the provider's log record of it.
async fn refused(t: &TestDemo, answer: &Answer, rid: &str, status: u16, code: &str) {
    answer.assert_refused(status, code);
    let record = t.provider_record(rid).await;
    assert_eq!(record.status, i32::from(status));
    assert_eq!(record.error_code.as_deref(), Some(code));
    assert_eq!(record.outcome, "error");
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json.as_bytes())
}

fn part(token: &str, n: usize) -> &str {
    token.split('.').nth(n).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Baseline: the approved caller gets data, with a receipt.

#[test]
fn an_approved_caller_gets_the_data_with_a_signed_receipt() {
    run(|t| async move {
        let c = t.caller("baseline", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        assert_eq!(a.status, 200, "{}", a.raw);
        assert!(a.raw.contains(NAME));
        let receipt = a.header(token::RECEIPT_HEADER).expect("receipt header");
        let checked = token::verify_receipt(
            receipt,
            &t.demo.provider.key.public_b64(),
            &token::ReceiptClaims {
                iss: PROVIDER_ID.into(),
                aud: c.id.clone(),
                rid: claims.rid.clone(),
                bh: token::body_hash(a.raw.as_bytes()),
                status: 200,
                iat: 0,
            },
        );
        assert!(checked.is_ok(), "{checked:?}");
        let record = t.provider_record(&claims.rid).await;
        assert_eq!(record.receipt.as_deref(), Some(receipt));
        assert_eq!(record.client_addr.as_deref(), Some("127.0.0.1"));
    });
}

#[test]
fn the_requester_node_keeps_the_providers_receipt_in_its_log() {
    run(|t| async move {
        let info = &t.demo.info;
        let response = t
            .http
            .post(format!("{}/v1/reception_jizen", info.requester_node_url))
            .basic_auth(
                &info.requester_basic_user,
                Some(&info.requester_basic_password),
            )
            .body(format!(
                "call_api=/v1/corporations/{NUMBER}&client_id={PROVIDER_ID}&method=GET&scope=basic"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let rid = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.bytes().await.unwrap();
        let record = t
            .demo
            .requester
            .log
            .recent(500)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.request_id == rid)
            .expect("requester record");
        let receipt = record.receipt.expect("the receipt is kept");
        let claims = token::verify_receipt(
            &receipt,
            &t.demo.provider.key.public_b64(),
            &token::ReceiptClaims {
                iss: PROVIDER_ID.into(),
                aud: demo::REQUESTER_ID.into(),
                rid: rid.clone(),
                bh: token::body_hash(&body),
                status: 200,
                iat: 0,
            },
        )
        .expect("the kept receipt verifies against the provider's key");
        assert_eq!(claims.rid, rid);
    });
}

// ---------------------------------------------------------------------------------------------
// Request tokens.

#[test]
fn no_token_is_refused() {
    run(|t| async move {
        let rid = uuid();
        let a = t.provider_get(&corp_path(), None, &rid).await;
        refused(&t, &a, &rid, 401, "token_missing").await;
    });
}

#[test]
fn a_token_that_is_not_a_jws_is_refused() {
    run(|t| async move {
        let rid = uuid();
        let a = t
            .provider_get(&corp_path(), Some("not-a-token"), &rid)
            .await;
        refused(&t, &a, &rid, 401, "token_malformed").await;
    });
}

#[test]
fn alg_none_is_refused() {
    run(|t| async move {
        let c = t.caller("none", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let good = token::sign_claims(&c.key, &claims);
        let forged = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            part(&good, 1)
        );
        let a = t
            .provider_get(&corp_path(), Some(&forged), &claims.rid)
            .await;
        refused(&t, &a, &claims.rid, 401, "token_algorithm").await;
    });
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    run(|t| async move {
        // The classic key-confusion attack: HMAC keyed with the (public) verification key.
        let c = t.caller("hs256", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(c.key.public_b64().as_bytes()),
        )
        .unwrap();
        let a = t
            .provider_get(&corp_path(), Some(&forged), &claims.rid)
            .await;
        refused(&t, &a, &claims.rid, 401, "token_algorithm").await;
    });
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    run(|t| async move {
        let c = t.caller("forged", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let a = send(&t, &NodeKey::generate(), &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_signature").await;
    });
}

#[test]
fn a_token_from_an_unknown_node_is_refused() {
    run(|t| async move {
        let stranger = Caller {
            id: "atk-never-registered".into(),
            key: NodeKey::generate(),
        };
        let claims = claims_for(&stranger, &corp_path());
        let a = send(&t, &stranger.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_unknown_issuer").await;
    });
}

#[test]
fn a_payload_byte_flipped_breaks_the_signature() {
    run(|t| async move {
        let c = t.caller("flip", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let good = token::sign_claims(&c.key, &claims);
        // Flip one byte of the JSON (a digit of `exp`), keeping it valid JSON and base64url.
        let mut payload = URL_SAFE_NO_PAD.decode(part(&good, 1)).unwrap();
        let exp = claims.exp.to_string();
        let at = String::from_utf8_lossy(&payload).find(&exp).unwrap() + exp.len() - 1;
        payload[at] = if payload[at] == b'9' {
            b'8'
        } else {
            payload[at] + 1
        };
        let tampered = format!(
            "{}.{}.{}",
            part(&good, 0),
            URL_SAFE_NO_PAD.encode(&payload),
            part(&good, 2)
        );
        let a = t
            .provider_get(&corp_path(), Some(&tampered), &claims.rid)
            .await;
        refused(&t, &a, &claims.rid, 401, "token_signature").await;
    });
}

#[test]
fn a_payload_widened_to_more_scopes_breaks_the_signature() {
    run(|t| async move {
        let c = t.caller("widen", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        let good = token::sign_claims(&c.key, &claims);
        claims.scopes = vec!["basic".into(), "x-nta".into()];
        let widened = format!(
            "{}.{}.{}",
            part(&good, 0),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
            part(&good, 2)
        );
        let a = t
            .provider_get(&corp_path(), Some(&widened), &claims.rid)
            .await;
        refused(&t, &a, &claims.rid, 401, "token_signature").await;
    });
}

#[test]
fn a_swapped_header_breaks_the_signature() {
    run(|t| async move {
        let c = t.caller("swap", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let good = token::sign_claims(&c.key, &claims);
        let swapped = format!(
            "{}.{}.{}",
            b64(r#"{"typ":"JWT","alg":"EdDSA","kid":"other"}"#),
            part(&good, 1),
            part(&good, 2)
        );
        let a = t
            .provider_get(&corp_path(), Some(&swapped), &claims.rid)
            .await;
        refused(&t, &a, &claims.rid, 401, "token_signature").await;
    });
}

#[test]
fn a_stripped_signature_is_refused() {
    run(|t| async move {
        let c = t.caller("strip", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let good = token::sign_claims(&c.key, &claims);
        let stripped = format!("{}.{}.", part(&good, 0), part(&good, 1));
        let a = t
            .provider_get(&corp_path(), Some(&stripped), &claims.rid)
            .await;
        refused(&t, &a, &claims.rid, 401, "token_signature").await;
    });
}

#[test]
fn an_expired_token_is_refused() {
    run(|t| async move {
        let c = t.caller("expired", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.iat -= 120;
        claims.nbf -= 120;
        claims.exp = claims.iat + 30;
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_expired").await;
    });
}

#[test]
fn a_token_with_nbf_in_the_future_is_refused() {
    run(|t| async move {
        let c = t.caller("nbf", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.nbf += 40;
        claims.exp += 40;
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_not_yet_valid").await;
    });
}

#[test]
fn a_token_issued_in_the_future_is_refused() {
    run(|t| async move {
        let c = t.caller("iat", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.iat += 40;
        claims.exp = claims.iat + 10;
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_not_yet_valid").await;
    });
}

#[test]
fn a_token_living_longer_than_60_s_is_refused() {
    run(|t| async move {
        let c = t.caller("lifetime", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.exp = claims.iat + 61;
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_lifetime").await;
    });
}

#[test]
fn a_token_for_another_node_is_refused() {
    run(|t| async move {
        let c = t.caller("aud", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.aud = demo::REQUESTER_ID.into();
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 403, "token_audience").await;
    });
}

#[test]
fn a_token_for_another_path_is_refused() {
    run(|t| async move {
        let c = t.caller("path", &["basic"], Some(100)).await;
        let claims = claims_for(&c, "/v1/corporations/1011002022162");
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_request_mismatch").await;
        assert!(a.raw.contains("path"), "{}", a.raw);
    });
}

#[test]
fn a_token_for_another_body_is_refused() {
    run(|t| async move {
        let c = t.caller("body", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.bh = token::body_hash(br#"{"smuggled":true}"#);
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_request_mismatch").await;
        assert!(a.raw.contains("body"), "{}", a.raw);
    });
}

#[test]
fn a_token_for_another_method_is_refused() {
    run(|t| async move {
        let c = t.caller("method", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.method = "PUT".into();
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 401, "token_request_mismatch").await;
    });
}

#[test]
fn a_replayed_token_is_refused() {
    run(|t| async move {
        let c = t.caller("replay", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let token = token::sign_claims(&c.key, &claims);
        let first = t
            .provider_get(&corp_path(), Some(&token), &claims.rid)
            .await;
        assert_eq!(first.status, 200, "{}", first.raw);
        // The replay is logged under the request id the replayer sent: an unverified token names nothing.
        let replay_rid = uuid();
        let again = t
            .provider_get(&corp_path(), Some(&token), &replay_rid)
            .await;
        refused(&t, &again, &replay_rid, 401, "token_replayed").await;
        assert_eq!(t.provider_record(&claims.rid).await.status, 200);
    });
}

// ---------------------------------------------------------------------------------------------
// Approvals from the bundle: deny by default, scopes, revocation, rate limits.

#[test]
fn a_registered_node_without_an_approval_is_refused() {
    run(|t| async move {
        let c = t.caller("unapproved", &[], None).await;
        let claims = claims_for(&c, &corp_path());
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 403, "not_authorized").await;
    });
}

#[test]
fn a_scope_outside_the_approval_is_refused() {
    run(|t| async move {
        let c = t.caller("scope", &["basic"], Some(100)).await;
        let mut claims = claims_for(&c, &corp_path());
        claims.scopes = vec!["basic".into(), "x-nta".into()];
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 403, "scope_not_granted").await;
    });
}

#[test]
fn a_revoked_approval_stops_the_caller_within_one_poll() {
    run(|t| async move {
        let c = t.caller("revoked", &["basic"], Some(100)).await;
        let first = claims_for(&c, &corp_path());
        assert_eq!(send(&t, &c.key, &first, &corp_path()).await.status, 200);
        t.demo
            .portal
            .revoke_application(&c.id, API_SLUG)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        t.wait_for_provider(|b| b.application(&c.id, PROVIDER_ID, API_SLUG).is_none())
            .await;
        // One poll is 200 ms; allow for the poll in flight and a busy machine.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let claims = claims_for(&c, &corp_path());
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 403, "not_authorized").await;
    });
}

#[test]
fn the_rate_limit_of_the_approval_answers_429_with_retry_after() {
    run(|t| async move {
        let c = t.caller("rate", &["basic"], Some(2)).await;
        for _ in 0..2 {
            let claims = claims_for(&c, &corp_path());
            assert_eq!(send(&t, &c.key, &claims, &corp_path()).await.status, 200);
        }
        let claims = claims_for(&c, &corp_path());
        let a = send(&t, &c.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 429, "rate_limited").await;
        let retry: u64 = a
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(
            (1..=30).contains(&retry),
            "2 a minute refill one every 30 s: {retry}"
        );
        // Another caller is not held back by this one's bucket.
        let other = t.caller("rate-other", &["basic"], Some(2)).await;
        let claims = claims_for(&other, &corp_path());
        assert_eq!(
            send(&t, &other.key, &claims, &corp_path()).await.status,
            200
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Paths: canonical before matching; tricks refused.

async fn path_refused(t: &TestDemo, c: &Caller, raw: &str, code: &str) {
    let claims = claims_for(c, raw);
    let a = send(t, &c.key, &claims, raw).await;
    a.assert_refused(400, code);
    let record = t.provider_record_for_path(raw).await;
    assert_eq!(record.error_code.as_deref(), Some(code));
    assert_eq!(record.status, 400);
}

#[test]
fn an_encoded_dot_dot_is_refused() {
    run(|t| async move {
        let c = t.caller("dotdot", &["basic"], Some(100)).await;
        path_refused(
            &t,
            &c,
            "/v1/corporations/%2e%2e/1010001072706",
            "path_traversal",
        )
        .await;
    });
}

#[test]
fn a_plain_dot_dot_is_refused() {
    run(|t| async move {
        let c = t.caller("dotdot-plain", &["basic"], Some(100)).await;
        path_refused(
            &t,
            &c,
            "/v1/x/../corporations/1010001072706",
            "path_traversal",
        )
        .await;
    });
}

#[test]
fn a_mixed_case_encoded_dot_dot_is_refused() {
    run(|t| async move {
        let c = t.caller("dotdot-mixed", &["basic"], Some(100)).await;
        path_refused(
            &t,
            &c,
            "/v1/.%2E/v1/corporations/1010001072706",
            "path_traversal",
        )
        .await;
    });
}

#[test]
fn an_encoded_slash_is_refused() {
    run(|t| async move {
        let c = t.caller("slash", &["basic"], Some(100)).await;
        path_refused(
            &t,
            &c,
            "/v1/corporations%2F1010001072706",
            "path_encoded_slash",
        )
        .await;
    });
}

#[test]
fn a_lower_case_encoded_slash_is_refused() {
    run(|t| async move {
        let c = t.caller("slash-lower", &["basic"], Some(100)).await;
        path_refused(
            &t,
            &c,
            "/v1%2fcorporations/1010001072706",
            "path_encoded_slash",
        )
        .await;
    });
}

#[test]
fn an_encoded_backslash_is_refused() {
    run(|t| async move {
        let c = t.caller("backslash", &["basic"], Some(100)).await;
        path_refused(
            &t,
            &c,
            "/v1/corporations%5C1010001072706",
            "path_encoded_slash",
        )
        .await;
    });
}

#[test]
fn an_encoded_nul_is_refused() {
    run(|t| async move {
        let c = t.caller("nul", &["basic"], Some(100)).await;
        path_refused(&t, &c, "/v1/corporations/1010001072706%00", "path_invalid").await;
    });
}

#[test]
fn a_broken_escape_is_refused() {
    run(|t| async move {
        let c = t.caller("escape", &["basic"], Some(100)).await;
        path_refused(&t, &c, "/v1/corporations/%zz1010001072706", "path_invalid").await;
    });
}

/// Equivalent spellings reach the same route; the token names the canonical path, and that is the path
/// served and logged.
async fn canonical_served(t: &TestDemo, c: &Caller, raw: &str) {
    let claims = claims_for(c, &corp_path());
    let a = send(t, &c.key, &claims, raw).await;
    assert_eq!(a.status, 200, "{raw}: {}", a.raw);
    assert!(a.raw.contains(NAME));
    let record = t.provider_record(&claims.rid).await;
    assert_eq!(record.path, corp_path(), "{raw}");
}

#[test]
fn duplicate_slashes_are_collapsed_before_matching() {
    run(|t| async move {
        let c = t.caller("double", &["basic"], Some(100)).await;
        canonical_served(&t, &c, "//v1//corporations///1010001072706").await;
    });
}

#[test]
fn dot_segments_are_removed_before_matching() {
    run(|t| async move {
        let c = t.caller("dot", &["basic"], Some(100)).await;
        canonical_served(&t, &c, "/v1/./corporations/%2e/1010001072706").await;
    });
}

#[test]
fn encoded_unreserved_characters_are_decoded_before_matching() {
    run(|t| async move {
        let c = t.caller("unreserved", &["basic"], Some(100)).await;
        canonical_served(&t, &c, "/v1/%63orporations/%31010001072706").await;
    });
}

#[test]
fn a_token_for_a_non_canonical_spelling_is_refused() {
    run(|t| async move {
        // The token binds the canonical path; a token over another spelling is not the same request.
        let c = t.caller("noncanon", &["basic"], Some(100)).await;
        let raw = "/v1//corporations/1010001072706";
        let claims = claims_for(&c, raw);
        let a = send(&t, &c.key, &claims, raw).await;
        refused(&t, &a, &claims.rid, 401, "token_request_mismatch").await;
    });
}

// ---------------------------------------------------------------------------------------------
// Client addresses.

#[test]
fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    run(|t| async move {
        let c = t.caller("xff", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        let token = token::sign_claims(&c.key, &claims);
        let a = t
            .raw(
                &t.provider_addr(),
                &corp_path(),
                &[
                    ("x-request-id", claims.rid.clone()),
                    ("authorization", format!("Bearer {token}")),
                    ("x-forwarded-for", "10.1.2.3, 203.0.113.9".to_owned()),
                    ("x-real-ip", "10.1.2.3".to_owned()),
                ],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
        let record = t.provider_record(&claims.rid).await;
        assert_eq!(record.client_addr.as_deref(), Some("127.0.0.1"));
    });
}

#[test]
fn x_forwarded_for_does_not_change_a_refusal() {
    run(|t| async move {
        let rid = uuid();
        let a = t
            .raw(
                &t.provider_addr(),
                &corp_path(),
                &[
                    ("x-request-id", rid.clone()),
                    ("x-forwarded-for", "127.0.0.1".to_owned()),
                ],
            )
            .await;
        refused(&t, &a, &rid, 401, "token_missing").await;
        assert_eq!(
            t.provider_record(&rid).await.client_addr.as_deref(),
            Some("127.0.0.1")
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Bundles pushed to the provider's admin API.

#[test]
fn an_unsigned_bundle_is_refused() {
    run(|t| async move {
        let b = t.portal_bundle(PROVIDER_ID).await;
        let json = serde_json::to_string(&b).unwrap();
        t.assert_bundle_refused(&json, 400, "bundle_malformed")
            .await;
    });
}

#[test]
fn a_bundle_signed_by_another_key_is_refused() {
    run(|t| async move {
        let b = t.portal_bundle(PROVIDER_ID).await;
        let jws = bundle::sign(&NodeKey::generate(), &b);
        t.assert_bundle_refused(&jws, 422, "bundle_signature").await;
    });
}

#[test]
fn a_tampered_bundle_is_refused() {
    run(|t| async move {
        // Signed by the portal, then an approval added to the payload.
        let b = t.portal_bundle(PROVIDER_ID).await;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        let mut widened = b.clone();
        widened.applications.push(bundle::Application {
            requester: "atk-smuggled".into(),
            provider: PROVIDER_ID.into(),
            api: API_SLUG.into(),
            scopes: vec!["basic".into()],
            rate_limit_per_minute: 1000,
        });
        let tampered = format!(
            "{}.{}.{}",
            part(&jws, 0),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&widened).unwrap()),
            part(&jws, 2)
        );
        t.assert_bundle_refused(&tampered, 422, "bundle_signature")
            .await;
    });
}

#[test]
fn an_alg_none_bundle_is_refused() {
    run(|t| async move {
        let b = t.portal_bundle(PROVIDER_ID).await;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"renkei-bundle+jwt"}"#),
            part(&jws, 1)
        );
        t.assert_bundle_refused(&none, 422, "bundle_algorithm")
            .await;
    });
}

#[test]
fn an_hs256_bundle_is_refused() {
    run(|t| async move {
        let b = t.portal_bundle(PROVIDER_ID).await;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some(bundle::TYP.into());
        let jws = jsonwebtoken::encode(
            &header,
            &b,
            &jsonwebtoken::EncodingKey::from_secret(t.demo.portal.key.public_b64().as_bytes()),
        )
        .unwrap();
        t.assert_bundle_refused(&jws, 422, "bundle_algorithm").await;
    });
}

#[test]
fn a_bundle_for_another_node_is_refused() {
    run(|t| async move {
        // A genuine portal bundle, but the requester's.
        let b = t.portal_bundle(demo::REQUESTER_ID).await;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        t.assert_bundle_refused(&jws, 422, "bundle_audience").await;
    });
}

#[test]
fn an_expired_bundle_is_refused() {
    run(|t| async move {
        let mut b = t.portal_bundle(PROVIDER_ID).await;
        b.issued_at = now() - 7200;
        b.expires_at = now() - 3600;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        t.assert_bundle_refused(&jws, 422, "bundle_expired").await;
    });
}

#[test]
fn a_bundle_from_the_future_is_refused() {
    run(|t| async move {
        let mut b = t.portal_bundle(PROVIDER_ID).await;
        b.issued_at = now() + 3600;
        b.expires_at = now() + 7200;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        t.assert_bundle_refused(&jws, 422, "bundle_not_yet_valid")
            .await;
    });
}

#[test]
fn a_rolled_back_bundle_is_refused() {
    run(|t| async move {
        let current = t
            .demo
            .provider
            .bundle
            .as_ref()
            .unwrap()
            .current()
            .unwrap()
            .bundle
            .version;
        let mut b = t.portal_bundle(PROVIDER_ID).await;
        b.version = current - 1;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        t.assert_bundle_refused(&jws, 409, "bundle_rollback").await;
        // The very same version again is a rollback too (versions only increase).
        b.version = current;
        let jws = bundle::sign(&t.demo.portal.key, &b);
        let password = t.demo.info.node_admin_password.clone();
        let (status, body) = t.admin_post_bundle(&jws, Some(&password)).await;
        // A poll may have installed a newer one meanwhile; either way it is not accepted.
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("bundle_rollback"))
        );
    });
}

#[test]
fn a_good_bundle_is_installed_by_the_admin_and_the_node_keeps_serving() {
    run(|t| async move {
        let jws = t
            .demo
            .portal
            .signed_bundle(PROVIDER_ID)
            .await
            .unwrap()
            .unwrap();
        let password = t.demo.info.node_admin_password.clone();
        let (status, body) = t.admin_post_bundle(&jws, Some(&password)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["installed"]["version"].as_u64().unwrap() > 0);
        let c = t.caller("after-admin", &["basic"], Some(100)).await;
        let claims = claims_for(&c, &corp_path());
        assert_eq!(send(&t, &c.key, &claims, &corp_path()).await.status, 200);
        let status = t.admin_status(&t.demo.info.provider_node_url).await;
        assert_eq!(status["bundle"]["state"], "ok", "{status}");
        assert!(status["bundle"]["warning"].is_null());
    });
}

#[test]
fn the_admin_api_needs_the_admin_credential() {
    run(|t| async move {
        let jws = t
            .demo
            .portal
            .signed_bundle(PROVIDER_ID)
            .await
            .unwrap()
            .unwrap();
        let (status, body) = t.admin_post_bundle(&jws, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("admin_unauthorized"))
        );
        let (status, body) = t.admin_post_bundle(&jws, Some("wrong password")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("admin_unauthorized"))
        );
        let response = t
            .http
            .get(format!("{}/admin/status", t.demo.info.provider_node_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    });
}

// ---------------------------------------------------------------------------------------------
// The portal's bundle endpoint: only the node itself.

#[test]
fn the_portal_gives_a_bundle_only_to_its_node() {
    run(|t| async move {
        let url = |id: &str| format!("{}/api/v1/nodes/{id}/bundle", t.demo.info.portal_url);
        let fetch = |id: &str, key: &NodeKey, iss: &str| {
            let path = format!("/api/v1/nodes/{id}/bundle");
            token::sign(
                key,
                iss,
                &token::TokenRequest {
                    audience: "portal",
                    request_id: "r",
                    method: "GET",
                    path: &path,
                    scopes: &[],
                    body: b"",
                    consent_ref: None,
                },
                30,
            )
        };
        let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("<none>").to_owned();

        let response = t.http.get(url(PROVIDER_ID)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(code(&response.json().await.unwrap()), "token_missing");

        let stranger = NodeKey::generate();
        let response = t
            .http
            .get(url(PROVIDER_ID))
            .bearer_auth(fetch(PROVIDER_ID, &stranger, "atk-nobody"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(
            code(&response.json().await.unwrap()),
            "token_unknown_issuer"
        );

        // A registered node asking for the provider's bundle.
        let c = t.caller("portal-snoop", &[], None).await;
        let response = t
            .http
            .get(url(PROVIDER_ID))
            .bearer_auth(fetch(PROVIDER_ID, &c.key, &c.id))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        assert_eq!(code(&response.json().await.unwrap()), "node_mismatch");

        // Its own bundle it gets, signed by the portal and addressed to it.
        let response = t
            .http
            .get(url(&c.id))
            .bearer_auth(fetch(&c.id, &c.key, &c.id))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/jose");
        let jws = response.text().await.unwrap();
        let b = bundle::verify(
            &jws,
            &t.demo.portal.key.public_b64(),
            &c.id,
            None,
            bundle::Clock::At(now()),
        )
        .unwrap();
        assert!(b.node(PROVIDER_ID).is_some());
        assert!(
            b.applications
                .iter()
                .all(|a| a.requester == c.id || a.provider == c.id)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Portal down: serve on the last bundle, warn from half its lifetime, fail closed at expiry.

#[test]
fn with_the_portal_down_nodes_serve_until_expiry_then_fail_closed() {
    RUNTIME.block_on(async {
        let lifetime = 6;
        let t = start_demo(lifetime).await;
        let info = t.demo.info.clone();
        let jizen = || async {
            let response = t
                .http
                .post(format!("{}/v1/reception_jizen", info.requester_node_url))
                .basic_auth(&info.requester_basic_user, Some(&info.requester_basic_password))
                .body(format!(
                    "call_api=/v1/corporations/{NUMBER}&client_id={PROVIDER_ID}&method=GET&scope=basic"
                ))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let rid = response
                .headers()
                .get("x-request-id")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, rid, response.text().await.unwrap())
        };
        let (status, _, body) = jizen().await;
        assert_eq!(status, 200, "{body}");

        t.demo.portal.stop();
        let stopped_at = now();
        // Let any poll in flight land, then the last bundle is fixed.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let store = t.demo.provider.bundle.as_ref().unwrap();
        let last = store.current().unwrap().bundle.clone();
        assert!(last.expires_at <= stopped_at + lifetime + 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            store.current().unwrap().bundle.version,
            last.version,
            "no new bundle while the portal is down"
        );

        let (status, _, body) = jizen().await;
        assert_eq!(status, 200, "still served on the last bundle: {body}");

        // From half the lifetime on, the status warns.
        let half = last.issued_at + lifetime / 2;
        while now() < half {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if now() < last.expires_at {
            let status = t.admin_status(&info.provider_node_url).await;
            assert_eq!(status["bundle"]["state"], "warning", "{status}");
            assert!(status["bundle"]["warning"].as_str().unwrap().contains("expires in"));
        }

        while now() < last.expires_at {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The requester node's bundle expired too: it refuses before calling anyone.
        let (status, _, body) = jizen().await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("bundle_expired")));

        // The provider refuses a direct call with a valid token, and logs it.
        let requester_key = NodeKey::load_or_generate(&t._dir.path().join("data/requester.key.pem")).unwrap();
        let caller = Caller {
            id: demo::REQUESTER_ID.into(),
            key: requester_key,
        };
        let claims = claims_for(&caller, &corp_path());
        let a = send(&t, &caller.key, &claims, &corp_path()).await;
        refused(&t, &a, &claims.rid, 503, "bundle_expired").await;
        let status = t.admin_status(&info.provider_node_url).await;
        assert_eq!(status["bundle"]["state"], "expired", "{status}");
    });
}

// ---------------------------------------------------------------------------------------------
// Receipts: the requester node passes on nothing that its provider did not sign.

/// A provider node of the test's own, registered in the portal, that answers with data and a receipt
/// that is missing, forged or for another body depending on the number asked for.
struct FakeProvider {
    id: String,
}

const FAKE_API: &str = "atk-fake-api";
const NO_RECEIPT: &str = "1000000000001";
const FORGED_RECEIPT: &str = "1000000000002";
const OTHER_BODY_RECEIPT: &str = "1000000000003";
const GOOD_RECEIPT: &str = "1000000000004";
const FAKE_SECRET: &str = "fake provider data";

static FAKE: OnceCell<FakeProvider> = OnceCell::const_new();

async fn fake_provider(t: &TestDemo) -> &'static FakeProvider {
    FAKE.get_or_init(|| async {
        use axum::{extract::Path, http::HeaderMap, response::IntoResponse};
        let id = "atk-fake-provider".to_owned();
        let key = Arc::new(NodeKey::generate());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (sign_key, sign_id) = (key.clone(), id.clone());
        let app = axum::Router::new().route(
            "/v1/corporations/{number}",
            axum::routing::get(move |Path(number): Path<String>, headers: HeaderMap| {
                let (key, id) = (sign_key.clone(), sign_id.clone());
                async move {
                    let rid = headers["x-request-id"].to_str().unwrap().to_owned();
                    let body = serde_json::json!({"meta": {}, "data": {"secret": FAKE_SECRET}})
                        .to_string();
                    let receipt_for = |key: &NodeKey, body: &str| {
                        token::sign_receipt(
                            key,
                            &token::ReceiptClaims {
                                iss: id.clone(),
                                aud: demo::REQUESTER_ID.into(),
                                rid: rid.clone(),
                                bh: token::body_hash(body.as_bytes()),
                                status: 200,
                                iat: token::unix_now(),
                            },
                        )
                    };
                    let receipt = match number.as_str() {
                        NO_RECEIPT => None,
                        FORGED_RECEIPT => Some(receipt_for(&NodeKey::generate(), &body)),
                        OTHER_BODY_RECEIPT => Some(receipt_for(&key, "{}")),
                        _ => Some(receipt_for(&key, &body)),
                    };
                    let mut response = body.into_response();
                    response
                        .headers_mut()
                        .insert("content-type", "application/json".parse().unwrap());
                    if let Some(r) = receipt {
                        response
                            .headers_mut()
                            .insert(token::RECEIPT_HEADER, r.parse().unwrap());
                    }
                    response
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let portal = &t.demo.portal;
        portal
            .register_node(portal_node::Model {
                client_id: id.clone(),
                organisation: "attack test fake provider".into(),
                endpoint,
                public_key: key.public_b64(),
            })
            .await
            .unwrap();
        let mut api = demo::catalogue_entry();
        api.slug = FAKE_API.into();
        api.provider_client_id = id.clone();
        portal.publish_api(api).await.unwrap();
        portal
            .approve_application(NewApplication {
                requester: demo::REQUESTER_ID.into(),
                api: FAKE_API.into(),
                scopes: vec!["basic".into()],
                rate_limit_per_minute: 100,
            })
            .await
            .unwrap();
        let store = t.demo.requester.bundle.as_ref().unwrap();
        for _ in 0..100 {
            if store.current().is_some_and(|c| {
                c.bundle
                    .application(demo::REQUESTER_ID, &id, FAKE_API)
                    .is_some()
            }) {
                return FakeProvider { id };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the requester's bundle never listed the fake provider");
    })
    .await
}

async fn via_requester(t: &TestDemo, provider: &str, number: &str) -> (u16, String, String) {
    let info = &t.demo.info;
    let response = t
        .http
        .post(format!("{}/v1/reception_jizen", info.requester_node_url))
        .basic_auth(
            &info.requester_basic_user,
            Some(&info.requester_basic_password),
        )
        .body(format!(
            "call_api=/v1/corporations/{number}&client_id={provider}&method=GET&scope=basic"
        ))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let rid = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, rid, response.text().await.unwrap())
}

async fn receipt_refused(number: &str) {
    let t = shared_demo().await;
    let fake = fake_provider(&t).await;
    let (status, rid, body) = via_requester(&t, &fake.id, number).await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (502, Some("receipt_invalid")),
        "{body}"
    );
    assert!(!body.contains(FAKE_SECRET), "data passed on: {body}");
    let record = t
        .demo
        .requester
        .log
        .recent(2000)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.request_id == rid)
        .expect("requester record");
    assert_eq!(record.error_code.as_deref(), Some("receipt_invalid"));
    assert_eq!(record.status, 502);
    assert_eq!(record.receipt, None);
}

#[test]
fn an_answer_without_a_receipt_is_not_passed_on() {
    RUNTIME.block_on(receipt_refused(NO_RECEIPT));
}

#[test]
fn an_answer_with_a_forged_receipt_is_not_passed_on() {
    RUNTIME.block_on(receipt_refused(FORGED_RECEIPT));
}

#[test]
fn an_answer_whose_receipt_covers_another_body_is_not_passed_on() {
    RUNTIME.block_on(receipt_refused(OTHER_BODY_RECEIPT));
}

#[test]
fn an_answer_with_a_good_receipt_is_passed_on() {
    run(|t| async move {
        let fake = fake_provider(&t).await;
        let (status, _, body) = via_requester(&t, &fake.id, GOOD_RECEIPT).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(FAKE_SECRET));
    });
}

// ---------------------------------------------------------------------------------------------
// Prior consent (事前同意): when the API requires it, the provider checks the bundle's consents.

static CONSENT_DEMO: OnceCell<Arc<TestDemo>> = OnceCell::const_new();

/// A demo of its own whose API requires consent (the shared one must not change under other tests).
async fn consent_demo() -> Arc<TestDemo> {
    CONSENT_DEMO
        .get_or_init(|| async {
            let t = start_demo(3600).await;
            let mut api = demo::catalogue_entry();
            api.consent_required = true;
            t.demo.portal.publish_api(api).await.unwrap();
            t.wait_for_provider(|b| b.api(API_SLUG).is_some_and(|a| a.consent_required))
                .await;
            Arc::new(t)
        })
        .await
        .clone()
}

async fn grant(t: &TestDemo, number: &str, scopes: &[&str], until: &str) -> i64 {
    let id = t
        .demo
        .portal
        .grant_prior_consent(renkei::portal::bundle::NewPriorConsent {
            corporate_number: number.into(),
            requester: demo::REQUESTER_ID.into(),
            api: API_SLUG.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            purpose: "補助金審査 (grant review)".into(),
            until: until.into(),
        })
        .await
        .unwrap();
    let number = number.to_owned();
    t.wait_for_provider(|b| {
        b.prior_consents
            .iter()
            .any(|c| c.corporate_number == number)
    })
    .await;
    id
}

async fn consent_refused(t: &TestDemo, number: &str) {
    let (status, rid, body) = via_requester(t, PROVIDER_ID, number).await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (403, Some("consent_required")),
        "{body}"
    );
    assert!(json.get("data").is_none());
    let record = t.provider_record(&rid).await;
    assert_eq!(record.error_code.as_deref(), Some("consent_required"));
    assert_eq!(record.corporate_number.as_deref(), Some(number));
}

#[test]
fn without_consent_a_consent_api_refuses() {
    RUNTIME.block_on(async {
        let t = consent_demo().await;
        consent_refused(&t, "1010001072706").await;
    });
}

#[test]
fn consent_for_another_corporation_does_not_count() {
    RUNTIME.block_on(async {
        let t = consent_demo().await;
        grant(&t, "1700150006411", &["basic"], "2099-12-31").await;
        consent_refused(&t, "8390005003976").await;
        let (status, _, body) = via_requester(&t, PROVIDER_ID, "1700150006411").await;
        assert_eq!(status, 200, "the consenting corporation is served: {body}");
    });
}

#[test]
fn an_expired_consent_does_not_count() {
    RUNTIME.block_on(async {
        let t = consent_demo().await;
        grant(&t, "3100001008599", &["basic"], "2000-01-01").await;
        consent_refused(&t, "3100001008599").await;
    });
}

#[test]
fn a_revoked_consent_stops_the_exchange_within_one_poll() {
    RUNTIME.block_on(async {
        let t = consent_demo().await;
        let id = grant(&t, "1011002022162", &["basic"], "2099-12-31").await;
        let (status, _, body) = via_requester(&t, PROVIDER_ID, "1011002022162").await;
        assert_eq!(status, 200, "{body}");
        t.demo.portal.revoke_prior_consent(id).await.unwrap();
        t.wait_for_provider(|b| {
            !b.prior_consents
                .iter()
                .any(|c| c.corporate_number == "1011002022162")
        })
        .await;
        consent_refused(&t, "1011002022162").await;
    });
}
