//! Retention by month on a node's log: what an operator would check after a run — which months are
//! gone, that undelivered evidence stayed, that the kept log still verifies from the anchor and still
//! shows tampering, that a second run drops nothing, and that the node's chain goes on.

use super::*;
use crate::{
    node::exchange_log::{ExchangeLog, NewExchange, audit::BrokenLink},
    storage::scratch::ScratchDatabase,
};
use sea_orm::{ActiveModelTrait, IntoActiveModel, PaginatorTrait, sea_query::Expr};

/// 2026-12-04 10:11:12 JST: with 12 months, 2026-01 … 2026-12 are kept.
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-04T10:11:12.000+09:00").unwrap()
}

const OLD: [&str; 3] = [
    "2025-11-02T08:00:00.000+09:00",
    "2025-11-30T23:00:00.000+09:00",
    // The last instant of the newest dropped month.
    "2025-12-31T23:59:59.999+09:00",
];
const KEPT: [&str; 3] = [
    // The first instant of the oldest kept month.
    "2026-01-01T00:00:00.000+09:00",
    "2026-06-15T12:00:00.000+09:00",
    "2026-12-04T10:00:00.000+09:00",
];

/// Writes a valid chain with the given times (as a node would have, month after month), continuing the
/// stored log, and marks the first `shipped` of the new records delivered.
async fn write_chain(
    db: &DatabaseConnection,
    times: &[&str],
    shipped: usize,
) -> Vec<exchange_record::Model> {
    let log = ExchangeLog::open(db.clone()).await.unwrap();
    let mut records = chain_at(log.head().await, times);
    for (i, r) in records.iter_mut().enumerate() {
        r.shipped = i < shipped;
        r.clone()
            .into_active_model()
            .reset_all()
            .insert(db)
            .await
            .unwrap();
    }
    records
}

async fn stored(db: &DatabaseConnection) -> Vec<exchange_record::Model> {
    ExchangeLog::all_records(db).await.unwrap()
}

async fn open(db: &ScratchDatabase) -> DatabaseConnection {
    crate::storage::open(&db.url).await.unwrap()
}

async fn old_months_go_and_the_kept_log_verifies_from_the_anchor(scratch: ScratchDatabase) {
    let db = open(&scratch).await;
    let times: Vec<&str> = OLD.iter().chain(KEPT.iter()).copied().collect();
    let written = write_chain(&db, &times, times.len()).await;

    // Small batches: the anchor moves with each, and ends at the last dropped record.
    let pruned = prune_in_batches(&db, 12, now(), 2).await.unwrap();
    assert_eq!(pruned.records, 3, "{}", scratch.backend);
    assert_eq!(
        pruned.months,
        Some(("2025-11".to_owned(), "2025-12".to_owned()))
    );
    assert_eq!(pruned.cutoff.as_deref(), Some("2026-01-01T00:00:00+09:00"));
    let kept = stored(&db).await;
    let kept_times: Vec<&str> = kept.iter().map(|r| r.time.as_str()).collect();
    assert_eq!(
        kept_times, KEPT,
        "the oldest kept month and the current month stay"
    );
    assert_eq!(kept, written[3..]);

    let anchor = anchor(&db).await.unwrap().expect("an anchor after a drop");
    assert_eq!(
        (anchor.seq, anchor.hash.as_str()),
        (3, written[2].hash.as_str())
    );
    assert_eq!(anchor.record_time, OLD[2]);
    assert_eq!(anchor.cutoff, "2026-01-01T00:00:00+09:00");
    assert_eq!(anchor.dropped_at, "2026-12-04T10:11:12.000+09:00");
    assert_eq!(pruned.anchor.as_ref(), Some(&anchor));
    assert_eq!(anchor_if_any(&db).await.unwrap().as_ref(), Some(&anchor));

    // `renkei log verify` starts from the anchor; from the genesis the kept log looks cut.
    let head = verify(Some(&anchor), &kept, None).unwrap();
    assert_eq!((head.records, head.seq), (3, 6));
    assert_eq!(head.hash, written[5].hash);
    assert_eq!(
        verify(None, &kept, None),
        Err(BrokenLink::Removed { seq: 1, count: 3 })
    );
    // A head known from before still checks, also the anchor itself; one older cannot be.
    assert!(verify(Some(&anchor), &kept, Some((5, written[4].hash.as_str()))).is_ok());
    assert!(verify(Some(&anchor), &kept, Some((3, written[2].hash.as_str()))).is_ok());
    assert_eq!(
        verify(Some(&anchor), &kept, Some((2, written[1].hash.as_str()))),
        Err(BrokenLink::Dropped { seq: 2, anchor: 3 })
    );

    // A second run finds nothing more to drop, and leaves the anchor as it was.
    let again = prune(&db, 12, now()).await.unwrap();
    assert_eq!((again.records, again.months), (0, None));
    assert_eq!(again.anchor.as_ref(), Some(&anchor));
    assert_eq!(stored(&db).await, kept);

    // The node's chain goes on from its newest record.
    let log = ExchangeLog::open(db.clone()).await.unwrap();
    assert_eq!(log.head().await, (6, written[5].hash.clone()));
    let next = log
        .append(NewExchange {
            request_id: "after".into(),
            role: "provider",
            status: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (next.seq, next.prev_hash.as_str()),
        (7, written[5].hash.as_str())
    );
    assert!(verify(Some(&anchor), &stored(&db).await, None).is_ok());
}

async fn undelivered_records_stay_whatever_their_age(scratch: ScratchDatabase) {
    let db = open(&scratch).await;
    let times: Vec<&str> = OLD.iter().chain(KEPT.iter()).copied().collect();
    // The portal received only the first record.
    let written = write_chain(&db, &times, 1).await;
    let pruned = prune(&db, 12, now()).await.unwrap();
    assert_eq!(pruned.records, 1, "{}", scratch.backend);
    assert_eq!(
        pruned.months,
        Some(("2025-11".to_owned(), "2025-11".to_owned()))
    );
    let kept = stored(&db).await;
    assert_eq!(kept.first().map(|r| r.seq), Some(2));
    assert_eq!(kept.len(), 5);
    assert!(kept.iter().all(|r| !r.shipped));
    let anchor = anchor(&db).await.unwrap().unwrap();
    assert_eq!(
        (anchor.seq, anchor.hash.as_str()),
        (1, written[0].hash.as_str())
    );
    assert!(verify(Some(&anchor), &kept, None).is_ok());

    // Once delivered, the old ones go at the next run; the kept months stay.
    let log = ExchangeLog::open(db.clone()).await.unwrap();
    assert_eq!(log.pending(), 5);
    log.mark_shipped(6).await.unwrap();
    assert_eq!(prune(&db, 12, now()).await.unwrap().records, 2);
    let left: Vec<i64> = stored(&db).await.iter().map(|r| r.seq).collect();
    assert_eq!(left, vec![4, 5, 6]);
    assert_eq!(anchor_if_any(&db).await.unwrap().map(|a| a.seq), Some(3));
}

async fn tampering_after_the_anchor_is_still_found(scratch: ScratchDatabase) {
    use exchange_record::Column as C;
    let db = open(&scratch).await;
    let times: Vec<&str> = OLD.iter().chain(KEPT.iter()).copied().collect();
    write_chain(&db, &times, times.len()).await;
    prune(&db, 12, now()).await.unwrap();
    let anchor = anchor(&db).await.unwrap().unwrap();
    let kept = stored(&db).await;

    // Swapped records.
    let swapped = vec![kept[1].clone(), kept[0].clone(), kept[2].clone()];
    assert_eq!(
        verify(Some(&anchor), &swapped, None),
        Err(BrokenLink::Reordered { seq: 4 })
    );

    // A field changed in the database.
    exchange_record::Entity::update_many()
        .col_expr(C::Status, Expr::value(500))
        .filter(C::Seq.eq(5))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(
        verify(Some(&anchor), &stored(&db).await, None),
        Err(BrokenLink::Changed { seq: 5 }),
        "{}",
        scratch.backend
    );

    // The first kept record removed: the log no longer starts where the anchor says.
    exchange_record::Entity::delete_many()
        .filter(C::Seq.eq(4))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(
        verify(Some(&anchor), &stored(&db).await, None),
        Err(BrokenLink::Removed { seq: 4, count: 1 })
    );
}

async fn with_every_record_dropped_the_chain_continues_from_the_anchor(scratch: ScratchDatabase) {
    let db = open(&scratch).await;
    let written = write_chain(&db, &OLD, OLD.len()).await;
    let pruned = prune(&db, 12, now()).await.unwrap();
    assert_eq!(pruned.records, 3, "{}", scratch.backend);
    assert!(stored(&db).await.is_empty());
    let anchor = anchor(&db).await.unwrap().unwrap();
    assert_eq!(
        verify(Some(&anchor), &[], None).map(|h| (h.records, h.seq, h.hash)),
        Ok((0, 3, written[2].hash.clone()))
    );

    let log = ExchangeLog::open(db.clone()).await.unwrap();
    assert_eq!(log.head().await, (3, written[2].hash.clone()));
    assert_eq!(log.pending(), 0);
    let next = log
        .append(NewExchange {
            request_id: "after".into(),
            role: "requester",
            status: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (next.seq, next.prev_hash.as_str()),
        (4, written[2].hash.as_str())
    );
    assert!(verify(Some(&anchor), &stored(&db).await, None).is_ok());
}

async fn zero_months_keeps_everything(scratch: ScratchDatabase) {
    let db = open(&scratch).await;
    write_chain(&db, &OLD, OLD.len()).await;
    assert_eq!(prune(&db, 0, now()).await.unwrap(), Pruned::default());
    assert_eq!(
        exchange_record::Entity::find().count(&db).await.unwrap(),
        3,
        "{}",
        scratch.backend
    );
    assert_eq!(anchor(&db).await.unwrap(), None);
}

crate::on_each_backend!(
    old_months_go_and_the_kept_log_verifies_from_the_anchor,
    undelivered_records_stay_whatever_their_age,
    tampering_after_the_anchor_is_still_found,
    with_every_record_dropped_the_chain_continues_from_the_anchor,
    zero_months_keeps_everything
);

#[test]
fn the_cutoff_is_the_first_day_of_the_oldest_kept_month_in_jst() {
    let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap();
    assert_eq!(
        cutoff(now(), 12).as_deref(),
        Some("2026-01-01T00:00:00+09:00")
    );
    assert_eq!(
        cutoff(now(), 1).as_deref(),
        Some("2026-12-01T00:00:00+09:00")
    );
    assert_eq!(
        cutoff(at("2026-02-28T23:00:00+09:00"), 3).as_deref(),
        Some("2025-12-01T00:00:00+09:00")
    );
    assert_eq!(
        cutoff(now(), 36).as_deref(),
        Some("2024-01-01T00:00:00+09:00")
    );
    // 16:00 UTC on 30 November is already 1 December in Japan.
    assert_eq!(
        cutoff(at("2026-11-30T16:00:00Z"), 1).as_deref(),
        Some("2026-12-01T00:00:00+09:00")
    );
    assert_eq!(cutoff(now(), 0), None);
    assert_eq!(cutoff(now(), u32::MAX), None);
    // A record's time sorts before the cutoff exactly when it is older, milliseconds or not.
    let cut = cutoff(now(), 12).unwrap();
    assert!("2025-12-31T23:59:59.999+09:00" < cut.as_str());
    assert!("2026-01-01T00:00:00.000+09:00" >= cut.as_str());
    assert!("2026-01-01T00:00:00+09:00" >= cut.as_str());
}

#[test]
fn an_export_carries_the_anchor_and_old_exports_still_read() {
    let anchor = Anchor {
        seq: 3,
        hash: "ab".repeat(32),
        record_time: OLD[2].into(),
        cutoff: "2026-01-01T00:00:00+09:00".into(),
        dropped_at: "2026-12-04T10:11:12.000+09:00".into(),
    };
    let record = r#"{"seq":4,"request_id":"r4","time":"2026-01-01T00:00:00.000+09:00","role":"provider","requester":"a","provider":"b","api":"c","method":"GET","path":"/","status":200,"latency_ms":1.0,"bytes_in":0,"bytes_out":0,"scopes":"","corporate_number":null,"outcome":"ok","error_code":null,"prev_hash":"x","hash":"y","shipped":true}"#;
    let text = format!("{}\n{record}\n", audit::anchor_line(&anchor));
    let (read, records) = audit::read_export(&text).unwrap();
    assert_eq!(read.as_ref(), Some(&anchor));
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4]);

    let (read, records) = audit::read_export(&format!("{record}\n")).unwrap();
    assert_eq!((read, records.len()), (None, 1));

    // Line numbers in errors count the anchor line.
    let error = audit::read_export(&format!(
        "{}\n{{\"seq\": 3}}\n",
        audit::anchor_line(&anchor)
    ))
    .unwrap_err();
    assert!(error.starts_with("line 2:"), "{error}");
}
