//! Retention of the exchange records the portal collected, by month: `--log-retention-months`
//! (`RENKEI_LOG_RETENTION_MONTHS`) months are kept, the current month counting as one; older months are
//! dropped, for every node. Each node's newest signed chain head stays, and so does the one record it
//! names, so the head can still be checked against what the portal holds (`/api/v1/exchanges/heads`).

use super::PortalState;
use crate::{
    jst,
    node::exchange_log::retention::{BATCH, cutoff, month_of},
    storage::entity::{portal_chain_head, portal_exchange},
};
use chrono::{DateTime, FixedOffset};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use std::sync::Arc;

/// What one run dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub records: u64,
    /// Nodes whose records were dropped.
    pub nodes: u64,
    /// The months (`YYYY-MM`) of the oldest and the newest record dropped.
    pub months: Option<(String, String)>,
    /// None: retention is off (0 months).
    pub cutoff: Option<String>,
}

/// Drops the collected records of months before the cutoff (see
/// [`cutoff`](crate::node::exchange_log::retention::cutoff)), node by node, in `seq` ranges of at most
/// [`BATCH`] records, keeping the record each node's held chain head names.
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
    use portal_exchange::Column as C;
    let Some(cutoff) = cutoff(now, months) else {
        return Ok(Pruned::default());
    };
    let mut out = Pruned {
        cutoff: Some(cutoff.clone()),
        ..Pruned::default()
    };
    // Each node with records of a dropped month, and its oldest such seq.
    let nodes: Vec<(String, i64, i64)> = portal_exchange::Entity::find()
        .select_only()
        .column(C::Node)
        .column_as(C::Seq.min(), "first")
        .column_as(C::Seq.max(), "last")
        .filter(C::Time.lt(cutoff.as_str()))
        .group_by(C::Node)
        .order_by_asc(C::Node)
        .into_tuple()
        .all(db)
        .await?;
    let size = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
    for (node, first, last) in nodes {
        let head = portal_chain_head::Entity::find_by_id(&node)
            .one(db)
            .await?
            .map(|h| h.seq);
        // Drop what lies before the node's first record of a kept month (all of it without one).
        let keep_from: Option<i64> = portal_exchange::Entity::find()
            .select_only()
            .column(C::Seq)
            .filter(C::Node.eq(&node))
            .filter(C::Time.gte(cutoff.as_str()))
            .order_by_asc(C::Seq)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let end = keep_from.map_or(last, |keep| last.min(keep - 1));
        let months_dropped: Option<(Option<String>, Option<String>)> =
            portal_exchange::Entity::find()
                .select_only()
                .column_as(C::Time.min(), "oldest")
                .column_as(C::Time.max(), "newest")
                .filter(C::Node.eq(&node))
                .filter(C::Seq.gte(first))
                .filter(C::Seq.lte(end))
                .filter(C::Seq.ne(head.unwrap_or(i64::MIN)))
                .into_tuple()
                .one(db)
                .await?;
        let mut dropped = 0;
        let mut from = first;
        while from <= end {
            let upto = from.saturating_add(size - 1).min(end);
            let mut delete = portal_exchange::Entity::delete_many()
                .filter(C::Node.eq(&node))
                .filter(C::Seq.gte(from))
                .filter(C::Seq.lte(upto));
            if let Some(head) = head {
                delete = delete.filter(C::Seq.ne(head));
            }
            dropped += delete.exec(db).await?.rows_affected;
            // The next range starts at the next record held (seqs a node never delivered are skipped).
            let next: Option<i64> = portal_exchange::Entity::find()
                .select_only()
                .column(C::Seq)
                .filter(C::Node.eq(&node))
                .filter(C::Seq.gt(upto))
                .filter(C::Seq.lte(end))
                .filter(C::Seq.ne(head.unwrap_or(i64::MIN)))
                .order_by_asc(C::Seq)
                .limit(1)
                .into_tuple()
                .one(db)
                .await?;
            match next {
                Some(next) => from = next,
                None => break,
            }
        }
        if dropped == 0 {
            continue;
        }
        out.records += dropped;
        out.nodes += 1;
        if let Some((Some(oldest), Some(newest))) = months_dropped {
            let (oldest, newest) = (month_of(&oldest), month_of(&newest));
            out.months = Some(match out.months.take() {
                Some((o, n)) => (o.min(oldest), n.max(newest)),
                None => (oldest, newest),
            });
        }
    }
    Ok(out)
}

/// Drops what the portal's retention no longer keeps, now; logs and counts what went.
pub async fn run_once(state: &PortalState) -> Result<Pruned, DbErr> {
    let pruned = prune(&state.db, state.config.log_retention_months, jst::now()).await?;
    if let Some((oldest, newest)) = &pruned.months {
        tracing::info!(
            records = pruned.records,
            nodes = pruned.nodes,
            months = %format!("{oldest}..{newest}"),
            cutoff = pruned.cutoff.as_deref().unwrap_or(""),
            "exchange-log retention dropped collected records of old months"
        );
        state.metrics.log_retention_dropped.inc_by(pruned.records);
    }
    Ok(pruned)
}

/// Runs [`run_once`] at start and then daily, for as long as the portal's state lives.
pub fn spawn(state: &Arc<PortalState>) {
    crate::node::exchange_log::retention::daily(state, |s| async move {
        run_once(&s).await.map(|_| ())
    });
}

#[cfg(test)]
mod tests;
