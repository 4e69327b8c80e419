//! The portal's exchange-log search against the real demo: exchanges made through both nodes reach
//! the portal, and each viewer sees only what is theirs — the operator everything, the requester and
//! provider organisations their own exchanges, a corporation the exchanges about itself, anyone
//! else nothing. Filters, paging, the CSV export and the chart series are checked on the same data.

use renkei::{
    demo::{self, Demo, DemoOptions},
    storage::entity::{account, organisation, portal_exchange},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::sync::OnceCell;

/// The corporation whose data is asked for; it has its own portal account, but no system.
const SUBJECT: &str = "1010001072706";
/// Asked for too, so the subject must not see that exchange.
const OTHER_SUBJECT: &str = "1011002022162";
const PASSWORD: &str = "correct horse battery staple 7";
const SUBJECT_ADMIN: &str = "admin@subject.test";
const OUTSIDER_ADMIN: &str = "admin@outsider.test";

struct T {
    demo: Demo,
    http: reqwest::Client,
    /// Request ids of the three exchanges: SUBJECT (200), OTHER_SUBJECT (200), a bad number (400).
    ids: [String; 3],
    _dir: tempfile::TempDir,
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
        let demo = demo::start(options).await.expect("demo starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for (name, number, email) in [
            ("調べられる法人 (log test)", SUBJECT, SUBJECT_ADMIN),
            ("無関係の法人 (log test)", "8390005003976", OUTSIDER_ADMIN),
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
            .insert(&demo.portal.db)
            .await
            .unwrap();
            account::ActiveModel {
                id: Default::default(),
                organisation_id: Set(Some(org.id)),
                email: Set(email.into()),
                display_name: Set(email.into()),
                password_hash: Set(renkei::password::hash(PASSWORD)),
                role: Set("org_admin".into()),
                created_at: Set(renkei::jst::now_rfc3339()),
            }
            .insert(&demo.portal.db)
            .await
            .unwrap();
        }
        let mut ids = Vec::new();
        for number in [SUBJECT, OTHER_SUBJECT, "1234567890123"] {
            ids.push(exchange(&http, &demo, number).await);
        }
        // Both nodes' records of all three exchanges reach the portal.
        for _ in 0..100 {
            let n = portal_exchange::Entity::find()
                .filter(portal_exchange::Column::RequestId.is_in(ids.clone()))
                .all(&demo.portal.db)
                .await
                .unwrap()
                .len();
            if n == 6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Arc::new(T {
            demo,
            http,
            ids: ids.try_into().unwrap(),
            _dir: dir,
        })
    })
    .await
    .clone()
}

/// One exchange through the requester node; returns its request id.
async fn exchange(http: &reqwest::Client, demo: &Demo, number: &str) -> String {
    let info = &demo.info;
    let r = http
        .post(format!("{}/v1/requests", info.requester_node_url))
        .basic_auth(
            &info.requester_basic_user,
            Some(&info.requester_basic_password),
        )
        .json(&json!({
            "provider": info.provider_client_id,
            "path": format!("/v1/corporations/{number}"),
            "scopes": ["basic"],
        }))
        .send()
        .await
        .unwrap();
    // Every answer of the requester node names its request id, errors included.
    r.headers()["x-request-id"].to_str().unwrap().to_owned()
}

/// A logged-in portal session (cookie only: these calls only read).
struct Viewer {
    cookie: Option<String>,
}

impl T {
    fn login_of(&self, role: &str, org_key: Option<&str>) -> (String, String) {
        let l = self
            .demo
            .info
            .portal_logins
            .iter()
            .find(|l| l.role == role && org_key.is_none_or(|k| l.email.starts_with(k)))
            .unwrap_or_else(|| panic!("demo login {role} {org_key:?}"));
        (l.email.clone(), l.password.clone())
    }

    async fn login(&self, email: &str, password: &str) -> Viewer {
        let url = &self.demo.info.portal_url;
        let r = self
            .http
            .get(format!("{url}/api/v1/session"))
            .send()
            .await
            .unwrap();
        let cookie = session_cookie(&r).expect("a session cookie");
        let info: Value = r.json().await.unwrap();
        let r = self
            .http
            .post(format!("{url}/api/v1/login"))
            .header("cookie", format!("renkei_session={cookie}"))
            .header("x-csrf-token", info["csrf_token"].as_str().unwrap())
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        Viewer {
            cookie: session_cookie(&r).or(Some(cookie)),
        }
    }

    async fn get(&self, v: &Viewer, path: &str) -> reqwest::Response {
        let mut request = self
            .http
            .get(format!("{}{path}", self.demo.info.portal_url));
        if let Some(c) = &v.cookie {
            request = request.header("cookie", format!("renkei_session={c}"));
        }
        request.send().await.unwrap()
    }

    async fn json(&self, v: &Viewer, path: &str) -> (u16, Value) {
        let r = self.get(v, path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The (request id, role) pairs of the three test exchanges that `v` sees.
    async fn seen(&self, v: &Viewer, extra: &str) -> Vec<(usize, String)> {
        let (status, body) = self
            .json(v, &format!("/api/v1/exchanges?per_page=200{extra}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let mut seen: Vec<(usize, String)> = body["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                let i = self
                    .ids
                    .iter()
                    .position(|id| id == e["request_id"].as_str().unwrap())?;
                Some((i, e["role"].as_str().unwrap().to_owned()))
            })
            .collect();
        seen.sort();
        seen
    }
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|h| {
        let rest = h.to_str().ok()?.strip_prefix("renkei_session=")?;
        Some(rest.split(';').next()?.to_owned())
    })
}

fn both(i: usize) -> [(usize, String); 2] {
    [(i, "provider".into()), (i, "requester".into())]
}

#[test]
fn each_viewer_sees_only_its_own_exchanges() {
    run(|t| async move {
        let all: Vec<(usize, String)> = (0..3).flat_map(both).collect();

        let anonymous = Viewer { cookie: None };
        let (status, body) = t.json(&anonymous, "/api/v1/exchanges").await;
        assert_eq!(status, 401, "{body}");

        let (email, password) = t.login_of("operator", None);
        let operator = t.login(&email, &password).await;
        assert_eq!(t.seen(&operator, "").await, all);

        // Both organisations' systems took part in every exchange.
        for org in ["requester", "provider"] {
            let (email, password) = t.login_of("org_admin", Some(org));
            let v = t.login(&email, &password).await;
            assert_eq!(t.seen(&v, "").await, all, "{org}");
        }

        // The corporation sees who asked about it, and nothing else.
        let subject = t.login(SUBJECT_ADMIN, PASSWORD).await;
        assert_eq!(t.seen(&subject, "").await, both(0).to_vec());
        assert_eq!(t.seen(&subject, "&about=us").await, both(0).to_vec());
        // Naming another corporation's number does not widen the view.
        assert_eq!(
            t.seen(&subject, &format!("&corporate_number={OTHER_SUBJECT}"))
                .await,
            vec![]
        );

        let outsider = t.login(OUTSIDER_ADMIN, PASSWORD).await;
        let (status, body) = t.json(&outsider, "/api/v1/exchanges").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total"], 0, "{body}");
    });
}

#[test]
fn filters_paging_and_bad_values() {
    run(|t| async move {
        let (email, password) = t.login_of("operator", None);
        let v = t.login(&email, &password).await;

        assert_eq!(t.seen(&v, "&status=4xx").await, both(2).to_vec());
        assert_eq!(t.seen(&v, "&status=2xx").await, [both(0), both(1)].concat());
        assert_eq!(
            t.seen(&v, &format!("&request_id={}", t.ids[1])).await,
            both(1).to_vec()
        );
        assert_eq!(
            t.seen(&v, &format!("&corporate_number={SUBJECT}&role=x"))
                .await,
            both(0).to_vec()
        );
        assert_eq!(t.seen(&v, "&from=2999-01-01").await, vec![]);
        assert_eq!(t.seen(&v, "&to=2000-01-01").await, vec![]);

        // Pages of one record, newest first, cover the same records as one big page.
        let (_, first) = t.json(&v, "/api/v1/exchanges?per_page=1&page=1").await;
        let (_, second) = t.json(&v, "/api/v1/exchanges?per_page=1&page=2").await;
        let (_, both_pages) = t.json(&v, "/api/v1/exchanges?per_page=2").await;
        assert_eq!(first["exchanges"][0], both_pages["exchanges"][0]);
        assert_eq!(second["exchanges"][0], both_pages["exchanges"][1]);
        assert!(first["exchanges"][0]["time"].as_str() >= second["exchanges"][0]["time"].as_str());

        for (query, code) in [
            ("from=yesterday", "invalid_from"),
            ("status=3xx", "invalid_status"),
            ("per_page=100000", "invalid_per_page"),
            ("corporate_number=abc", "invalid_corporate_number"),
        ] {
            let (status, body) = t.json(&v, &format!("/api/v1/exchanges?{query}")).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert_eq!(body["error"]["code"], code, "{query}: {body}");
        }
    });
}

#[test]
fn the_csv_export_and_the_chart_series_cover_the_same_search() {
    run(|t| async move {
        let (email, password) = t.login_of("org_admin", Some("requester"));
        let v = t.login(&email, &password).await;
        let query = format!("request_id={}", t.ids[0]);

        let r = t.get(&v, &format!("/api/v1/exchanges.csv?{query}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "text/csv; charset=utf-8"
        );
        let text = r.text().await.unwrap();
        let text = text
            .strip_prefix('\u{feff}')
            .expect("a BOM for spreadsheets");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            renkei::portal::exchanges::CSV_HEADER.to_vec()
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        for row in &rows {
            assert_eq!(&row[1], t.ids[0].as_str());
            assert_eq!(&row[8], format!("/v1/corporations/{SUBJECT}"));
            assert_eq!(&row[9], "200");
            assert_eq!(&row[14], SUBJECT);
        }

        let (status, stats) = t
            .json(&v, &format!("/api/v1/exchanges/stats?bucket=day&{query}"))
            .await;
        assert_eq!(status, 200, "{stats}");
        // Two records, one exchange.
        assert_eq!(stats["exchanges"], 1, "{stats}");
        assert_eq!(stats["series"].as_array().unwrap().len(), 1, "{stats}");
        assert_eq!(stats["series"][0]["exchanges"], 1);
        assert_eq!(stats["series"][0]["errors"], 0);
        assert_eq!(stats["top_apis"][0]["exchanges"], 1);

        let (status, all) = t.json(&v, "/api/v1/exchanges/stats").await;
        assert_eq!(status, 200);
        let errors: u64 = all["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["errors"].as_u64().unwrap())
            .sum();
        assert!(errors >= 1, "the 400 exchange counts as an error: {all}");

        let (status, body) = t.json(&v, "/api/v1/exchanges/stats?bucket=week").await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], "invalid_bucket");

        let anonymous = Viewer { cookie: None };
        let r = t.get(&anonymous, "/api/v1/exchanges.csv").await;
        assert_eq!(r.status(), 401);
    });
}

/// The held records of `node`, as the portal stores them.
async fn held(t: &T, node: &str) -> Vec<portal_exchange::Model> {
    portal_exchange::Entity::find()
        .filter(portal_exchange::Column::Node.eq(node))
        .all(&t.demo.portal.db)
        .await
        .unwrap()
}

/// The head the portal shows for `node` once it covers every record the node has written.
async fn head_of(t: &T, v: &Viewer, node: &str, state: &renkei::node::NodeState) -> Value {
    let want = state.log.head().await.0;
    for _ in 0..100 {
        let (status, body) = t.json(v, "/api/v1/exchanges/heads").await;
        assert_eq!(status, 200, "{body}");
        if let Some(h) = body["heads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["node"] == node && h["seq"].as_i64() >= Some(want))
        {
            return h.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no head of {node} up to seq {want}");
}

#[test]
fn every_node_signs_its_chain_head_and_the_portal_re_verifies_what_it_holds() {
    run(|t| async move {
        let (email, password) = t.login_of("operator", None);
        let operator = t.login(&email, &password).await;
        let info = &t.demo.info;
        for (node, state) in [
            (&info.provider_client_id, &t.demo.provider),
            (&info.requester_client_id, &t.demo.requester),
        ] {
            let head = head_of(&t, &operator, node, state).await;
            let records = held(&t, node).await;
            let newest = records.iter().max_by_key(|r| r.seq).unwrap();
            assert_eq!(head["seq"].as_i64(), Some(newest.seq), "{head}");
            assert_eq!(head["hash"], newest.hash.as_str(), "{head}");
            assert_eq!(head["verified"], true, "{head}");
            assert_eq!(head["problem"], Value::Null, "{head}");
            assert_eq!(
                head["records_checked"].as_u64(),
                Some(records.len() as u64),
                "{head}"
            );
            // The JWS is the node's own statement: it verifies under the node's key and no other.
            let signed = renkei::node::exchange_log::head::verify(
                head["jws"].as_str().unwrap(),
                &state.key.public_b64(),
            )
            .expect("the head verifies under the node's key");
            assert_eq!(
                (signed.node.as_str(), signed.seq),
                (node.as_str(), newest.seq)
            );
            let other = if node == &info.provider_client_id {
                &t.demo.requester
            } else {
                &t.demo.provider
            };
            assert!(
                renkei::node::exchange_log::head::verify(
                    head["jws"].as_str().unwrap(),
                    &other.key.public_b64()
                )
                .is_err()
            );
        }

        // A full check agrees (the demo holds fewer records than a page view re-hashes anyway);
        // a `full` that is not a boolean is a 400 naming it.
        let (status, body) = t.json(&operator, "/api/v1/exchanges/heads?full=true").await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body["heads"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["verified"] == true),
            "{body}"
        );
        let (status, body) = t
            .json(&operator, "/api/v1/exchanges/heads?full=maybe")
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("full"),
            "{body}"
        );

        // Each organisation sees its own node's head; the corporation without systems and an
        // anonymous caller see none.
        let (email, password) = t.login_of("org_admin", Some("requester"));
        let requester = t.login(&email, &password).await;
        let (status, body) = t.json(&requester, "/api/v1/exchanges/heads").await;
        assert_eq!(status, 200, "{body}");
        let nodes: Vec<&str> = body["heads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["node"].as_str().unwrap())
            .collect();
        assert_eq!(nodes, vec![info.requester_client_id.as_str()]);
        let subject = t.login(SUBJECT_ADMIN, PASSWORD).await;
        let (status, body) = t.json(&subject, "/api/v1/exchanges/heads").await;
        assert_eq!((status, body["heads"].clone()), (200, json!([])));
        let (status, body) = t
            .json(&Viewer { cookie: None }, "/api/v1/exchanges/heads")
            .await;
        assert_eq!(status, 401, "{body}");
    });
}

#[test]
fn a_record_changed_in_the_portals_database_no_longer_verifies_against_the_signed_head() {
    run(|t| async move {
        let (email, password) = t.login_of("operator", None);
        let operator = t.login(&email, &password).await;
        let node = t.demo.info.provider_client_id.clone();
        head_of(&t, &operator, &node, &t.demo.provider).await;
        // The client address is hashed but shown nowhere else, so the other tests do not notice.
        let victim = held(&t, &node)
            .await
            .into_iter()
            .min_by_key(|r| r.seq)
            .unwrap();
        let original = victim.client_addr.clone();
        let mut changed: portal_exchange::ActiveModel = victim.clone().into();
        changed.client_addr = Set(Some("203.0.113.66".into()));
        changed.update(&t.demo.portal.db).await.unwrap();

        let (status, body) = t.json(&operator, "/api/v1/exchanges/heads").await;
        let mut restore: portal_exchange::ActiveModel = victim.clone().into();
        restore.client_addr = Set(original);
        restore.update(&t.demo.portal.db).await.unwrap();

        assert_eq!(status, 200, "{body}");
        let head = body["heads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["node"] == node.as_str())
            .unwrap()
            .clone();
        assert_eq!(head["verified"], false, "{head}");
        assert_eq!(
            head["problem"],
            format!("record {}: its hash does not match its content", victim.seq),
            "{head}"
        );
        // Put back, it verifies again.
        let head = head_of(&t, &operator, &node, &t.demo.provider).await;
        assert_eq!(head["verified"], true, "{head}");
    });
}
