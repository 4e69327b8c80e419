//! Sandbox tests of the plugin host: every limit against the fixture-abuse guest, and the host keeps serving.
//!
//! The guests must be built first: `scripts/build-plugins.sh`.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::LazyLock;

use renkei::plugin_host::{
    ConversionError, ConversionReport, ConversionSink, Converted, Plugin, PluginError, PluginHost,
    Rejected, SandboxPolicy, SinkError,
};
use serde_json::json;
use sha2::{Digest, Sha256};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where `scripts/build-plugins.sh` puts the guests (honouring `CARGO_TARGET_DIR` like cargo does).
fn guest_path(file: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("wasm32-wasip2/release").join(file)
}

fn read_guest(file: &str) -> Vec<u8> {
    let path = guest_path(file);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run scripts/build-plugins.sh first",
            path.display()
        )
    })
}

static HOST: LazyLock<PluginHost> =
    LazyLock::new(|| PluginHost::new(SandboxPolicy::default()).expect("the plugin engine starts"));

static FIXTURE_BYTES: LazyLock<Vec<u8>> = LazyLock::new(|| read_guest("fixture_abuse.wasm"));

/// Compiled once for the whole test binary: compiling is the slow part of a debug build.
static FIXTURE: LazyLock<Plugin> =
    LazyLock::new(|| HOST.load(&FIXTURE_BYTES).expect("fixture_abuse.wasm loads"));

const TOYOTA: &str = "1180301018771";

fn toyota_document() -> serde_json::Value {
    json!({"Basic": {"Destination": {
        "Corporate number": "1180301018771",
        "Corporate name": "トヨタ自動車株式会社"
    }}})
}

#[derive(Default)]
struct Collect {
    records: Vec<Converted>,
    rejects: Vec<Rejected>,
    batches: usize,
}

impl ConversionSink for Collect {
    fn accept(&mut self, records: Vec<Converted>, rejects: Vec<Rejected>) -> Result<(), SinkError> {
        self.batches += 1;
        self.records.extend(records);
        self.rejects.extend(rejects);
        Ok(())
    }
}

fn mode(name: &str) -> Vec<(String, String)> {
    vec![("mode".to_string(), name.to_string())]
}

/// Runs the fixture in `mode` over `input`.
fn run(name: &str, input: &[u8]) -> (Result<ConversionReport, PluginError>, Collect) {
    let mut sink = Collect::default();
    let result = FIXTURE.convert(&mut Cursor::new(input), &mode(name), &mut sink);
    (result, sink)
}

/// The same plugin converts normally right after an abuse.
fn assert_still_serves() {
    let (result, sink) = run("ok", b"one chunk");
    let report = result.expect("an ok conversion after the abuse");
    assert_eq!((report.records, report.rejects), (1, 0));
    assert_eq!(sink.records[0].document, toyota_document());
}

#[test]
fn ok_mode_returns_one_checked_record_per_chunk() {
    // 150 KiB: two full 64 KiB chunks and a 22 KiB tail.
    let input = vec![b'x'; 150 << 10];
    let (result, sink) = run("ok", &input);
    let report = result.expect("ok conversion");
    assert_eq!(report.records, 3);
    assert_eq!(report.rejects, 0);
    assert_eq!(report.bytes_in, 150 << 10);
    assert_eq!(report.as_of.as_deref(), Some("2021-07-14"));
    assert_eq!(
        report.plugin_digest,
        hex::encode(Sha256::digest(&*FIXTURE_BYTES))
    );
    assert_eq!(sink.batches, 3);
    let lines: Vec<u64> = sink.records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 3]);
    assert_eq!(
        sink.records[0],
        Converted {
            key: TOYOTA.to_string(),
            line: 1,
            document: toyota_document()
        }
    );
}

#[test]
fn empty_input_only_finishes() {
    let (result, sink) = run("ok", b"");
    let report = result.expect("empty input converts");
    assert_eq!((report.records, report.rejects, report.bytes_in), (0, 0, 0));
    assert_eq!(report.as_of.as_deref(), Some("2021-07-14"));
    assert_eq!(sink.batches, 0);
}

#[test]
fn info_and_digest_describe_the_plugin() {
    let info = FIXTURE.info();
    assert_eq!(info.name, "fixture-abuse");
    assert_eq!(info.version, "0.1.0");
    assert_eq!(info.accepts, ["application/octet-stream; fixture"]);
    assert_eq!(info.produces, ["Basic"]);
    assert_eq!(
        FIXTURE.digest(),
        hex::encode(Sha256::digest(&*FIXTURE_BYTES))
    );
    assert_eq!(FIXTURE.probe().expect("probe"), *info);
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let (result, sink) = run("loop", b"x");
    match result {
        Err(PluginError::FuelExhausted { fuel_per_call }) => {
            assert_eq!(fuel_per_call, SandboxPolicy::default().fuel_per_call)
        }
        other => panic!("expected FuelExhausted, got {other:?}"),
    }
    assert_eq!(sink.batches, 0);
    assert_still_serves();
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let (result, _) = run("grab-memory", b"x");
    match result {
        Err(e @ PluginError::MemoryLimit { limit_bytes }) => {
            assert_eq!(limit_bytes, 64 << 20);
            assert_eq!(
                e.to_string(),
                "the plugin tried to use more than its 67108864 bytes of memory"
            );
        }
        other => panic!("expected MemoryLimit, got {other:?}"),
    }
    assert_still_serves();
}

#[test]
fn a_flood_of_records_hits_the_output_limit() {
    let (result, sink) = run("flood", b"x");
    match result {
        Err(PluginError::OutputLimit { limit_bytes }) => assert_eq!(limit_bytes, 16 << 20),
        other => panic!("expected OutputLimit, got {other:?}"),
    }
    assert_eq!(
        sink.batches, 0,
        "nothing of the flooding batch reaches the sink"
    );
    assert_still_serves();
}

#[test]
fn a_panic_is_a_trap_with_the_guest_message() {
    let (result, _) = run("trap", b"x");
    match result {
        Err(PluginError::Trap(message)) => {
            assert!(
                message.starts_with("wasm trap: wasm `unreachable` instruction executed"),
                "{message}"
            );
            assert!(
                message.contains("fixture-abuse: trap mode panics on purpose"),
                "{message}"
            );
        }
        other => panic!("expected Trap, got {other:?}"),
    }
    assert_still_serves();
}

#[test]
fn a_huge_record_is_refused_before_it_is_copied() {
    let (result, _) = run("huge-record", b"x");
    match result {
        Err(e @ PluginError::OutputLimit { .. }) => {
            assert_eq!(
                e.to_string(),
                "the plugin returned more than 16777216 bytes in one call"
            )
        }
        other => panic!("expected OutputLimit, got {other:?}"),
    }
    assert_still_serves();
}

#[test]
fn a_record_over_the_record_limit_is_refused() {
    let (result, sink) = run("large-record", b"x");
    match result {
        Err(e @ PluginError::RecordTooLarge { .. }) => assert_eq!(
            e.to_string(),
            "the plugin returned 2000095 bytes for line 1; one record may have at most 1048576"
        ),
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    assert_eq!(sink.batches, 0);
    assert_still_serves();
}

#[test]
fn a_late_failure_keeps_the_earlier_batches_in_order() {
    // Chunks 1 and 2 are fine; chunk 3 returns an oversized record, found by the checking thread.
    let options = [
        mode("large-record"),
        vec![("from-chunk".to_string(), "3".to_string())],
    ]
    .concat();
    let mut sink = Collect::default();
    let input = vec![b'x'; 200 << 10];
    let result = FIXTURE.convert(&mut Cursor::new(input), &options, &mut sink);
    match result {
        Err(PluginError::RecordTooLarge { line: 3, .. }) => {}
        other => panic!("expected RecordTooLarge on line 3, got {other:?}"),
    }
    let lines: Vec<u64> = sink.records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2]);
    assert_still_serves();
}

#[test]
fn a_record_that_is_not_json_becomes_a_reject() {
    let (result, sink) = run("bad-json", b"x");
    let report = result.expect("conversion completes");
    assert_eq!((report.records, report.rejects), (1, 1));
    assert_eq!(
        sink.rejects,
        [Rejected {
            line: 1,
            reason: "`document` is not valid JSON: EOF while parsing a value at line 1 column 24"
                .to_string()
        }]
    );
    assert_eq!(sink.records[0].document, toyota_document());
}

#[test]
fn a_record_outside_the_standard_becomes_a_reject_naming_the_field() {
    let (result, sink) = run("invalid-schema", b"x");
    let report = result.expect("conversion completes");
    assert_eq!((report.records, report.rejects), (1, 1));
    let reason = &sink.rejects[0].reason;
    assert_eq!(sink.rejects[0].line, 1);
    assert!(
        reason.starts_with("`document` is not valid standard data: at /Basic: "),
        "{reason}"
    );
    assert!(reason.contains("Favourite colour"), "{reason}");
}

#[test]
fn a_key_that_contradicts_the_document_becomes_a_reject() {
    let (result, sink) = run("wrong-key", b"x");
    let report = result.expect("conversion completes");
    assert_eq!((report.records, report.rejects), (0, 1));
    assert_eq!(
        sink.rejects[0].reason,
        r#"`key` "1010001072706" differs from `Basic.Destination.Corporate number` "1180301018771""#
    );
}

#[test]
fn the_guest_sees_no_clock_environment_files_or_entropy() {
    let observe = || {
        let (result, sink) = run("observe", b"x");
        result.expect("observe converts");
        sink.records[0].document["Basic"]["Destination"]["Corporate name"]
            .as_str()
            .expect("a name")
            .to_string()
    };
    let first = observe();
    assert!(
        first.starts_with("clock=0 env=0 args=0 root=denied hash="),
        "{first}"
    );
    assert_eq!(observe(), first, "a second run sees exactly the same world");
}

#[test]
fn sleeping_is_refused_at_once() {
    let started = std::time::Instant::now();
    let (result, _) = run("sleep", b"x");
    match result {
        Err(PluginError::Trap(message)) => assert!(
            message.contains("a converter may not wait on a clock"),
            "{message}"
        ),
        other => panic!("expected a Trap, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_still_serves();
}

#[test]
fn the_guests_own_refusal_is_reported_as_such() {
    let (result, _) = run("nope", b"x");
    match result {
        Err(PluginError::Guest(ConversionError::InvalidOptions(message))) => assert!(
            message.starts_with("unknown mode `nope`; expected one of ok, loop, grab-memory,"),
            "{message}"
        ),
        other => panic!("expected Guest(InvalidOptions), got {other:?}"),
    }
}

#[test]
fn a_failing_sink_stops_the_conversion() {
    struct Full;
    impl ConversionSink for Full {
        fn accept(&mut self, _: Vec<Converted>, _: Vec<Rejected>) -> Result<(), SinkError> {
            Err(SinkError::new("disk full"))
        }
    }
    let result = FIXTURE.convert(&mut Cursor::new(b"x"), &mode("ok"), &mut Full);
    match result {
        Err(e @ PluginError::Sink(_)) => {
            assert_eq!(
                e.to_string(),
                "storing the converted records failed: disk full"
            )
        }
        other => panic!("expected Sink, got {other:?}"),
    }
    assert_still_serves();
}

#[test]
fn conversions_run_in_parallel_on_one_plugin() {
    let plugin = FIXTURE.clone();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let plugin = plugin.clone();
            std::thread::spawn(move || {
                let mut sink = Collect::default();
                plugin.convert(
                    &mut Cursor::new(vec![0_u8; 100_000]),
                    &mode("ok"),
                    &mut sink,
                )
            })
        })
        .collect();
    for thread in threads {
        let report = thread.join().expect("no panic").expect("converts");
        assert_eq!(report.records, 2);
    }
}

#[test]
fn bytes_that_are_not_a_component_are_refused() {
    let message = |bytes: &[u8]| match HOST.load(bytes) {
        Err(e @ PluginError::NotAConverter(_)) => e.to_string(),
        other => panic!("expected NotAConverter, got {other:?}"),
    };
    assert_eq!(
        message(b"PK\x03\x04 not wasm"),
        "not a converter plugin: not a WebAssembly binary (it does not start with `\\0asm`)"
    );
    assert_eq!(
        message(b"\0asm\x01\0\0\0"),
        "not a converter plugin: a core WebAssembly module, not a component: build the guest with `--target wasm32-wasip2`"
    );
    // The smallest valid component: it exports nothing.
    assert_eq!(
        message(b"\0asm\x0d\0\x01\0"),
        "not a converter plugin: it does not export `renkei:converter/convert@0.1.0`"
    );
    match HOST.load(b"\0asm\x0d\0\x01\0\x07\x05garbage") {
        Err(PluginError::Compile(_)) => {}
        other => panic!("expected Compile, got {other:?}"),
    }
}

// --- The real converter: the NTA guest must give exactly what the same code gives natively. ---

static NTA: LazyLock<Plugin> = LazyLock::new(|| {
    HOST.load(&read_guest("nta_corporate_number.wasm"))
        .expect("nta_corporate_number.wasm loads")
});

/// Converts `input` with the native library, chunked like the host does.
fn convert_natively(input: &[u8]) -> (Vec<Converted>, Vec<Rejected>, Option<String>) {
    let mut converter = nta_corporate_number::Converter::new(&[]).expect("default options");
    let mut batches = Vec::new();
    for chunk in input.chunks(SandboxPolicy::default().chunk_bytes) {
        batches.push(converter.push(chunk).expect("native push"));
    }
    let summary = converter.finish().expect("native finish");
    batches.push(summary.tail);
    let mut records = Vec::new();
    let mut rejects = Vec::new();
    for batch in batches {
        records.extend(batch.records.into_iter().map(|r| Converted {
            key: r.key,
            line: r.line,
            document: serde_json::from_str(&r.document).expect("native output is JSON"),
        }));
        rejects.extend(batch.rejects.into_iter().map(|r| Rejected {
            line: r.line,
            reason: r.reason,
        }));
    }
    (records, rejects, summary.as_of)
}

fn assert_plugin_matches_native(file: &str, expected_as_of: &str) {
    let input = std::fs::read(repo_root().join("demo/data").join(file)).expect("demo data file");
    let (native_records, native_rejects, native_as_of) = convert_natively(&input);

    let mut sink = Collect::default();
    let report = NTA
        .convert(&mut Cursor::new(&input), &[], &mut sink)
        .expect("plugin converts");

    assert_eq!(report.bytes_in, input.len() as u64);
    assert_eq!(
        report.records,
        native_records.len() as u64,
        "{file}: record count"
    );
    assert_eq!(
        report.rejects,
        native_rejects.len() as u64,
        "{file}: reject count"
    );
    assert_eq!(report.as_of, native_as_of);
    assert_eq!(report.as_of.as_deref(), Some(expected_as_of));
    let fuel_per_call = SandboxPolicy::default().fuel_per_call;
    assert!(
        report.peak_fuel_per_call > 0 && report.peak_fuel_per_call < fuel_per_call / 10,
        "{file}: a 64 KiB chunk used {} fuel; the default policy must leave a 10x margin over real data",
        report.peak_fuel_per_call
    );
    assert_eq!(
        sink.records.first(),
        native_records.first(),
        "{file}: first record"
    );
    assert!(
        sink.records == native_records,
        "{file}: every record is identical"
    );
    assert_eq!(sink.rejects, native_rejects, "{file}: rejects");
}

#[test]
fn nta_plugin_converts_the_utf8_diff_file_like_native_code() {
    assert_plugin_matches_native("nta_sabun_20210714.utf8.csv", "2021-07-14");
}

#[test]
fn nta_plugin_converts_the_cp932_web_api_file_like_native_code() {
    assert_plugin_matches_native(
        "nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv",
        "2017-06-06",
    );
}
