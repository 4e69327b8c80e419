//! Conversion benchmark: the NTA converter natively and as a sandboxed plugin, on the same rows.
//!
//! `renkei bench convert` replicates a real NTA file's rows (streamed, never one big buffer) to at least
//! the requested count and converts them three ways, each in its own phase with its own peak RSS:
//! the native library alone, the native library plus the host's per-record checks (what the plugin path
//! also pays), and the WASM plugin through [`Plugin::convert`]. It then times the smallest round trips:
//! fresh store + instantiate + `info`, and a one-row conversion.

mod repeat;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::plugin_host::{
    ConversionSink, Converted, Plugin, PluginHost, Rejected, SandboxPolicy, SinkError,
};
use repeat::RepeatedRows;

/// Rounds of the small round-trip measurements (after as many warm-up rounds).
const ROUND_TRIPS: u32 = 2000;

/// One conversion pass.
#[derive(Debug, Clone)]
pub struct Phase {
    pub records: u64,
    /// The most fuel one plugin call used (0 for native phases).
    pub peak_fuel_per_call: u64,
    /// Time inside guest calls (the plugin phase only).
    pub guest_elapsed: Duration,
    pub rejects: u64,
    pub elapsed: Duration,
    /// Peak resident set during this phase (`VmHWM`, reset before the phase when the kernel allows).
    pub peak_rss_bytes: Option<u64>,
}

impl Phase {
    pub fn rows_per_sec(&self, rows: u64) -> f64 {
        rows as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Everything `renkei bench convert` measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub rows: u64,
    pub input_bytes: u64,
    /// Compiling and checking the component (`PluginHost::load`).
    pub load: Duration,
    pub native: Phase,
    pub native_checked: Phase,
    pub wasm: Phase,
    /// The policy's fuel per call, for comparison with the peak.
    pub fuel_per_call: u64,
    /// Whether each phase's peak RSS is its own (else it includes the phases before it).
    pub rss_reset: bool,
    /// Mean of fresh store + instantiate + `info`.
    pub probe: Duration,
    /// Mean of fresh store + instantiate + open + push (one row) + finish, with the host's checks.
    pub one_row_conversion: Duration,
}

impl BenchReport {
    /// Plugin throughput relative to the native library alone.
    pub fn wasm_vs_native(&self) -> f64 {
        self.wasm.rows_per_sec(self.rows) / self.native.rows_per_sec(self.rows)
    }

    /// Plugin throughput relative to native code doing the same host-side checks.
    pub fn wasm_vs_native_checked(&self) -> f64 {
        self.wasm.rows_per_sec(self.rows) / self.native_checked.rows_per_sec(self.rows)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: Option<u64>| match bytes {
            Some(b) => format!("{:.0} MiB", b as f64 / f64::from(1 << 20)),
            None => "n/a".to_string(),
        };
        writeln!(
            f,
            "input: {} rows, {:.1} MiB (plugin load {:.1} ms)",
            self.rows,
            self.input_bytes as f64 / f64::from(1 << 20),
            self.load.as_secs_f64() * 1e3
        )?;
        for (name, phase) in [
            ("native", &self.native),
            ("native + host checks", &self.native_checked),
            ("wasm plugin", &self.wasm),
        ] {
            writeln!(
                f,
                "{name:>21}: {:>10.0} rows/s  {:>7.2} s  records {} rejects {}  peak RSS {}",
                phase.rows_per_sec(self.rows),
                phase.elapsed.as_secs_f64(),
                phase.records,
                phase.rejects,
                mib(phase.peak_rss_bytes)
            )?;
        }
        if !self.rss_reset {
            writeln!(
                f,
                "(peak RSS could not be reset between phases: each includes the ones before)"
            )?;
        }
        writeln!(
            f,
            "peak fuel of one plugin call: {} ({:.1}% of the per-call limit)",
            self.wasm.peak_fuel_per_call,
            self.wasm.peak_fuel_per_call as f64 * 100.0 / self.fuel_per_call as f64
        )?;
        writeln!(
            f,
            "time inside the guest: {:.2} s of {:.2} s ({:.2}x native conversion speed)",
            self.wasm.guest_elapsed.as_secs_f64(),
            self.wasm.elapsed.as_secs_f64(),
            self.native.elapsed.as_secs_f64()
                / self.wasm.guest_elapsed.as_secs_f64().max(f64::EPSILON)
        )?;
        writeln!(f, "wasm / native: {:.2}x", self.wasm_vs_native())?;
        writeln!(
            f,
            "wasm / (native + host checks): {:.2}x",
            self.wasm_vs_native_checked()
        )?;
        writeln!(
            f,
            "fresh store + instantiate + info: {:.1} µs; one-row conversion: {:.1} µs",
            self.probe.as_secs_f64() * 1e6,
            self.one_row_conversion.as_secs_f64() * 1e6
        )
    }
}

/// Counts what a conversion produced and drops it.
#[derive(Default)]
struct Count {
    records: u64,
    rejects: u64,
}

impl ConversionSink for Count {
    fn accept(&mut self, records: Vec<Converted>, rejects: Vec<Rejected>) -> Result<(), SinkError> {
        self.records += records.len() as u64;
        self.rejects += rejects.len() as u64;
        Ok(())
    }
}

/// Converts `input`'s rows, repeated to at least `target_rows`, natively and through the plugin at
/// `plugin_path` (the NTA guest), and times the small round trips. The CLI prints the report.
pub fn run_convert_bench(
    plugin_path: &Path,
    input: &Path,
    target_rows: u64,
) -> anyhow::Result<BenchReport> {
    let wasm = std::fs::read(plugin_path)
        .with_context(|| format!("reading the plugin {}", plugin_path.display()))?;
    let file =
        std::fs::read(input).with_context(|| format!("reading the input {}", input.display()))?;
    let first_row = file
        .split_inclusive(|b| *b == b'\n')
        .next()
        .unwrap_or_default()
        .to_vec();
    let repeated = || RepeatedRows::new(file.clone(), target_rows);
    let Some((probe_reader, rows)) = repeated() else {
        bail!("{} has no rows", input.display());
    };
    let input_bytes = probe_reader.total_bytes();

    let policy = SandboxPolicy::default();
    let host = PluginHost::new(policy.clone())?;
    let started = Instant::now();
    let plugin = host.load(&wasm)?;
    let load = started.elapsed();

    let rss_reset = reset_peak_rss();
    let native = native_phase(repeated, policy.chunk_bytes, None)?;
    reset_peak_rss();
    let native_checked = native_phase(repeated, policy.chunk_bytes, Some(&host))?;
    reset_peak_rss();
    let wasm_phase = wasm_phase(&plugin, repeated)?;

    let probe = mean_time(|| plugin.probe().map(drop))?;
    let one_row_conversion = mean_time(|| {
        plugin
            .convert(&mut first_row.as_slice(), &[], &mut Count::default())
            .map(drop)
    })?;

    Ok(BenchReport {
        rows,
        input_bytes,
        load,
        native,
        native_checked,
        wasm: wasm_phase,
        fuel_per_call: policy.fuel_per_call,
        rss_reset,
        probe,
        one_row_conversion,
    })
}

/// The native library over the repeated rows, with the host's record checks when `checks` is given.
fn native_phase(
    repeated: impl Fn() -> Option<(RepeatedRows, u64)>,
    chunk_bytes: usize,
    checks: Option<&PluginHost>,
) -> anyhow::Result<Phase> {
    let Some((mut reader, _)) = repeated() else {
        bail!("no rows")
    };
    let started = Instant::now();
    let mut converter = nta_corporate_number::Converter::new(&[])?;
    let mut count = Count::default();
    let mut tally = |batch: nta_corporate_number::Batch| {
        count.rejects += batch.rejects.len() as u64;
        for record in batch.records {
            let accepted = match checks {
                Some(host) => host
                    .check_record(&record.key, record.line, &record.document)
                    .is_ok(),
                None => true,
            };
            if accepted {
                count.records += 1;
            } else {
                count.rejects += 1;
            }
        }
    };
    let mut chunk = vec![0_u8; chunk_bytes];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        tally(converter.push(&chunk[..n])?);
    }
    tally(converter.finish()?.tail);
    Ok(Phase {
        records: count.records,
        peak_fuel_per_call: 0,
        guest_elapsed: Duration::ZERO,
        rejects: count.rejects,
        elapsed: started.elapsed(),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

fn wasm_phase(
    plugin: &Plugin,
    repeated: impl Fn() -> Option<(RepeatedRows, u64)>,
) -> anyhow::Result<Phase> {
    let Some((mut reader, _)) = repeated() else {
        bail!("no rows")
    };
    let mut count = Count::default();
    let report = plugin.convert(&mut reader, &[], &mut count)?;
    Ok(Phase {
        records: report.records,
        peak_fuel_per_call: report.peak_fuel_per_call,
        guest_elapsed: report.guest_elapsed,
        rejects: report.rejects,
        elapsed: report.elapsed,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Mean duration of `round` over [`ROUND_TRIPS`] runs, after as many warm-up runs.
fn mean_time<E>(mut round: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
    for _ in 0..ROUND_TRIPS {
        round()?;
    }
    let started = Instant::now();
    for _ in 0..ROUND_TRIPS {
        round()?;
    }
    Ok(started.elapsed() / ROUND_TRIPS)
}

/// `VmHWM` of this process, in bytes (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resets `VmHWM` to the current RSS (Linux: writing 5 to `clear_refs`), so the next phase's peak is its own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
