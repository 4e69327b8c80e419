//! Audits a whole exchange log (a node's database or an export): the verified head, or the first broken link and why.

use super::{GENESIS, record_hash, retention::Anchor};
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
    #[error(
        "record {seq}, the expected head, was dropped by retention: the kept log starts after record {anchor}, so it cannot be checked against it"
    )]
    Dropped { seq: i64, anchor: i64 },
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
            | BrokenLink::HeadMismatch { seq }
            | BrokenLink::Dropped { seq, .. } => *seq,
        }
    }

    /// `changed`, `replaced`, `removed`, `reordered`, `truncated`, `head_mismatch`, `dropped`.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokenLink::Changed { .. } => "changed",
            BrokenLink::Replaced { .. } => "replaced",
            BrokenLink::Removed { .. } => "removed",
            BrokenLink::Reordered { .. } => "reordered",
            BrokenLink::Truncated { .. } => "truncated",
            BrokenLink::HeadMismatch { .. } => "head_mismatch",
            BrokenLink::Dropped { .. } => "dropped",
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
    audit_from((0, GENESIS), records, expected_head)
}

/// As [`audit`], for a log whose records up to `start`'s seq were dropped by retention: the first
/// record must be the next seq and link to `start`'s hash (the anchor, see `retention`).
pub fn audit_from(
    start: (i64, &str),
    records: &[exchange_record::Model],
    expected_head: Option<(i64, &str)>,
) -> Result<VerifiedHead, BrokenLink> {
    let seqs: HashSet<i64> = records.iter().map(|r| r.seq).collect();
    let seq_of_hash: HashMap<&str, i64> =
        records.iter().map(|r| (r.hash.as_str(), r.seq)).collect();
    let mut expected = start.0 + 1;
    let mut prev = start.1;
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
        Some((want_seq, _)) if want_seq < start.0 => Err(BrokenLink::Dropped {
            seq: want_seq,
            anchor: start.0,
        }),
        Some((want_seq, want_hash)) if want_seq == start.0 => match start.1 == want_hash {
            true => Ok(head),
            false => Err(BrokenLink::HeadMismatch { seq: want_seq }),
        },
        Some((want_seq, want_hash)) => {
            // The chain verified, so seq `want_seq` is at index `want_seq - start - 1`.
            let at = usize::try_from(want_seq - start.0 - 1)
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

/// Reads an export as `renkei log export` writes it: a first line `{"anchor": {…}}` when retention
/// shortened the log (exports from before retention have none), then one JSON record a line.
pub fn read_export(text: &str) -> Result<(Option<Anchor>, Vec<exchange_record::Model>), String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AnchorLine {
        anchor: Anchor,
    }
    let first = text
        .lines()
        .enumerate()
        .find(|(_, line)| !line.trim().is_empty());
    match first.map(|(i, line)| (i, serde_json::from_str::<AnchorLine>(line))) {
        Some((i, Ok(line))) => {
            let rest: String = text
                .lines()
                .enumerate()
                .map(|(n, l)| if n <= i { "" } else { l })
                .collect::<Vec<_>>()
                .join("\n");
            Ok((Some(line.anchor), read_json_lines(&rest)?))
        }
        _ => Ok((None, read_json_lines(text)?)),
    }
}

/// The first line of an export of a log that retention shortened.
pub fn anchor_line(anchor: &Anchor) -> String {
    serde_json::json!({ "anchor": anchor }).to_string()
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
