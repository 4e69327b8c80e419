//! Retention of a node's exchange log by month: records of months older than `[log] retention_months`
//! are dropped, once the portal has received them.
//!
//! Only a prefix of the chain is ever dropped (every record before the first one that must stay: one of
//! a kept month, or one the portal has not yet received), so the kept records still link up. The last
//! dropped record's `seq` and `hash` are written as the anchor in the same transaction as the delete;
//! the first kept record links to it, and `renkei log verify` starts from it instead of the genesis.

use super::audit;
use crate::{
    jst,
    node::NodeState,
    storage::entity::{exchange_anchor, exchange_record},
};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SecondsFormat, TimeZone};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use std::{
    sync::{Arc, Weak},
    time::Duration,
};

/// Rows deleted per statement, so dropping a big month never holds the database for long.
pub const BATCH: u64 = 10_000;

/// How often the background task looks for months to drop.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// After a failed run, the next try comes sooner than a day.
const RETRY: Duration = Duration::from_secs(3600);

/// The anchor's one row.
const ANCHOR_ID: i32 = 1;

/// Where a shortened log starts, as `renkei log export` writes it (first line `{"anchor": {…}}`) and
/// `renkei log verify` reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// The last dropped record: the first kept one is `seq + 1` and links to `hash`.
    pub seq: i64,
    pub hash: String,
    /// The last dropped record's time.
    pub record_time: String,
    /// Records before this instant (00:00 JST on the first day of the oldest kept month) were dropped.
    pub cutoff: String,
    /// When they were dropped.
    pub dropped_at: String,
}

impl From<exchange_anchor::Model> for Anchor {
    fn from(m: exchange_anchor::Model) -> Anchor {
        Anchor {
            seq: m.seq,
            hash: m.hash,
            record_time: m.record_time,
            cutoff: m.cutoff,
            dropped_at: m.dropped_at,
        }
    }
}

/// What one run dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub records: u64,
    /// The months (`YYYY-MM`) of the oldest and the newest record dropped.
    pub months: Option<(String, String)>,
    /// None: retention is off (0 months).
    pub cutoff: Option<String>,
    /// Where the kept log starts after this run (also when this run dropped nothing).
    pub anchor: Option<Anchor>,
}

/// 00:00 JST on the first day of the oldest month kept, with `months` kept and the current month
/// counting as one: on 2026-12-04 with 12 months, `2026-01-01T00:00:00+09:00`. None for 0 months (keep
/// everything). Records are timed `…+09:00`, so a record is older exactly when its `time` sorts before
/// this string (with or without milliseconds).
pub fn cutoff(now: DateTime<FixedOffset>, months: u32) -> Option<String> {
    let months = months.checked_sub(1)?;
    let now = now.with_timezone(&jst::offset());
    let index = i64::from(now.year()) * 12 + i64::from(now.month0()) - i64::from(months);
    let year = i32::try_from(index.div_euclid(12))
        .ok()
        .filter(|y| *y >= 1)?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    let midnight = NaiveDate::from_ymd_opt(year, month, 1)?.and_hms_opt(0, 0, 0)?;
    let at = jst::offset().from_local_datetime(&midnight).single()?;
    Some(at.to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// `YYYY-MM` of an RFC 3339 time.
pub fn month_of(time: &str) -> String {
    time.get(..7).unwrap_or(time).to_owned()
}

/// The anchor, when retention has dropped records.
pub async fn anchor(db: &impl ConnectionTrait) -> Result<Option<Anchor>, DbErr> {
    Ok(exchange_anchor::Entity::find_by_id(ANCHOR_ID)
        .one(db)
        .await?
        .map(Anchor::from))
}

/// The anchor of a database read as it is (`renkei log verify` and `export` run no migration): a
/// database from before retention has no anchor table, and no anchor.
pub async fn anchor_if_any(db: &DatabaseConnection) -> Result<Option<Anchor>, DbErr> {
    let schema = sea_orm_migration::SchemaManager::new(db);
    if !schema.has_table("exchange_anchor").await? {
        return Ok(None);
    }
    anchor(db).await
}

/// Drops the delivered records of months before the [`cutoff`], oldest first, [`BATCH`] at a time.
pub async fn prune(
    db: &DatabaseConnection,
    months: u32,
    now: DateTime<FixedOffset>,
) -> Result<Pruned, DbErr> {
    prune_in_batches(db, months, now, BATCH).await
}

async fn prune_in_batches(
    db: &DatabaseConnection,
    months: u32,
    now: DateTime<FixedOffset>,
    batch: u64,
) -> Result<Pruned, DbErr> {
    use exchange_record::Column as C;
    let Some(cutoff) = cutoff(now, months) else {
        return Ok(Pruned::default());
    };
    let dropped_at = now
        .with_timezone(&jst::offset())
        .to_rfc3339_opts(SecondsFormat::Millis, false);
    let mut out = Pruned {
        cutoff: Some(cutoff.clone()),
        anchor: anchor(db).await?,
        ..Pruned::default()
    };
    // Read first: records appended while this runs are never in range.
    let last_of_log: Option<i64> = exchange_record::Entity::find()
        .select_only()
        .column(C::Seq)
        .order_by_desc(C::Seq)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    // The first record that stays: not yet received by the portal, or of a kept month. Every record
    // before it goes; none after it, whatever its time (a clock set back cannot punch holes in the chain).
    let keep_from: Option<i64> = exchange_record::Entity::find()
        .select_only()
        .column(C::Seq)
        .filter(
            Condition::any()
                .add(C::Shipped.eq(false))
                .add(C::Time.gte(cutoff.as_str())),
        )
        .order_by_asc(C::Seq)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let Some(end) = last_of_log.map(|last| keep_from.map_or(last, |keep| last.min(keep - 1)))
    else {
        return Ok(out);
    };
    let size = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
    loop {
        let Some(first) = exchange_record::Entity::find()
            .filter(C::Seq.lte(end))
            .order_by_asc(C::Seq)
            .one(db)
            .await?
        else {
            break;
        };
        let upto = first.seq.saturating_add(size - 1).min(end);
        let txn = db.begin().await?;
        let Some(last) = exchange_record::Entity::find()
            .filter(C::Seq.lte(upto))
            .order_by_desc(C::Seq)
            .one(&txn)
            .await?
        else {
            break;
        };
        let deleted = exchange_record::Entity::delete_many()
            .filter(C::Seq.lte(last.seq))
            .exec(&txn)
            .await?;
        let row = exchange_anchor::ActiveModel {
            id: Set(ANCHOR_ID),
            seq: Set(last.seq),
            hash: Set(last.hash.clone()),
            record_time: Set(last.time.clone()),
            cutoff: Set(cutoff.clone()),
            dropped_at: Set(dropped_at.clone()),
        };
        exchange_anchor::Entity::insert(row)
            .on_conflict(
                OnConflict::column(exchange_anchor::Column::Id)
                    .update_columns([
                        exchange_anchor::Column::Seq,
                        exchange_anchor::Column::Hash,
                        exchange_anchor::Column::RecordTime,
                        exchange_anchor::Column::Cutoff,
                        exchange_anchor::Column::DroppedAt,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        txn.commit().await?;
        out.records += deleted.rows_affected;
        let oldest = match out.months.take() {
            Some((oldest, _)) => oldest,
            None => month_of(&first.time),
        };
        out.months = Some((oldest, month_of(&last.time)));
        out.anchor = Some(Anchor {
            seq: last.seq,
            hash: last.hash,
            record_time: last.time,
            cutoff: cutoff.clone(),
            dropped_at: dropped_at.clone(),
        });
    }
    Ok(out)
}

/// Verifies a log read from its database or an export from its anchor (or the genesis, without one).
pub fn verify(
    anchor: Option<&Anchor>,
    records: &[exchange_record::Model],
    expected_head: Option<(i64, &str)>,
) -> Result<audit::VerifiedHead, audit::BrokenLink> {
    match anchor {
        Some(a) => audit::audit_from((a.seq, &a.hash), records, expected_head),
        None => audit::audit(records, expected_head),
    }
}

/// Drops what `[log] retention_months` no longer keeps, now; logs and counts what went.
pub async fn run_once(state: &NodeState) -> Result<Pruned, DbErr> {
    let pruned = prune(&state.db, state.config.log.retention_months, jst::now()).await?;
    if let (Some((oldest, newest)), Some(anchor)) = (&pruned.months, &pruned.anchor) {
        tracing::info!(
            records = pruned.records,
            months = %format!("{oldest}..{newest}"),
            cutoff = pruned.cutoff.as_deref().unwrap_or(""),
            anchor_seq = anchor.seq,
            "exchange-log retention dropped delivered records of old months"
        );
        state.metrics.log_retention_dropped.inc_by(pruned.records);
    }
    Ok(pruned)
}

/// Runs [`run_once`] at start and then daily, for as long as the node's state lives.
pub fn spawn(state: &Arc<NodeState>) {
    daily(state, |s| async move { run_once(&s).await.map(|_| ()) });
}

/// Runs `run` on `state` now and then every [`EVERY`] (an hour after a failure), until the state is
/// dropped: the node's and the portal's retention share it.
pub fn daily<S, F, Fut>(state: &Arc<S>, run: F)
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), DbErr>> + Send,
{
    let state: Weak<S> = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            let pause = match state.upgrade() {
                None => break,
                Some(state) => match run(state).await {
                    Ok(()) => EVERY,
                    Err(e) => {
                        tracing::error!(error = %e, "exchange-log retention failed; tried again in an hour");
                        RETRY
                    }
                },
            };
            tokio::time::sleep(pause).await;
        }
    });
}

/// A valid chain of records at the given times, continuing `(seq, hash)` (a node's log as months
/// went by), for tests; all delivered.
#[cfg(test)]
pub(crate) fn chain_at(after: (i64, String), times: &[&str]) -> Vec<exchange_record::Model> {
    let (mut seq, mut prev) = after;
    let mut out = Vec::new();
    for time in times {
        seq += 1;
        let mut r = exchange_record::Model {
            seq,
            request_id: format!("r{seq}"),
            time: (*time).to_owned(),
            role: "provider".into(),
            requester: "grant-requester".into(),
            provider: "nta-provider".into(),
            api: "nta-corporations".into(),
            method: "GET".into(),
            path: format!("/v1/corporations/{seq}"),
            status: 200,
            latency_ms: 1.5,
            bytes_in: 0,
            bytes_out: 120,
            scopes: "basic".into(),
            corporate_number: None,
            outcome: "ok".into(),
            error_code: None,
            prev_hash: prev.clone(),
            hash: String::new(),
            shipped: true,
            receipt: None,
            client_addr: None,
            consent_ref: None,
        };
        r.hash = super::record_hash(&r);
        prev = r.hash.clone();
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests;
