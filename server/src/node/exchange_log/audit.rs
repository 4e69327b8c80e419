//! Audits a whole exchange log (a node's database or an export): the verified head, or the first broken link and why.

use super::{GENESIS, record_hash};
use crate::storage::entity::exchange_record;
use std::collections::{HashMap, HashSet};

/// A log whose every link holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedHead {
    pub records: u64,
    /// 0 and the genesis hash for an empty log.
    pub seq: i64,
    pub hash: String,
}

/// The first place the chain breaks, named by the `seq` where it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    #[error("record {seq} was changed: its hash does not match its content")]
    Changed { seq: i64 },
    #[error(
        "record {seq} was replaced: its hash matches its content, but record {next} was chained to a different record {seq}"
    )]
    Replaced { seq: i64, next: i64 },
    #[error("record {seq} was removed ({count} record(s) missing from seq {seq})")]
    Removed { seq: i64, count: i64 },
    #[error("record {seq} is out of order: records were swapped or moved")]
    Reordered { seq: i64 },
    #[error(
        "records from {seq} on were removed: the log ends before the expected head {expected_seq}"
    )]
    Truncated { seq: i64, expected_seq: i64 },
    #[error("record {seq} is not the expected head: the log was rewritten at or before it")]
    HeadMismatch { seq: i64 },
}

impl BrokenLink {
    /// Where the chain breaks.
    pub fn seq(&self) -> i64 {
        match self {
            BrokenLink::Changed { seq }
            | BrokenLink::Replaced { seq, .. }
            | BrokenLink::Removed { seq, .. }
            | BrokenLink::Reordered { seq }
            | BrokenLink::Truncated { seq, .. }
            | BrokenLink::HeadMismatch { seq } => *seq,
        }
    }

    /// `changed`, `replaced`, `removed`, `reordered`, `truncated`, `head_mismatch`.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokenLink::Changed { .. } => "changed",
            BrokenLink::Replaced { .. } => "replaced",
            BrokenLink::Removed { .. } => "removed",
            BrokenLink::Reordered { .. } => "reordered",
            BrokenLink::Truncated { .. } => "truncated",
            BrokenLink::HeadMismatch { .. } => "head_mismatch",
        }
    }
}

/// Checks `records` in the order given (a database read is in `seq` order; an export in file order)
/// from the genesis record on. `expected_head`, a `(seq, hash)` known from elsewhere (a signed head, an
/// earlier run's output), also catches records removed from the end, which a chain alone cannot show;
/// the log may have grown past it.
pub fn audit(
    records: &[exchange_record::Model],
    expected_head: Option<(i64, &str)>,
) -> Result<VerifiedHead, BrokenLink> {
    let seqs: HashSet<i64> = records.iter().map(|r| r.seq).collect();
    let seq_of_hash: HashMap<&str, i64> =
        records.iter().map(|r| (r.hash.as_str(), r.seq)).collect();
    let mut expected = 1i64;
    let mut prev = GENESIS;
    for r in records {
        if r.seq != expected {
            // A gap whose records appear nowhere was cut out; otherwise they are elsewhere in the log.
            let missing_everywhere =
                r.seq > expected && (expected..r.seq).all(|s| !seqs.contains(&s));
            return Err(if missing_everywhere {
                BrokenLink::Removed {
                    seq: expected,
                    count: r.seq - expected,
                }
            } else {
                BrokenLink::Reordered { seq: expected }
            });
        }
        let intact = record_hash(r) == r.hash;
        if r.prev_hash != prev {
            // It chains to a record that stands later in the log: rows were swapped.
            if seq_of_hash
                .get(r.prev_hash.as_str())
                .is_some_and(|&s| s >= r.seq)
            {
                return Err(BrokenLink::Reordered { seq: r.seq });
            }
            if !intact {
                return Err(BrokenLink::Changed { seq: r.seq });
            }
            return Err(BrokenLink::Replaced {
                seq: r.seq - 1,
                next: r.seq,
            });
        }
        if !intact {
            return Err(BrokenLink::Changed { seq: r.seq });
        }
        prev = &r.hash;
        expected += 1;
    }
    let head = VerifiedHead {
        records: records.len() as u64,
        seq: expected - 1,
        hash: prev.to_owned(),
    };
    match expected_head {
        Some((want_seq, _)) if want_seq > head.seq => Err(BrokenLink::Truncated {
            seq: head.seq + 1,
            expected_seq: want_seq,
        }),
        Some((want_seq, want_hash)) => {
            // The chain verified, so seq `want_seq` is at index `want_seq - 1`.
            let at = usize::try_from(want_seq - 1)
                .ok()
                .and_then(|i| records.get(i));
            match at {
                Some(r) if r.hash == want_hash => Ok(head),
                _ => Err(BrokenLink::HeadMismatch { seq: want_seq }),
            }
        }
        None => Ok(head),
    }
}

/// Reads an export: one JSON record a line, as `renkei log export` writes them.
pub fn read_json_lines(text: &str) -> Result<Vec<exchange_record::Model>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("line {}: not an exchange record: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests;
