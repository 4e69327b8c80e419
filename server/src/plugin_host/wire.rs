//! The guest's return values turned into host values, with the size limits and record checks applied.
//!
//! The bulk limit is enforced by wasmtime while it copies a result out of the guest: the store's hostcall
//! fuel (set to `max_output_bytes_per_call` in `policy.rs`) is charged for every string byte and list
//! entry, so a guest cannot make the host allocate more than that per call, even by pointing many records
//! at one large string. What remains here is per record: size, JSON, schema, key.

use super::bindings::renkei::converter::types as wit;
use super::policy::SandboxPolicy;
use super::records::check_record;
use super::{ConversionError, Converted, PluginError, PluginInfo, Rejected};

/// Longest guest error message kept (it is shown to people, not stored as data).
const MAX_MESSAGE_BYTES: usize = 2048;

/// What one `push` or `finish` produced, after the host's checks.
#[derive(Default)]
pub(super) struct CheckedBatch {
    pub(super) records: Vec<Converted>,
    pub(super) rejects: Vec<Rejected>,
}

fn check_size(policy: &SandboxPolicy, line: u64, bytes: usize) -> Result<(), PluginError> {
    if bytes > policy.max_record_bytes {
        return Err(PluginError::RecordTooLarge {
            line,
            size_bytes: bytes as u64,
            limit_bytes: policy.max_record_bytes as u64,
        });
    }
    Ok(())
}

/// Checks every record of a batch (`records.rs`) and keeps the guest's own rejects.
pub(super) fn check_batch(
    batch: wit::Batch,
    policy: &SandboxPolicy,
    schema: &renkei_standard::StandardSchema,
) -> Result<CheckedBatch, PluginError> {
    let mut checked = CheckedBatch {
        records: Vec::with_capacity(batch.records.len()),
        rejects: Vec::with_capacity(batch.rejects.len()),
    };
    for record in batch.records {
        check_size(
            policy,
            record.line,
            record.key.len() + record.document.len(),
        )?;
        match check_record(schema, &record.key, record.line, &record.document) {
            Ok(converted) => checked.records.push(converted),
            Err(rejected) => checked.rejects.push(rejected),
        }
    }
    for rejected in batch.rejects {
        check_size(policy, rejected.line, rejected.reason.len())?;
        checked.rejects.push(Rejected {
            line: rejected.line,
            reason: rejected.reason,
        });
    }
    Ok(checked)
}

/// The as-of date `finish` states, if any, must be `YYYY-MM-DD`.
pub(super) fn check_as_of(as_of: Option<String>) -> Result<Option<String>, PluginError> {
    if let Some(text) = &as_of
        && !is_iso_date(text)
    {
        return Err(PluginError::InvalidOutput(format!(
            "`as-of` must be a date YYYY-MM-DD, got {:?}",
            clip(text, 40)
        )));
    }
    Ok(as_of)
}

/// Copies `info`, each string within `max_record_bytes`.
pub(super) fn check_info(
    info: wit::PluginInfo,
    policy: &SandboxPolicy,
) -> Result<PluginInfo, PluginError> {
    let strings = [&info.name, &info.version]
        .into_iter()
        .chain(&info.accepts)
        .chain(&info.produces);
    for text in strings {
        check_size(policy, 0, text.len())?;
    }
    Ok(PluginInfo {
        name: info.name,
        version: info.version,
        accepts: info.accepts,
        produces: info.produces,
    })
}

/// The guest's refusal in the host's type, its message clipped.
pub(super) fn guest_error(error: wit::ConversionError) -> PluginError {
    PluginError::Guest(match error {
        wit::ConversionError::InvalidOptions(text) => {
            ConversionError::InvalidOptions(clip(&text, MAX_MESSAGE_BYTES))
        }
        wit::ConversionError::InvalidInput(text) => {
            ConversionError::InvalidInput(clip(&text, MAX_MESSAGE_BYTES))
        }
    })
}

fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// At most `max` bytes of `text`, cut on a character boundary, marked when cut.
pub(super) fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (truncated)", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_dates_are_shape_checked() {
        assert!(is_iso_date("2021-07-14"));
        assert!(!is_iso_date("2021/07/14"));
        assert!(!is_iso_date("20210714"));
    }

    #[test]
    fn clipping_keeps_whole_characters() {
        assert_eq!(clip("トヨタ", 9), "トヨタ");
        assert_eq!(clip("トヨタ", 4), "ト… (truncated)");
    }

    #[test]
    fn a_record_over_the_size_limit_is_refused_whole() {
        let policy = SandboxPolicy {
            max_record_bytes: 10,
            ..SandboxPolicy::default()
        };
        let batch = wit::Batch {
            records: vec![wit::OutputRecord {
                key: "1180301018771".to_string(),
                line: 4,
                document: "{}".to_string(),
            }],
            rejects: Vec::new(),
        };
        let schema = renkei_standard::StandardSchema::new();
        match check_batch(batch, &policy, &schema) {
            Err(PluginError::RecordTooLarge {
                line: 4,
                size_bytes: 15,
                limit_bytes: 10,
            }) => {}
            Err(e) => panic!("expected RecordTooLarge, got {e:?}"),
            Ok(_) => panic!("expected RecordTooLarge, got a batch"),
        }
    }
}
