//! Delivery of a node's exchange log to the portal across a portal outage: records wait on the node's
//! disk, arrive once each and in order when the portal is back (also after the portal restarts on the
//! same database), and the node stops taking exchanges rather than outgrow its bound.

use renkei::{
    node::{
        KnownProvider, LocalSystem, LogConfig, NodeConfig, NodeState, RequesterConfig,
        exchange_log::{BacklogLevel, NewExchange},
    },
    portal::{PortalConfig, PortalState},
    storage::{
        self,
        entity::{portal_chain_head, portal_exchange, portal_node},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::{path::Path, sync::Arc, time::Duration};

const NODE: &str = "grant-requester";
const SYSTEM_USER: &str = "grant-system";
const SYSTEM_PASSWORD: &str = "system password 1";

async fn portal(dir: &Path, addr: &str) -> Arc<PortalState> {
    PortalState::open(PortalConfig {
        listen: addr.to_owned(),
        database_url: storage::sqlite_url(&dir.join("portal.db")),
        key_file: dir.join("portal.key.pem"),
        site_root: dir.join("site"),
        bundle_lifetime_secs: renkei::portal::DEFAULT_BUNDLE_LIFETIME_SECS,
        accounts: Default::default(),
        tls: None,
        log_retention_months: 12,
    })
    .await
    .expect("portal opens")
}

/// Serves the portal on `addr` (bound again after a stop: the same address the node ships to).
async fn serve_portal(state: &Arc<PortalState>, addr: &str) {
    let mut tries = 0;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) if tries < 50 => {
                tries += 1;
                eprintln!("binding {addr} again: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("binding {addr}: {e}"),
        }
    };
    renkei::portal::serve_listener(state.clone(), listener)
        .await
        .unwrap();
}

async fn node(dir: &Path, portal_addr: &str, max_backlog: u64) -> Arc<NodeState> {
    let config = NodeConfig {
        client_id: NODE.into(),
        organisation: "requester".into(),
        listen: "127.0.0.1:0".into(),
        database_url: storage::sqlite_url(&dir.join("node.db")),
        key_file: dir.join("node.key.pem"),
        portal_url: Some(format!("http://{portal_addr}")),
        portal_public_key: None,
        bundle_file: None,
        bundle_poll_ms: 10_000,
        admin_password_hash: None,
        trusted_proxies: vec![],
        tls: None,
        peer_ca_file: None,
        log: LogConfig {
            max_backlog,
            retention_months: 12,
        },
        provider: None,
        requester: Some(RequesterConfig {
            systems: vec![LocalSystem {
                user: SYSTEM_USER.into(),
                password_hash: renkei::password::hash(SYSTEM_PASSWORD),
            }],
            // Nothing listens there: an exchange that got through would fail with 502, not 503.
            providers: vec![KnownProvider {
                client_id: "nta-provider".into(),
                endpoint: "http://127.0.0.1:9".into(),
            }],
            consent: None,
            cors_origins: vec![],
        }),
        connectbox: None,
    };
    NodeState::open(config).await.expect("node opens")
}

async fn append(node: &NodeState, n: usize, tag: &str) {
    for i in 0..n {
        node.log
            .append(NewExchange {
                request_id: format!("{tag}-{i}"),
                role: "requester",
                requester: NODE.into(),
                provider: "nta-provider".into(),
                api: "nta-corporations".into(),
                method: "GET".into(),
                path: "/v1/corporations/1010001072706".into(),
                status: 200,
                latency_ms: 1.5,
                scopes: vec!["basic".into()],
                corporate_number: Some("1010001072706".into()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

async fn held_seqs(portal: &PortalState) -> Vec<i64> {
    portal_exchange::Entity::find()
        .filter(portal_exchange::Column::Node.eq(NODE))
        .order_by_asc(portal_exchange::Column::Id)
        .all(&portal.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.seq)
        .collect()
}

/// Waits until the portal holds `n` records of the node.
async fn wait_held(portal: &PortalState, n: usize) -> Vec<i64> {
    for _ in 0..200 {
        let seqs = held_seqs(portal).await;
        if seqs.len() >= n {
            return seqs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the portal holds {} of {n} records",
        held_seqs(portal).await.len()
    );
}

async fn register(portal: &PortalState, node: &NodeState) {
    portal
        .register_node(portal_node::Model {
            client_id: NODE.into(),
            organisation: "requester".into(),
            endpoint: "http://127.0.0.1:9".into(),
            public_key: node.key.public_b64(),
        })
        .await
        .unwrap();
}

async fn free_addr() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_wait_for_a_stopped_portal_and_arrive_once_each_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let portal_addr = free_addr().await;
    let node = node(dir.path(), &portal_addr, 0).await;
    // Serving starts the shipper.
    renkei::node::serve_listener(
        node.clone(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .unwrap();

    // The portal is not there yet: the records stay on the node.
    append(&node, 40, "before").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(node.log.backlog().await.unwrap(), 40);

    // It comes up (with the node registered): all 40 arrive, in chain order.
    let first = portal(dir.path(), &portal_addr).await;
    register(&first, &node).await;
    serve_portal(&first, &portal_addr).await;
    assert_eq!(wait_held(&first, 40).await, (1..=40).collect::<Vec<_>>());

    // It stops while the node goes on working; then a new process starts on the same database.
    assert!(first.stop.stop_and_wait(Duration::from_secs(10)).await);
    drop(first);
    append(&node, 25, "during").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        node.log.backlog().await.unwrap(),
        25,
        "kept while the portal is away"
    );
    let second = portal(dir.path(), &portal_addr).await;
    serve_portal(&second, &portal_addr).await;
    append(&node, 5, "after").await;
    let seqs = wait_held(&second, 70).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seqs_later = held_seqs(&second).await;
    assert_eq!(seqs_later, seqs, "nothing more arrives");
    assert_eq!(
        seqs,
        (1..=70).collect::<Vec<_>>(),
        "each record once, in order"
    );
    assert_eq!(node.log.backlog().await.unwrap(), 0);

    // A batch sent again (the portal stored it, but its answer was lost) stores nothing twice.
    let again = renkei::node::exchange_log::ExchangeLog::all_records(&node.db)
        .await
        .unwrap();
    use sea_orm::sea_query::Expr;
    renkei::storage::entity::exchange_record::Entity::update_many()
        .col_expr(
            renkei::storage::entity::exchange_record::Column::Shipped,
            Expr::value(false),
        )
        .filter(renkei::storage::entity::exchange_record::Column::Seq.gt(60))
        .exec(&node.db)
        .await
        .unwrap();
    assert_eq!(again.len(), 70);
    for _ in 0..100 {
        if node.log.backlog().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        node.log.backlog().await.unwrap(),
        0,
        "re-sent and confirmed"
    );
    assert_eq!(
        held_seqs(&second).await,
        (1..=70).collect::<Vec<_>>(),
        "no duplicates"
    );

    // The portal keeps the node's newest signed head, which is its last record.
    let head = portal_chain_head::Entity::find_by_id(NODE)
        .one(&second.db)
        .await
        .unwrap()
        .expect("a signed head");
    assert_eq!(head.seq, 70);
    assert_eq!(head.hash, node.log.head().await.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backlog_stops_new_exchanges_until_the_portal_takes_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let portal_addr = free_addr().await;
    let node = node(dir.path(), &portal_addr, 10).await;
    let node_url = format!(
        "http://{}",
        renkei::node::serve_listener(
            node.clone(),
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        )
        .unwrap()
    );
    let http = reqwest::Client::new();
    let ready = || async {
        let r = http.get(format!("{node_url}/readyz")).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap())
    };
    let exchange = || async {
        let r = http
            .post(format!("{node_url}/v1/requests"))
            .basic_auth(SYSTEM_USER, Some(SYSTEM_PASSWORD))
            .json(&serde_json::json!({
                "provider": "nta-provider",
                "path": "/v1/corporations/1010001072706",
                "scopes": ["basic"],
            }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, retry, r.json::<serde_json::Value>().await.unwrap())
    };

    append(&node, 7, "ok").await;
    let (status, body) = ready().await;
    assert_eq!(
        (status, &body["checks"]["log_backlog"]),
        (200, &"ok".into()),
        "{body}"
    );
    append(&node, 1, "high").await;
    assert_eq!(node.log.backlog_level(10), BacklogLevel::High);
    let (status, body) = ready().await;
    assert_eq!(
        (status, &body["checks"]["log_backlog"]),
        (200, &"high".into()),
        "{body}"
    );

    // Two more fill it: the next exchange is refused before anything is sent, and not logged.
    append(&node, 2, "full").await;
    let (status, retry, body) = exchange().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "log_backlog_full", "{body}");
    assert_eq!(retry.as_deref(), Some("30"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("(limit 10)"),
        "{body}"
    );
    assert_eq!(node.log.pending(), 10, "the refusal adds no record");
    let (status, body) = ready().await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &"log_backlog_full".into()),
        "{body}"
    );

    // The portal comes: the records go, and exchanges are taken again (this one fails further on,
    // at the unreachable provider, and is logged).
    let portal = portal(dir.path(), &portal_addr).await;
    register(&portal, &node).await;
    serve_portal(&portal, &portal_addr).await;
    wait_held(&portal, 10).await;
    for _ in 0..100 {
        if node.log.pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = ready().await;
    assert_eq!(
        (status, &body["checks"]["log_backlog"]),
        (200, &"ok".into()),
        "{body}"
    );
    let (status, _, body) = exchange().await;
    assert_ne!(status, 503, "{body}");
    assert_eq!(node.log.head().await.0, 11, "the exchange was logged");
}
