//! A node's exchange log: append-only, hash-chained records, shipped to the portal in order.

pub mod audit;
pub mod head;
pub mod retention;

use crate::{jst, storage::entity::exchange_record};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::Mutex;

/// The `prev_hash` of a node's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One exchange step as a node saw it.
#[derive(Clone, Debug, Default)]
pub struct NewExchange {
    pub request_id: String,
    pub role: &'static str,
    pub requester: String,
    pub provider: String,
    pub api: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub scopes: Vec<String>,
    pub corporate_number: Option<String>,
    pub error_code: Option<String>,
    pub receipt: Option<String>,
    pub client_addr: Option<String>,
    /// `prior:<id>` or `tsudo:<jti>` when consent allowed the exchange.
    pub consent_ref: Option<String>,
}

pub struct ExchangeLog {
    db: DatabaseConnection,
    /// `(last seq, last hash)`; the lock also serialises appends so the chain has no forks.
    head: Mutex<(i64, String)>,
    /// The last seq in the chain and the last seq the portal confirmed: their difference is the backlog,
    /// known without counting rows on every exchange.
    last_seq: AtomicI64,
    shipped_seq: AtomicI64,
}

/// How full the buffer of records the portal has not received is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BacklogLevel {
    Ok,
    /// At or past 80 % of the bound: delivery to the portal is failing; an operator should look.
    High,
    /// At the bound: the node takes no new exchanges until the portal receives the records.
    Full,
}

impl BacklogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            BacklogLevel::Ok => "ok",
            BacklogLevel::High => "high",
            BacklogLevel::Full => "full",
        }
    }
}

impl ExchangeLog {
    pub async fn open(db: DatabaseConnection) -> Result<ExchangeLog, DbErr> {
        let last = exchange_record::Entity::find()
            .order_by_desc(exchange_record::Column::Seq)
            .one(&db)
            .await?;
        // With every record dropped by retention, the chain continues from the anchor.
        let head = match last {
            Some(r) => (r.seq, r.hash),
            None => retention::anchor(&db)
                .await?
                .map_or((0, GENESIS.to_owned()), |a| (a.seq, a.hash)),
        };
        let first_unshipped = exchange_record::Entity::find()
            .filter(exchange_record::Column::Shipped.eq(false))
            .order_by_asc(exchange_record::Column::Seq)
            .one(&db)
            .await?;
        let shipped = first_unshipped.map_or(head.0, |r| r.seq - 1);
        Ok(ExchangeLog {
            db,
            last_seq: AtomicI64::new(head.0),
            shipped_seq: AtomicI64::new(shipped),
            head: Mutex::new(head),
        })
    }

    /// Records written but not yet confirmed by the portal (kept in memory; see `backlog` for a count).
    pub fn pending(&self) -> u64 {
        let last = self.last_seq.load(Ordering::Acquire);
        let shipped = self.shipped_seq.load(Ordering::Acquire);
        u64::try_from(last - shipped).unwrap_or(0)
    }

    /// Where `pending` stands against `limit` (0: no bound).
    pub fn backlog_level(&self, limit: u64) -> BacklogLevel {
        let pending = self.pending();
        if limit == 0 {
            BacklogLevel::Ok
        } else if pending >= limit {
            BacklogLevel::Full
        } else if pending.saturating_mul(5) >= limit.saturating_mul(4) {
            BacklogLevel::High
        } else {
            BacklogLevel::Ok
        }
    }

    /// The newest `(seq, hash)`: what the node signs as its chain head.
    pub async fn head(&self) -> (i64, String) {
        self.head.lock().await.clone()
    }

    pub async fn append(&self, e: NewExchange) -> Result<exchange_record::Model, DbErr> {
        let mut head = self.head.lock().await;
        let outcome = if (200..300).contains(&e.status) {
            "ok"
        } else {
            "error"
        };
        let mut record = exchange_record::Model {
            seq: head.0 + 1,
            request_id: e.request_id,
            time: jst::now_rfc3339(),
            role: e.role.to_owned(),
            requester: e.requester,
            provider: e.provider,
            api: e.api,
            method: e.method,
            path: e.path,
            status: i32::from(e.status),
            latency_ms: (e.latency_ms * 1000.0).round() / 1000.0,
            bytes_in: e.bytes_in as i64,
            bytes_out: e.bytes_out as i64,
            scopes: e.scopes.join(" "),
            corporate_number: e.corporate_number,
            outcome: outcome.to_owned(),
            error_code: e.error_code,
            prev_hash: head.1.clone(),
            hash: String::new(),
            shipped: false,
            receipt: e.receipt,
            client_addr: e.client_addr,
            consent_ref: e.consent_ref,
        };
        record.hash = record_hash(&record);
        let active = exchange_record::ActiveModel {
            seq: Set(record.seq),
            request_id: Set(record.request_id.clone()),
            time: Set(record.time.clone()),
            role: Set(record.role.clone()),
            requester: Set(record.requester.clone()),
            provider: Set(record.provider.clone()),
            api: Set(record.api.clone()),
            method: Set(record.method.clone()),
            path: Set(record.path.clone()),
            status: Set(record.status),
            latency_ms: Set(record.latency_ms),
            bytes_in: Set(record.bytes_in),
            bytes_out: Set(record.bytes_out),
            scopes: Set(record.scopes.clone()),
            corporate_number: Set(record.corporate_number.clone()),
            outcome: Set(record.outcome.clone()),
            error_code: Set(record.error_code.clone()),
            prev_hash: Set(record.prev_hash.clone()),
            hash: Set(record.hash.clone()),
            shipped: Set(false),
            receipt: Set(record.receipt.clone()),
            client_addr: Set(record.client_addr.clone()),
            consent_ref: Set(record.consent_ref.clone()),
        };
        exchange_record::Entity::insert(active)
            .exec(&self.db)
            .await?;
        *head = (record.seq, record.hash.clone());
        self.last_seq.store(record.seq, Ordering::Release);
        Ok(record)
    }

    /// The oldest records not yet delivered to the portal, in chain order.
    pub async fn unshipped(&self, limit: u64) -> Result<Vec<exchange_record::Model>, DbErr> {
        exchange_record::Entity::find()
            .filter(exchange_record::Column::Shipped.eq(false))
            .order_by_asc(exchange_record::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
    }

    /// How many records wait for delivery to the portal.
    pub async fn backlog(&self) -> Result<u64, DbErr> {
        use sea_orm::PaginatorTrait;
        exchange_record::Entity::find()
            .filter(exchange_record::Column::Shipped.eq(false))
            .count(&self.db)
            .await
    }

    pub async fn mark_shipped(&self, up_to_seq: i64) -> Result<(), DbErr> {
        exchange_record::Entity::update_many()
            .col_expr(exchange_record::Column::Shipped, Expr::value(true))
            .filter(exchange_record::Column::Seq.lte(up_to_seq))
            .exec(&self.db)
            .await?;
        self.shipped_seq.fetch_max(up_to_seq, Ordering::AcqRel);
        Ok(())
    }

    /// Every record in chain order (for `renkei log verify` / `export`), read in pages.
    pub async fn all_records(
        db: &DatabaseConnection,
    ) -> Result<Vec<exchange_record::Model>, DbErr> {
        let mut out = Vec::new();
        loop {
            let last = out.last().map_or(0, |r: &exchange_record::Model| r.seq);
            let page = exchange_record::Entity::find()
                .filter(exchange_record::Column::Seq.gt(last))
                .order_by_asc(exchange_record::Column::Seq)
                .limit(10_000)
                .all(db)
                .await?;
            if page.is_empty() {
                return Ok(out);
            }
            out.extend(page);
        }
    }

    /// Newest first.
    pub async fn recent(&self, limit: u64) -> Result<Vec<exchange_record::Model>, DbErr> {
        exchange_record::Entity::find()
            .order_by_desc(exchange_record::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
    }
}

/// SHA-256 (hex) over the record's fields in a fixed order, chained to the previous record's hash.
/// `shipped` is delivery state, not evidence, and is left out. The later columns (receipt, client
/// address; then the consent reference) are appended only when set, so records written before them
/// keep their hashes.
pub fn record_hash(r: &exchange_record::Model) -> String {
    let mut canonical = serde_json::json!([
        r.seq,
        r.request_id,
        r.time,
        r.role,
        r.requester,
        r.provider,
        r.api,
        r.method,
        r.path,
        r.status,
        r.latency_ms,
        r.bytes_in,
        r.bytes_out,
        r.scopes,
        r.corporate_number,
        r.outcome,
        r.error_code,
        r.prev_hash,
    ]);
    if (r.receipt.is_some() || r.client_addr.is_some() || r.consent_ref.is_some())
        && let Some(items) = canonical.as_array_mut()
    {
        items.push(serde_json::json!(r.receipt));
        items.push(serde_json::json!(r.client_addr));
        if r.consent_ref.is_some() {
            items.push(serde_json::json!(r.consent_ref));
        }
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Where a chain first breaks.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("record {seq}: its hash does not match its content")]
    Altered { seq: i64 },
    #[error(
        "record {seq}: it does not follow the record before it (removed or re-ordered records)"
    )]
    Unlinked { seq: i64 },
}

/// Checks a run of consecutive records, the first linking to `prev_hash`.
pub fn verify_chain(prev_hash: &str, records: &[exchange_record::Model]) -> Result<(), ChainError> {
    let mut prev = prev_hash;
    let mut expected_seq = records.first().map(|r| r.seq);
    for r in records {
        if r.prev_hash != prev || Some(r.seq) != expected_seq {
            return Err(ChainError::Unlinked { seq: r.seq });
        }
        if record_hash(r) != r.hash {
            return Err(ChainError::Altered { seq: r.seq });
        }
        prev = &r.hash;
        expected_seq = Some(r.seq + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::storage::scratch::ScratchDatabase;

    async fn log_with(
        db: &ScratchDatabase,
        n: usize,
    ) -> (ExchangeLog, Vec<exchange_record::Model>) {
        let db = crate::storage::open(&db.url).await.unwrap();
        let log = ExchangeLog::open(db).await.unwrap();
        let mut out = Vec::new();
        for i in 0..n {
            out.push(append_one(&log, i).await);
        }
        (log, out)
    }

    /// Fields of every type the chain hashes, so a backend that changes one on the way back breaks the chain.
    async fn append_one(log: &ExchangeLog, i: usize) -> exchange_record::Model {
        log.append(NewExchange {
            request_id: format!("r{i}"),
            role: "provider",
            requester: "grant-requester".into(),
            provider: "nta-provider".into(),
            api: "nta-corporations".into(),
            status: 200,
            method: "GET".into(),
            path: "/v1/corporations/1010001072706?x=法人".into(),
            latency_ms: 1.0 / 3.0 + i as f64,
            bytes_in: 0,
            bytes_out: 4_000_000_000 + i as u64,
            scopes: vec!["basic".into(), "x-nta".into()],
            corporate_number: i.is_multiple_of(2).then(|| "1010001072706".into()),
            error_code: None,
            client_addr: Some("192.0.2.7".into()),
            receipt: Some(format!("receipt-{i}")),
            consent_ref: i.is_multiple_of(3).then(|| format!("prior:{i}")),
        })
        .await
        .unwrap()
    }

    async fn chain_verifies_and_detects_tampering(db: ScratchDatabase) {
        let (log, records) = log_with(&db, 3).await;
        assert_eq!(records[0].prev_hash, GENESIS);
        assert_eq!(records[1].prev_hash, records[0].hash);
        let mut stored = log.recent(10).await.unwrap();
        stored.reverse();
        assert_eq!(stored, records, "stored as appended on {}", db.backend);
        assert_eq!(verify_chain(GENESIS, &stored), Ok(()));

        let mut altered = stored.clone();
        altered[1].status = 500;
        assert_eq!(
            verify_chain(GENESIS, &altered),
            Err(ChainError::Altered { seq: 2 })
        );

        let removed = vec![stored[0].clone(), stored[2].clone()];
        assert_eq!(
            verify_chain(GENESIS, &removed),
            Err(ChainError::Unlinked { seq: 3 })
        );

        let reordered = vec![stored[1].clone(), stored[0].clone()];
        assert_eq!(
            verify_chain(GENESIS, &reordered),
            Err(ChainError::Unlinked { seq: 2 })
        );
    }

    async fn the_chain_continues_after_a_restart(db: ScratchDatabase) {
        let (log, _) = log_with(&db, 2).await;
        let reopened = ExchangeLog::open(log.db.clone()).await.unwrap();
        let third = append_one(&reopened, 2).await;
        assert_eq!(third.seq, 3);
        let mut stored = reopened.recent(10).await.unwrap();
        stored.reverse();
        assert_eq!(third.prev_hash, stored[1].hash);
        assert_eq!(verify_chain(GENESIS, &stored), Ok(()), "{}", db.backend);
    }

    async fn shipping_marks_in_order(db: ScratchDatabase) {
        let (log, _) = log_with(&db, 3).await;
        assert_eq!(log.unshipped(10).await.unwrap().len(), 3);
        log.mark_shipped(2).await.unwrap();
        let left = log.unshipped(10).await.unwrap();
        assert_eq!(left.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3]);
    }

    crate::on_each_backend!(
        chain_verifies_and_detects_tampering,
        the_chain_continues_after_a_restart,
        shipping_marks_in_order
    );
}
