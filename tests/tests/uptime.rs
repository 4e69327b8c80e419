//! Uptime monitoring against the real demo: the portal probes the nodes, confirms an outage over
//! several probes, mails the provider and each requester with an approved application to its APIs,
//! mails them again when it is back, damps a flapping node, and shows it all through its API.

use renkei::{
    demo::{self, DemoOptions, PROVIDER_ID},
    portal::uptime::{self, Health, Transition, UptimePolicy},
    storage::entity::{mail_outbox, portal_node},
};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use std::{path::PathBuf, time::Duration};

fn policy() -> UptimePolicy {
    UptimePolicy {
        timeout: Duration::from_millis(1500),
        ..UptimePolicy::default()
    }
}

async fn outbox(db: &sea_orm::DatabaseConnection) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find()
        .order_by_asc(mail_outbox::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// Logs in at the portal's REST API; returns the session cookie.
async fn login(http: &reqwest::Client, portal: &str, email: &str, password: &str) -> String {
    let r = http
        .get(format!("{portal}/api/v1/session"))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(&r).unwrap();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .post(format!("{portal}/api/v1/login"))
        .header("cookie", format!("renkei_session={cookie}"))
        .header("x-csrf-token", csrf)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    cookie_of(&r).unwrap_or(cookie)
}

fn cookie_of(r: &reqwest::Response) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|h| {
        let rest = h.to_str().ok()?.strip_prefix("renkei_session=")?;
        Some(rest.split(';').next()?.to_owned())
    })
}

async fn get(http: &reqwest::Client, url: &str, cookie: Option<&str>) -> (u16, Value) {
    let mut request = http.get(url);
    if let Some(c) = cookie {
        request = request.header("cookie", format!("renkei_session={c}"));
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_are_confirmed_mailed_once_damped_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut options = DemoOptions::in_repo(&repo, dir.path().join("data"));
    options.portal_port = 0;
    options.requester_port = 0;
    options.provider_port = 0;
    let demo = demo::start(options).await.expect("demo starts");
    let portal = &demo.portal;
    let http = reqwest::Client::new();
    let p = policy();
    let login_of = |role: &str, org: Option<&str>| {
        demo.info
            .portal_logins
            .iter()
            .find(|l| l.role == role && org.is_none_or(|o| l.email.starts_with(o)))
            .cloned()
            .unwrap()
    };
    let provider_admin = login_of("org_admin", Some("provider")).email;
    let requester_admin = login_of("org_admin", Some("requester")).email;

    // A real probe of both nodes: up, with the time it took.
    let (health, ms, detail) = uptime::probe(&http, &p, &demo.info.provider_node_url).await;
    assert_eq!((health, detail.as_str()), (Health::Up, ""));
    assert!(ms > 0.0);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (health, _, detail) = uptime::probe(&http, &p, &closed_url).await;
    assert_eq!(health, Health::Down);
    assert!(detail.contains("connection refused"), "{detail}");

    let node = portal_node::Entity::find_by_id(PROVIDER_ID.to_owned())
        .one(&portal.db)
        .await
        .unwrap()
        .unwrap();
    let before = outbox(&portal.db).await.len();
    let record = async |health: Health| {
        uptime::record(portal, &p, &node, health, 5.0, "test: no answer")
            .await
            .unwrap()
    };

    // The first two failures are not an outage; the third is, and mails go out.
    assert_eq!(record(Health::Up).await, Transition::None);
    assert_eq!(record(Health::Down).await, Transition::None);
    assert_eq!(record(Health::Down).await, Transition::None);
    assert_eq!(outbox(&portal.db).await.len(), before);
    assert_eq!(record(Health::Down).await, Transition::WentDown);
    let mails = outbox(&portal.db).await.split_off(before);
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let to_provider = mails.iter().find(|m| m.to_addr == provider_admin).unwrap();
    assert!(
        to_provider
            .subject
            .starts_with("システムの停止を検知しました"),
        "{}",
        to_provider.subject
    );
    assert!(to_provider.body.contains(PROVIDER_ID));
    assert!(to_provider.body.contains("/healthz"), "what to check");
    assert!(to_provider.body.contains("test: no answer"));
    let to_requester = mails.iter().find(|m| m.to_addr == requester_admin).unwrap();
    assert!(
        to_requester
            .subject
            .contains("A system whose APIs you use is down"),
        "{}",
        to_requester.subject
    );
    assert!(
        to_requester.body.contains("nta-corporations"),
        "the affected API: {}",
        to_requester.body
    );

    // Still down: nothing new. One success is not a recovery; two are.
    assert_eq!(record(Health::Down).await, Transition::None);
    assert_eq!(record(Health::Up).await, Transition::None);
    assert_eq!(record(Health::Up).await, Transition::CameBack);
    let mails = outbox(&portal.db).await.split_off(before + 2);
    let mut to: Vec<_> = mails.iter().map(|m| m.to_addr.clone()).collect();
    to.sort();
    let mut expected = vec![provider_admin.clone(), requester_admin.clone()];
    expected.sort();
    assert_eq!(to, expected);
    assert!(
        mails
            .iter()
            .all(|m| m.subject.starts_with("システムが復旧しました"))
    );

    // Flapping within the cooldown: the outage is recorded, nobody is mailed again.
    for _ in 0..2 {
        assert_eq!(record(Health::Down).await, Transition::None);
    }
    assert_eq!(record(Health::Down).await, Transition::WentDown);
    assert_eq!(record(Health::Up).await, Transition::None);
    assert_eq!(record(Health::Up).await, Transition::CameBack);
    assert_eq!(
        outbox(&portal.db).await.len(),
        before + 4,
        "no mails while flapping"
    );

    // A real outage: the provider node stops answering; three rounds confirm it.
    assert!(
        demo.provider
            .stop
            .stop_and_wait(Duration::from_secs(5))
            .await
    );
    let mut last = Vec::new();
    for _ in 0..3 {
        last = uptime::run_once(portal, &http, &p).await.unwrap();
    }
    assert!(
        last.contains(&(PROVIDER_ID.to_owned(), Transition::WentDown)),
        "{last:?}"
    );
    assert!(
        last.iter()
            .any(|(id, t)| id != PROVIDER_ID && *t == Transition::None),
        "the requester node stays up: {last:?}"
    );

    // What the pages read.
    let url = &demo.info.portal_url;
    let (status, _) = get(&http, &format!("{url}/api/v1/uptime"), None).await;
    assert_eq!(status, 401);
    let operator = login_of("operator", None);
    let cookie = login(&http, url, &operator.email, &operator.password).await;
    let (status, body) = get(&http, &format!("{url}/api/v1/uptime"), Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    let systems = body["systems"].as_array().unwrap();
    let provider = systems
        .iter()
        .find(|s| s["client_id"] == PROVIDER_ID)
        .unwrap();
    assert_eq!(provider["health"], "down", "{provider}");
    let day = provider["availability"]["24h"].as_f64().unwrap();
    assert!(day > 0.0 && day < 100.0, "{provider}");
    let requester = systems
        .iter()
        .find(|s| s["client_id"] != PROVIDER_ID)
        .unwrap();
    assert_eq!(requester["health"], "up", "{requester}");
    assert_eq!(requester["availability"]["24h"], 100.0, "{requester}");

    let (status, body) = get(
        &http,
        &format!("{url}/api/v1/uptime/{PROVIDER_ID}?days=7"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let outages = body["outages"].as_array().unwrap();
    assert_eq!(outages.len(), 3, "{body}");
    assert!(outages[0]["ended_at"].is_null(), "the newest outage lasts");
    assert!(
        outages[0]["detail"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{body}"
    );
    assert_eq!(outages[0]["mailed"], false, "within the cooldown");
    assert_eq!(outages[2]["mailed"], true);
    assert!(outages[2]["ended_at"].is_string());
    assert_eq!(body["series"].as_array().unwrap().len(), 1, "one day");

    let (status, body) = get(
        &http,
        &format!("{url}/api/v1/uptime/{PROVIDER_ID}?days=2"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_days");
    let (status, _) = get(
        &http,
        &format!("{url}/api/v1/uptime/no-such-node"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 404);
}
