//! The audit on fixtures tampered the ways an export can be: a field changed, a line removed, lines swapped,
//! a record re-hashed after a change, the end cut off.

use super::*;
use crate::node::exchange_log::{ExchangeLog, NewExchange};

async fn chain(n: usize) -> Vec<exchange_record::Model> {
    let db = crate::storage::open("sqlite::memory:").await.unwrap();
    let log = ExchangeLog::open(db).await.unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            log.append(NewExchange {
                request_id: format!("r{i}"),
                role: "provider",
                requester: "grant-requester".into(),
                provider: "nta-provider".into(),
                method: "GET".into(),
                path: format!("/v1/corporations/{i}"),
                status: 200,
                latency_ms: 1.5,
                ..Default::default()
            })
            .await
            .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn an_intact_log_verifies_to_its_head() {
    let records = chain(4).await;
    let head = audit(&records, None).unwrap();
    assert_eq!(
        head,
        VerifiedHead {
            records: 4,
            seq: 4,
            hash: records[3].hash.clone()
        }
    );
    assert_eq!(
        audit(&records, Some((4, &records[3].hash))),
        Ok(head.clone())
    );
    // The log may have grown past a head known earlier.
    assert_eq!(audit(&records, Some((2, &records[1].hash))), Ok(head));
    assert_eq!(
        audit(&[], None),
        Ok(VerifiedHead {
            records: 0,
            seq: 0,
            hash: GENESIS.into()
        })
    );
}

#[tokio::test]
async fn a_changed_field_is_reported_at_its_record() {
    let mut records = chain(4).await;
    records[2].path = "/v1/corporations/9999999999999".into();
    let broken = audit(&records, None).unwrap_err();
    assert_eq!(broken, BrokenLink::Changed { seq: 3 });
    assert_eq!((broken.kind(), broken.seq()), ("changed", 3));
}

#[tokio::test]
async fn a_changed_and_rehashed_record_is_found_by_the_next_one() {
    let mut records = chain(4).await;
    records[1].status = 500;
    records[1].hash = record_hash(&records[1]);
    assert_eq!(
        audit(&records, None),
        Err(BrokenLink::Replaced { seq: 2, next: 3 })
    );
}

#[tokio::test]
async fn a_removed_line_is_reported_with_the_missing_seq() {
    let mut records = chain(5).await;
    records.remove(1);
    assert_eq!(
        audit(&records, None),
        Err(BrokenLink::Removed { seq: 2, count: 1 })
    );
    let mut first_gone = chain(3).await;
    first_gone.remove(0);
    assert_eq!(
        audit(&first_gone, None),
        Err(BrokenLink::Removed { seq: 1, count: 1 })
    );
}

#[tokio::test]
async fn swapped_lines_are_reported_as_reordered() {
    let mut records = chain(5).await;
    records.swap(1, 3);
    assert_eq!(audit(&records, None), Err(BrokenLink::Reordered { seq: 2 }));
}

#[tokio::test]
async fn a_cut_off_end_needs_the_expected_head() {
    let records = chain(5).await;
    let head = records[4].hash.clone();
    let cut = &records[..3];
    assert!(audit(cut, None).is_ok(), "a chain alone cannot show it");
    let broken = audit(cut, Some((5, &head))).unwrap_err();
    assert_eq!(
        broken,
        BrokenLink::Truncated {
            seq: 4,
            expected_seq: 5
        }
    );
    assert_eq!(broken.seq(), 4);
    assert_eq!(
        audit(&records, Some((5, "ab"))),
        Err(BrokenLink::HeadMismatch { seq: 5 })
    );
}

#[tokio::test]
async fn exports_round_trip_and_bad_lines_are_named() {
    let records = chain(2).await;
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    assert_eq!(read_json_lines(&text).unwrap(), records);
    let error = read_json_lines(&format!("{text}{{\"seq\": 3}}\n")).unwrap_err();
    assert!(
        error.starts_with("line 3: not an exchange record"),
        "{error}"
    );
}
