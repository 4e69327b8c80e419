//! Storage behaviour on both backends: dataset load, atomic publish and lookup, and the portal's
//! exactly-once log ingest. Each test runs as `sqlite::…` and `postgres::…` on a database of its own.
//!
//! The NTA guest must be built first: `scripts/build-plugins.sh`. PostgreSQL: `RENKEI_TEST_POSTGRES_URL`
//! (`scripts/postgres.sh` prints it; `scripts/test.sh` sets it).

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, header::AUTHORIZATION},
};
use renkei::{
    dataset::{self, DatasetError},
    keys::NodeKey,
    node::{
        exchange_log::{ExchangeLog, NewExchange},
        shipper::{INGEST_PATH, PORTAL_AUDIENCE},
    },
    plugin_host::{Plugin, PluginHost, SandboxPolicy},
    portal::{PortalConfig, PortalState, ingest},
    storage::{
        self,
        entity::{corporation_record, dataset as dataset_entity, exchange_record, portal_exchange},
        scratch::ScratchDatabase,
    },
    token::{self, TokenRequest},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    sync::{Arc, LazyLock},
};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compiled once per test binary: compiling the guest is the slow part of a debug build.
static NTA: LazyLock<Plugin> = LazyLock::new(|| {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let path = target.join("wasm32-wasip2/release/nta_corporate_number.wasm");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run scripts/build-plugins.sh first",
            path.display()
        )
    });
    PluginHost::new(SandboxPolicy::default())
        .expect("plugin engine")
        .load(&wasm)
        .expect("the NTA plugin loads")
});

const SJIS: &str = "demo/data/nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv";
const UTF8: &str = "demo/data/nta_sabun_20210714.utf8.csv";

async fn dataset_load_publishes_atomically_and_answers_lookups(db: ScratchDatabase) {
    let conn = storage::open(&db.url).await.expect("open");
    let plugin = NTA.clone();
    let name = "nta-corporations";

    let first = dataset::load(
        &conn,
        &plugin,
        name,
        &[repo_root().join(SJIS), repo_root().join(UTF8)],
    )
    .await
    .expect("first load");
    let per_file: Vec<(&str, u64, u64, Option<&str>)> = first
        .sources
        .iter()
        .map(|s| (s.file.as_str(), s.records, s.rejects, s.as_of.as_deref()))
        .collect();
    assert_eq!(
        per_file,
        [
            (
                "nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv",
                2000,
                0,
                Some("2017-06-06")
            ),
            ("nta_sabun_20210714.utf8.csv", 2772, 0, Some("2021-07-14")),
        ],
        "{}",
        db.backend
    );
    assert_eq!((first.records, first.rejects), (4772, 0));
    let stored = corporation_record::Entity::find()
        .filter(corporation_record::Column::DatasetId.eq(first.version))
        .count(&conn)
        .await
        .unwrap();
    assert_eq!(stored, 4772, "every record stored on {}", db.backend);

    // A current row answers; the history row before it (`latest=0`, line 40) does not.
    let found = dataset::find(&conn, name, "1011002022162")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        found.document["Basic"]["Destination"]["Corporate name"],
        "ＹＫユニット有限会社"
    );
    assert_eq!(found.line, 41);
    assert_eq!(found.source.file_name, "nta_sabun_20210714.utf8.csv");
    assert_eq!(
        found.source.sha256,
        "cfbf6bc122d41c5e1b74155c2e881ce7c9df3c2a120875c95972e7b1fb27d5bf"
    );
    assert_eq!(found.dataset.id, first.version);
    assert!(
        dataset::find(&conn, name, "1234567890123")
            .await
            .unwrap()
            .is_none()
    );

    // A second load becomes active in one step; the first is superseded, not deleted.
    let second = dataset::load(&conn, &plugin, name, &[repo_root().join(UTF8)])
        .await
        .expect("second load");
    assert_eq!(second.records, 2772);
    let statuses: Vec<(i64, String)> = dataset_entity::Entity::find()
        .filter(dataset_entity::Column::Name.eq(name))
        .order_by_asc(dataset_entity::Column::Id)
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (first.version, "superseded".to_owned()),
            (second.version, "active".to_owned())
        ]
    );
    let found = dataset::find(&conn, name, "1010001072706")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.dataset.id, second.version);
    assert_eq!(found.line, 1);

    // A file with no record fails, leaves the active version as it was, and keeps none of its rows.
    let error = dataset::load(&conn, &plugin, name, &[repo_root().join("README.md")])
        .await
        .unwrap_err();
    assert!(
        matches!(error, DatasetError::NothingConverted { rejects, .. } if rejects > 0),
        "{error}"
    );
    let active = dataset::active(&conn, name).await.unwrap().expect("active");
    assert_eq!(active.id, second.version);
    let failed = dataset_entity::Entity::find()
        .filter(dataset_entity::Column::Status.eq("failed"))
        .one(&conn)
        .await
        .unwrap()
        .expect("the failed version is recorded");
    assert!(
        failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no record could be converted")),
        "{:?}",
        failed.error
    );
    let leftover = corporation_record::Entity::find()
        .filter(corporation_record::Column::DatasetId.eq(failed.id))
        .count(&conn)
        .await
        .unwrap();
    assert_eq!(leftover, 0);
}

/// A portal with one registered node, over `db`; the node's log lives in the same database.
struct Ingest {
    portal: Arc<PortalState>,
    node_key: NodeKey,
    log: ExchangeLog,
    _dir: tempfile::TempDir,
}

const NODE: &str = "nta-provider";

impl Ingest {
    async fn new(db: &ScratchDatabase) -> Ingest {
        let dir = tempfile::tempdir().unwrap();
        let portal = PortalState::open(PortalConfig {
            listen: "127.0.0.1:0".into(),
            database_url: db.url.clone(),
            key_file: dir.path().join("portal.key.pem"),
            site_root: dir.path().join("site"),
            bundle_lifetime_secs: renkei::portal::DEFAULT_BUNDLE_LIFETIME_SECS,
            accounts: Default::default(),
            tls: None,
            log_retention_months: 12,
        })
        .await
        .expect("portal opens");
        let node_key = NodeKey::generate();
        portal
            .register_node(renkei::storage::entity::portal_node::Model {
                client_id: NODE.into(),
                organisation: "国税庁データ提供者".into(),
                endpoint: "http://127.0.0.1:1".into(),
                public_key: node_key.public_b64(),
            })
            .await
            .expect("register");
        let log = ExchangeLog::open(portal.db.clone()).await.unwrap();
        Ingest {
            portal,
            node_key,
            log,
            _dir: dir,
        }
    }

    async fn append(&self, n: usize) {
        for i in 0..n {
            self.log
                .append(NewExchange {
                    request_id: uuid_like(i),
                    role: "provider",
                    requester: "grant-requester".into(),
                    provider: NODE.into(),
                    api: "nta-corporations".into(),
                    method: "GET".into(),
                    path: "/v1/corporations/1010001072706".into(),
                    status: if i % 3 == 2 { 404 } else { 200 },
                    latency_ms: 0.1 + i as f64 / 7.0,
                    bytes_in: 0,
                    bytes_out: 1200 + i as u64,
                    scopes: vec!["basic".into()],
                    corporate_number: Some("1010001072706".into()),
                    error_code: (i % 3 == 2).then(|| "not_found".into()),
                    client_addr: Some("192.0.2.7".into()),
                    receipt: None,
                    consent_ref: (i % 4 == 1).then(|| format!("prior:{i}")),
                })
                .await
                .unwrap();
        }
    }

    async fn records(&self, seqs: std::ops::RangeInclusive<i64>) -> Vec<exchange_record::Model> {
        let mut all = self.log.recent(1000).await.unwrap();
        all.reverse();
        all.into_iter().filter(|r| seqs.contains(&r.seq)).collect()
    }

    /// Sends a batch as a node would, signed by `key`; returns (status, body).
    async fn send(&self, key: &NodeKey, body: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(body).unwrap();
        let token = token::sign(
            key,
            NODE,
            &TokenRequest {
                audience: PORTAL_AUDIENCE,
                request_id: "batch",
                method: "POST",
                path: INGEST_PATH,
                scopes: &[],
                body: &body,
                consent_ref: None,
            },
            30,
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let result = ingest::receive_exchange_records(
            State(self.portal.clone()),
            headers,
            Bytes::from(body),
        )
        .await;
        match result {
            Ok(axum::Json(v)) => (200, v),
            Err(e) => (e.status.as_u16(), e.body()),
        }
    }

    async fn batch(&self, seqs: std::ops::RangeInclusive<i64>) -> (u16, Value) {
        let records = self.records(seqs).await;
        self.send(&self.node_key, &json!({"node": NODE, "records": records}))
            .await
    }

    async fn collected(&self) -> Vec<portal_exchange::Model> {
        portal_exchange::Entity::find()
            .filter(portal_exchange::Column::Node.eq(NODE))
            .order_by_asc(portal_exchange::Column::Seq)
            .all(&self.portal.db)
            .await
            .unwrap()
    }
}

fn uuid_like(i: usize) -> String {
    format!("0190f7a0-0000-7000-8000-{i:012}")
}

fn error_code(body: &Value) -> &str {
    body.pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("<none>")
}

async fn portal_ingest_stores_each_record_exactly_once(db: ScratchDatabase) {
    let t = Ingest::new(&db).await;
    t.append(6).await;

    assert_eq!(t.batch(1..=3).await, (200, json!({"stored": 3})));
    // The same batch again (a lost answer, a retry) and an overlapping one store nothing twice.
    assert_eq!(t.batch(1..=3).await.0, 200);
    assert_eq!(t.batch(2..=5).await.0, 200);
    let collected = t.collected().await;
    assert_eq!(
        collected.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5],
        "{}",
        db.backend
    );
    // Stored exactly as the node logged them (the hash still verifies the content).
    let node_records = t.records(1..=5).await;
    for (portal, node) in collected.iter().zip(&node_records) {
        assert_eq!(
            (
                &portal.request_id,
                &portal.hash,
                &portal.prev_hash,
                portal.latency_ms,
                portal.status,
                &portal.error_code
            ),
            (
                &node.request_id,
                &node.hash,
                &node.prev_hash,
                node.latency_ms,
                node.status,
                &node.error_code
            )
        );
    }

    // A changed record is refused and nothing of its batch is stored.
    let mut tampered = t.records(6..=6).await;
    tampered[0].status = 200;
    let (status, body) = t
        .send(&t.node_key, &json!({"node": NODE, "records": tampered}))
        .await;
    assert_eq!((status, error_code(&body)), (422, "chain_broken"), "{body}");

    // A batch signed by another key, or naming another node, is refused.
    let records = t.records(6..=6).await;
    let (status, body) = t
        .send(
            &NodeKey::generate(),
            &json!({"node": NODE, "records": records}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "token_signature"),
        "{body}"
    );
    let (status, body) = t
        .send(
            &t.node_key,
            &json!({"node": "someone-else", "records": records}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (403, "node_mismatch"),
        "{body}"
    );
    assert_eq!(t.collected().await.len(), 5);

    assert_eq!(t.batch(6..=6).await, (200, json!({"stored": 1})));
    assert_eq!(t.collected().await.len(), 6);
}

/// A batch carries the node's signed head of its last record; the portal keeps the newest valid one.
async fn portal_keeps_each_nodes_newest_signed_head(db: ScratchDatabase) {
    use renkei::node::exchange_log::head;
    use renkei::storage::entity::portal_chain_head;
    let t = Ingest::new(&db).await;
    t.append(4).await;
    let held = || async {
        portal_chain_head::Entity::find_by_id(NODE)
            .one(&t.portal.db)
            .await
            .unwrap()
            .map(|h| (h.seq, h.hash))
    };
    let with_head = |records: &[exchange_record::Model], jws: String| json!({"node": NODE, "records": records, "head": jws});

    let records = t.records(1..=3).await;
    let last = records.last().unwrap().clone();
    let jws = head::sign(&t.node_key, NODE, last.seq, &last.hash);
    let (status, body) = t.send(&t.node_key, &with_head(&records, jws)).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"stored": 3, "head": {"seq": 3, "hash": last.hash}})
        ),
        "{}",
        db.backend
    );
    assert_eq!(held().await, Some((3, last.hash.clone())));

    // Signed by another key, or naming a record other than the batch's last: refused, nothing kept.
    let other = NodeKey::generate();
    let forged = head::sign(&other, NODE, last.seq, &last.hash);
    let (status, body) = t.send(&t.node_key, &with_head(&records, forged)).await;
    assert_eq!(
        (status, error_code(&body)),
        (422, "chain_head_invalid"),
        "{body}"
    );
    let earlier = &records[1];
    let wrong = head::sign(&t.node_key, NODE, earlier.seq, &earlier.hash);
    let (status, body) = t.send(&t.node_key, &with_head(&records, wrong)).await;
    assert_eq!(
        (status, error_code(&body)),
        (422, "chain_head_invalid"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not the batch's last record"),
        "{body}"
    );

    // A newer head replaces it; an older one sent again later does not.
    let records4 = t.records(4..=4).await;
    let fourth = records4[0].clone();
    let jws4 = head::sign(&t.node_key, NODE, fourth.seq, &fourth.hash);
    assert_eq!(
        t.send(&t.node_key, &with_head(&records4, jws4)).await.0,
        200
    );
    assert_eq!(held().await, Some((4, fourth.hash.clone())));
    let old = head::sign(&t.node_key, NODE, last.seq, &last.hash);
    assert_eq!(t.send(&t.node_key, &with_head(&records, old)).await.0, 200);
    assert_eq!(held().await, Some((4, fourth.hash)));
}

renkei::on_each_backend!(
    dataset_load_publishes_atomically_and_answers_lookups,
    portal_ingest_stores_each_record_exactly_once,
    portal_keeps_each_nodes_newest_signed_head
);
