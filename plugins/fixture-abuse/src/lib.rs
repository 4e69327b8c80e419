//! Test fixture guest: a converter that misbehaves on request, so the host's sandbox limits can be tested.
//!
//! `open` takes the option `("mode", M)` and optionally `("from-chunk", N)` (chunks before the N-th behave
//! as `ok`, so a misbehaviour can come late in a conversion):
//! - `ok`: every `push` returns one valid `Basic` record (トヨタ自動車株式会社, 1180301018771) whose `line`
//!   is the chunk's 1-based index; `finish` states the as-of date `2021-07-14`.
//! - `loop`: `push` spins forever (fuel limit).
//! - `grab-memory`: `push` allocates without bound (memory limit).
//! - `flood`: `push` returns ~200,000 records (~30 MB; output limit per call).
//! - `trap`: `push` panics (a trap).
//! - `huge-record`: `push` returns one 50 MB record (more than one call may return).
//! - `large-record`: `push` returns one 2 MB record (more than one record may be).
//! - `bad-json`: `push` returns one record whose `document` is not JSON, plus one valid record.
//! - `invalid-schema`: `push` returns one record with an unknown key in `Basic`, plus one valid record.
//! - `wrong-key`: `push` returns one record whose `key` is not its `Basic.Destination.Corporate number`.
//! - `observe`: `push` returns one valid record whose `Corporate name` reports what the guest can see of
//!   the world: the clock, environment, arguments, the file system root and a hash seeded by WASI randomness.
//! - `sleep`: `push` sleeps for an hour (the host must refuse to wait).
#![cfg_attr(
    all(not(target_arch = "wasm32"), not(test)),
    expect(
        dead_code,
        reason = "the modes are exported only by the wasm32 guest and exercised by unit tests"
    )
)]

/// The corporate number of トヨタ自動車株式会社 (check digit valid).
const KEY: &str = "1180301018771";
/// The record every well-behaved mode returns.
const DOCUMENT: &str = r#"{"Basic":{"Destination":{"Corporate number":"1180301018771","Corporate name":"トヨタ自動車株式会社"}}}"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Ok,
    Loop,
    GrabMemory,
    Flood,
    Trap,
    HugeRecord,
    LargeRecord,
    BadJson,
    InvalidSchema,
    WrongKey,
    Observe,
    Sleep,
}

const MODES: [(&str, Mode); 12] = [
    ("ok", Mode::Ok),
    ("loop", Mode::Loop),
    ("grab-memory", Mode::GrabMemory),
    ("flood", Mode::Flood),
    ("trap", Mode::Trap),
    ("huge-record", Mode::HugeRecord),
    ("large-record", Mode::LargeRecord),
    ("bad-json", Mode::BadJson),
    ("invalid-schema", Mode::InvalidSchema),
    ("wrong-key", Mode::WrongKey),
    ("observe", Mode::Observe),
    ("sleep", Mode::Sleep),
];

/// What `open` was asked for: the mode, and the first chunk (1-based) it applies to; earlier chunks
/// behave as `ok`, so a misbehaviour can be placed late in a conversion.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Plan {
    mode: Mode,
    from_chunk: u64,
}

impl Plan {
    fn mode_for(self, chunk_index: u64) -> Mode {
        if chunk_index < self.from_chunk {
            Mode::Ok
        } else {
            self.mode
        }
    }
}

/// Reads the options `mode` (required) and `from-chunk` (default 1); any other option is refused, as a
/// real converter would.
fn parse_plan(options: &[(String, String)]) -> Result<Plan, String> {
    let mut mode = None;
    let mut from_chunk = 1;
    for (name, value) in options {
        match name.as_str() {
            "mode" => {
                let found = MODES
                    .iter()
                    .find(|(label, _)| label == value)
                    .map(|(_, m)| *m);
                let Some(m) = found else {
                    let labels: Vec<&str> = MODES.iter().map(|(label, _)| *label).collect();
                    return Err(format!(
                        "unknown mode `{value}`; expected one of {}",
                        labels.join(", ")
                    ));
                };
                mode = Some(m);
            }
            "from-chunk" => {
                from_chunk = value
                    .parse()
                    .map_err(|_| format!("option `from-chunk` must be a number, got `{value}`"))?;
            }
            _ => {
                return Err(format!(
                    "unknown option `{name}`; expected `mode` or `from-chunk`"
                ));
            }
        }
    }
    let mode = mode.ok_or_else(|| "option `mode` is required".to_string())?;
    Ok(Plan { mode, from_chunk })
}

/// A record as plain Rust data, independent of the generated bindings (so the logic is testable natively).
struct Record {
    key: String,
    line: u64,
    document: String,
}

fn ok_record(line: u64) -> Record {
    Record {
        key: KEY.to_string(),
        line,
        document: DOCUMENT.to_string(),
    }
}

/// What one `push` returns in `mode`, for the chunk with 1-based index `chunk_index`.
fn push_records(mode: Mode, chunk_index: u64) -> Vec<Record> {
    match mode {
        Mode::Ok => vec![ok_record(chunk_index)],
        Mode::Loop => spin_forever(),
        Mode::GrabMemory => grab_memory(),
        Mode::Flood => {
            const COUNT: u64 = 200_000;
            let mut records = Vec::with_capacity(COUNT as usize);
            for i in 0..COUNT {
                records.push(ok_record(i + 1));
            }
            records
        }
        Mode::Trap => panic!("fixture-abuse: trap mode panics on purpose"),
        Mode::HugeRecord => vec![padded_record(chunk_index, 50_000_000)],
        Mode::LargeRecord => vec![padded_record(chunk_index, 2_000_000)],
        Mode::BadJson => vec![
            Record {
                key: KEY.to_string(),
                line: chunk_index,
                document: r#"{"Basic":{"Destination":"#.to_string(),
            },
            ok_record(chunk_index),
        ],
        Mode::InvalidSchema => vec![
            Record {
                key: KEY.to_string(),
                line: chunk_index,
                document: r#"{"Basic":{"Destination":{"Corporate number":"1180301018771"},"Favourite colour":"red"}}"#
                    .to_string(),
            },
            ok_record(chunk_index),
        ],
        Mode::WrongKey => vec![Record {
            key: "1010001072706".to_string(),
            line: chunk_index,
            document: DOCUMENT.to_string(),
        }],
        Mode::Observe => vec![Record {
            key: KEY.to_string(),
            line: chunk_index,
            document: format!(
                r#"{{"Basic":{{"Destination":{{"Corporate number":"1180301018771","Corporate name":"{}"}}}}}}"#,
                observe()
            ),
        }],
        Mode::Sleep => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            vec![ok_record(chunk_index)]
        }
    }
}

/// What the guest can learn about its surroundings, as one line of plain ASCII.
fn observe() -> String {
    use std::hash::BuildHasher;
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().to_string())
        .unwrap_or_else(|_| "before-epoch".to_string());
    let root = match std::fs::read_dir("/") {
        Ok(_) => "readable",
        Err(_) => "denied",
    };
    // `RandomState` draws its keys from WASI randomness: the hash shows whether that varies.
    let hash = std::collections::hash_map::RandomState::new().hash_one(42_u8);
    format!(
        "clock={clock} env={} args={} root={root} hash={:016x}",
        std::env::vars_os().count(),
        std::env::args_os().count(),
        hash
    )
}

/// A valid record whose `Corporate name` is `filler` bytes of `A`, built with one allocation.
fn padded_record(line: u64, filler: usize) -> Record {
    let head = br#"{"Basic":{"Destination":{"Corporate number":"1180301018771","Corporate name":""#;
    let tail = br#""}}}"#;
    let mut bytes = Vec::with_capacity(head.len() + filler + tail.len());
    bytes.extend_from_slice(head);
    bytes.resize(head.len() + filler, b'A');
    bytes.extend_from_slice(tail);
    let document = String::from_utf8(bytes).expect("ASCII and a UTF-8 literal");
    Record {
        key: KEY.to_string(),
        line,
        document,
    }
}

/// Never returns; the counter goes through `black_box` so the loop is not optimised into a trap.
fn spin_forever() -> ! {
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

/// Allocates 1 MiB blocks (touching every page) until the allocator fails, which aborts the guest.
fn grab_memory() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        blocks.push(vec![0xA5; 1 << 20]);
        std::hint::black_box(&blocks);
    }
}

#[cfg(target_arch = "wasm32")]
mod guest {
    use std::cell::Cell;

    use super::{Mode, Plan, Record, parse_plan, push_records};

    wit_bindgen::generate!({
        world: "converter",
        path: "../../wit",
    });

    use exports::renkei::converter::convert::{Guest, GuestSession, Session};
    use renkei::converter::types::{Batch, ConversionError, OutputRecord, PluginInfo, Summary};

    struct Fixture;

    struct AbuseSession {
        plan: Plan,
        chunks: Cell<u64>,
    }

    fn batch(records: Vec<Record>) -> Batch {
        Batch {
            records: records
                .into_iter()
                .map(|r| OutputRecord {
                    key: r.key,
                    line: r.line,
                    document: r.document,
                })
                .collect(),
            rejects: Vec::new(),
        }
    }

    impl Guest for Fixture {
        type Session = AbuseSession;

        fn info() -> PluginInfo {
            PluginInfo {
                name: "fixture-abuse".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                accepts: vec!["application/octet-stream; fixture".to_string()],
                produces: vec!["Basic".to_string()],
            }
        }

        fn open(options: Vec<(String, String)>) -> Result<Session, ConversionError> {
            let plan = parse_plan(&options).map_err(ConversionError::InvalidOptions)?;
            Ok(Session::new(AbuseSession {
                plan,
                chunks: Cell::new(0),
            }))
        }
    }

    impl GuestSession for AbuseSession {
        fn push(&self, _chunk: Vec<u8>) -> Result<Batch, ConversionError> {
            let index = self.chunks.get() + 1;
            self.chunks.set(index);
            Ok(batch(push_records(self.plan.mode_for(index), index)))
        }

        fn finish(&self) -> Result<Summary, ConversionError> {
            let as_of = (self.plan.mode == Mode::Ok).then(|| "2021-07-14".to_string());
            Ok(Summary {
                tail: batch(Vec::new()),
                as_of,
            })
        }
    }

    export!(Fixture);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_option_is_required_and_checked() {
        assert_eq!(
            parse_plan(&[]),
            Err("option `mode` is required".to_string())
        );
        assert_eq!(
            parse_plan(&[("mode".into(), "ok".into())]),
            Ok(Plan {
                mode: Mode::Ok,
                from_chunk: 1
            })
        );
        let late = parse_plan(&[
            ("mode".into(), "trap".into()),
            ("from-chunk".into(), "3".into()),
        ]);
        let late = late.expect("valid options");
        assert_eq!((late.mode_for(2), late.mode_for(3)), (Mode::Ok, Mode::Trap));
        let err = parse_plan(&[("mode".into(), "nope".into())]).unwrap_err();
        assert!(
            err.starts_with("unknown mode `nope`; expected one of ok, loop,"),
            "{err}"
        );
    }

    #[test]
    fn ok_mode_returns_the_toyota_record() {
        let records = push_records(Mode::Ok, 3);
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].key.as_str(), records[0].line), (KEY, 3));
        assert_eq!(records[0].document, DOCUMENT);
    }
}
