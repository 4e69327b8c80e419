//! Retention by month on the portal's collected records: old months go for every node, the signed
//! heads stay and still verify against what is held, and a second run drops nothing.

use super::*;
use crate::{
    node::exchange_log::retention::chain_at,
    portal::{PortalConfig, PortalState, chain_heads},
    storage::{entity::exchange_record, scratch::ScratchDatabase},
};
use sea_orm::{ActiveValue::Set, PaginatorTrait};

/// 2026-12-04 10:11:12 JST: with 12 months, 2026-01 … 2026-12 are kept.
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-04T10:11:12.000+09:00").unwrap()
}

const OLD: [&str; 3] = [
    "2025-11-02T08:00:00.000+09:00",
    "2025-11-30T23:00:00.000+09:00",
    "2025-12-31T23:59:59.999+09:00",
];
const KEPT: [&str; 3] = [
    "2026-01-01T00:00:00.000+09:00",
    "2026-06-15T12:00:00.000+09:00",
    "2026-12-04T10:00:00.000+09:00",
];

async fn portal(db: &ScratchDatabase, dir: &std::path::Path) -> Arc<PortalState> {
    PortalState::open(PortalConfig {
        listen: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        key_file: dir.join("portal.key.pem"),
        site_root: dir.join("site"),
        bundle_lifetime_secs: crate::portal::DEFAULT_BUNDLE_LIFETIME_SECS,
        accounts: Default::default(),
        tls: None,
        log_retention_months: 12,
    })
    .await
    .unwrap()
}

/// Stores a node's records as ingest does, and its signed head at `head` (when given).
async fn collect(
    db: &DatabaseConnection,
    node: &str,
    times: &[&str],
    head: Option<i64>,
) -> Vec<exchange_record::Model> {
    let records = chain_at((0, crate::node::exchange_log::GENESIS.to_owned()), times);
    for r in &records {
        portal_exchange::Entity::insert(portal_exchange::ActiveModel {
            node: Set(node.to_owned()),
            seq: Set(r.seq),
            request_id: Set(r.request_id.clone()),
            time: Set(r.time.clone()),
            role: Set(r.role.clone()),
            requester: Set(r.requester.clone()),
            provider: Set(r.provider.clone()),
            api: Set(r.api.clone()),
            method: Set(r.method.clone()),
            path: Set(r.path.clone()),
            status: Set(r.status),
            latency_ms: Set(r.latency_ms),
            bytes_in: Set(r.bytes_in),
            bytes_out: Set(r.bytes_out),
            scopes: Set(r.scopes.clone()),
            corporate_number: Set(r.corporate_number.clone()),
            outcome: Set(r.outcome.clone()),
            error_code: Set(r.error_code.clone()),
            prev_hash: Set(r.prev_hash.clone()),
            hash: Set(r.hash.clone()),
            receipt: Set(None),
            client_addr: Set(None),
            consent_ref: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    if let Some(seq) = head {
        let r = &records[usize::try_from(seq - 1).unwrap()];
        portal_chain_head::Entity::insert(portal_chain_head::ActiveModel {
            node: Set(node.to_owned()),
            seq: Set(r.seq),
            hash: Set(r.hash.clone()),
            signed_at: Set(r.time.clone()),
            jws: Set("signed-by-the-node".into()),
            received_at: Set(r.time.clone()),
        })
        .exec(db)
        .await
        .unwrap();
    }
    records
}

async fn held(db: &DatabaseConnection, node: &str) -> Vec<i64> {
    portal_exchange::Entity::find()
        .select_only()
        .column(portal_exchange::Column::Seq)
        .filter(portal_exchange::Column::Node.eq(node))
        .order_by_asc(portal_exchange::Column::Seq)
        .into_tuple()
        .all(db)
        .await
        .unwrap()
}

async fn old_months_are_dropped_for_every_node_and_the_heads_still_verify(
    scratch: ScratchDatabase,
) {
    let dir = tempfile::tempdir().unwrap();
    let state = portal(&scratch, dir.path()).await;
    let db = &state.db;
    let times: Vec<&str> = OLD.iter().chain(KEPT.iter()).copied().collect();
    // An active node, one that went quiet a year ago, and one that never signed a head.
    collect(db, "active", &times, Some(6)).await;
    let quiet = collect(db, "quiet", &OLD, Some(3)).await;
    collect(db, "unsigned", &OLD[..2], None).await;

    let pruned = prune_in_batches(db, 12, now(), 2).await.unwrap();
    assert_eq!(pruned.records, 3 + 2 + 2, "{}", scratch.backend);
    assert_eq!(pruned.nodes, 3);
    assert_eq!(
        pruned.months,
        Some(("2025-11".to_owned(), "2025-12".to_owned()))
    );
    assert_eq!(
        held(db, "active").await,
        vec![4, 5, 6],
        "the kept months stay"
    );
    // The record the quiet node's head names is all that is left of it.
    assert_eq!(held(db, "quiet").await, vec![3]);
    assert!(held(db, "unsigned").await.is_empty());

    // The heads stay and re-verify from the oldest record held.
    assert_eq!(
        portal_chain_head::Entity::find().count(db).await.unwrap(),
        2
    );
    for (node, checked) in [("active", 3), ("quiet", 1)] {
        let head = portal_chain_head::Entity::find_by_id(node)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let view = chain_heads::check(&state, head).await.unwrap();
        assert!(view.verified, "{node}: {:?}", view.problem);
        assert_eq!(view.records_checked, checked, "{node}");
    }
    assert_eq!(
        portal_chain_head::Entity::find_by_id("quiet")
            .one(db)
            .await
            .unwrap()
            .map(|h| h.hash),
        Some(quiet[2].hash.clone())
    );

    // A second run finds nothing more.
    let again = prune(db, 12, now()).await.unwrap();
    assert_eq!((again.records, again.nodes, again.months), (0, 0, None));
    assert_eq!(held(db, "active").await, vec![4, 5, 6]);
    assert_eq!(held(db, "quiet").await, vec![3]);

    // The daily task runs the same on the real clock.
    let live = run_once(&state).await.unwrap();
    assert!(live.cutoff.is_some());
}

async fn zero_months_keeps_every_collected_record(scratch: ScratchDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let state = portal(&scratch, dir.path()).await;
    collect(&state.db, "node", &OLD, None).await;
    assert_eq!(prune(&state.db, 0, now()).await.unwrap(), Pruned::default());
    assert_eq!(
        held(&state.db, "node").await,
        vec![1, 2, 3],
        "{}",
        scratch.backend
    );
}

/// Sends the node's records `seqs` as its shipper does (signed, with the last record as signed head
/// when `signed_head`); the status and body of the portal's answer.
async fn ship(
    state: &Arc<PortalState>,
    key: &crate::keys::NodeKey,
    log: &crate::node::exchange_log::ExchangeLog,
    seqs: std::ops::RangeInclusive<i64>,
    signed_head: bool,
) -> (u16, serde_json::Value) {
    use crate::node::{exchange_log::head, shipper};
    let mut records = log.recent(100).await.unwrap();
    records.reverse();
    records.retain(|r| seqs.contains(&r.seq));
    let last = records.last().unwrap();
    let head = signed_head.then(|| head::sign(key, "node-a", last.seq, &last.hash));
    let body = serde_json::to_vec(
        &serde_json::json!({ "node": "node-a", "records": records, "head": head }),
    )
    .unwrap();
    let token = crate::token::sign(
        key,
        "node-a",
        &crate::token::TokenRequest {
            audience: shipper::PORTAL_AUDIENCE,
            request_id: "batch",
            method: "POST",
            path: shipper::INGEST_PATH,
            scopes: &[],
            body: &body,
            consent_ref: None,
        },
        30,
    );
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    match crate::portal::ingest::receive_exchange_records(
        axum::extract::State(state.clone()),
        headers,
        body.into(),
    )
    .await
    {
        Ok(axum::Json(v)) => (200, v),
        Err(e) => (e.status.as_u16(), e.body()),
    }
}

async fn a_node_goes_on_delivering_after_its_old_months_were_dropped(scratch: ScratchDatabase) {
    use crate::node::exchange_log::{ExchangeLog, NewExchange};
    let dir = tempfile::tempdir().unwrap();
    let state = portal(&scratch, dir.path()).await;
    let key = crate::keys::NodeKey::generate();
    state
        .register_node(crate::storage::entity::portal_node::Model {
            client_id: "node-a".into(),
            organisation: "A".into(),
            endpoint: "http://127.0.0.1:1".into(),
            public_key: key.public_b64(),
        })
        .await
        .unwrap();
    // The node's log (in the same database here; retention on the portal side touches only its copy).
    let log = ExchangeLog::open(state.db.clone()).await.unwrap();
    let append = |n: usize| {
        let log = &log;
        async move {
            for i in 0..n {
                log.append(NewExchange {
                    request_id: format!("r{i}"),
                    role: "provider",
                    status: 200,
                    ..Default::default()
                })
                .await
                .unwrap();
            }
        }
    };
    // Two years on, everything delivered today is old.
    let later = jst::now() + chrono::Duration::days(800);
    append(3).await;
    assert_eq!(ship(&state, &key, &log, 1..=3, true).await.0, 200);
    assert_eq!(
        prune(&state.db, 12, later).await.unwrap().records,
        2,
        "{}",
        scratch.backend
    );
    assert_eq!(held(&state.db, "node-a").await, vec![3]);

    // The next batch links to the record the head kept.
    append(2).await;
    let (status, body) = ship(&state, &key, &log, 4..=5, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(held(&state.db, "node-a").await, vec![3, 4, 5]);
    let head = portal_chain_head::Entity::find_by_id("node-a")
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.seq, 5);
    let view = chain_heads::check(&state, head).await.unwrap();
    assert!(view.verified, "{:?}", view.problem);
    assert_eq!(view.records_checked, 3);

    // With nothing held before it at all, a batch is still taken (its first record links to what was dropped).
    assert_eq!(prune(&state.db, 12, later).await.unwrap().records, 2);
    portal_chain_head::Entity::delete_by_id("node-a")
        .exec(&state.db)
        .await
        .unwrap();
    assert_eq!(prune(&state.db, 12, later).await.unwrap().records, 1);
    assert!(held(&state.db, "node-a").await.is_empty());
    append(1).await;
    let (status, body) = ship(&state, &key, &log, 6..=6, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(held(&state.db, "node-a").await, vec![6]);
}

crate::on_each_backend!(
    old_months_are_dropped_for_every_node_and_the_heads_still_verify,
    zero_months_keeps_every_collected_record,
    a_node_goes_on_delivering_after_its_old_months_were_dropped
);
