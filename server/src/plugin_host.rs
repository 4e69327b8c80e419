//! Plugin host: compiles each converter component once, runs every conversion in a fresh limited store.
//!
//! Modelled on `wasmtime serve`: one [`PluginHost`] per process holds the engine and the linker; each
//! [`Plugin`] holds its compiled, pre-instantiated component; [`Plugin::convert`] instantiates it in a new
//! store (limits from [`SandboxPolicy`], all decided in `plugin_host/policy.rs`), opens a session, pushes the
//! input in chunks, checks every record the guest returns and hands the batches to a [`ConversionSink`].
//! The API is synchronous; async callers run conversions in `tokio::task::spawn_blocking`.

pub mod golden;
mod pipeline;
mod policy;
mod records;
mod wasi;
mod wire;

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use renkei_standard::StandardSchema;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, ResourceAny};
use wasmtime::{Engine, Store, Trap};

use pipeline::Delivery;
pub use policy::SandboxPolicy;
use policy::{GRANTED_IMPORT_PREFIXES, GuestContext};

mod bindings {
    //! Host bindings for the `converter` world (`wit/converter.wit`).
    wasmtime::component::bindgen!({
        world: "converter",
        path: "../wit",
    });
}

/// The export every converter provides.
const CONVERT_INTERFACE: &str = "renkei:converter/convert@0.1.0";

/// Why loading or running a plugin failed. Each sandbox limit has its own variant.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("not a converter plugin: {0}")]
    NotAConverter(String),
    #[error("the plugin does not compile: {0}")]
    Compile(String),
    #[error("the plugin engine cannot start: {0}")]
    Engine(String),
    #[error(
        "the plugin used up its fuel ({fuel_per_call} per call): it computes too long or loops forever"
    )]
    FuelExhausted { fuel_per_call: u64 },
    #[error("the plugin tried to use more than its {limit_bytes} bytes of memory")]
    MemoryLimit { limit_bytes: u64 },
    #[error("the plugin returned more than {limit_bytes} bytes in one call")]
    OutputLimit { limit_bytes: u64 },
    #[error(
        "the plugin returned {size_bytes} bytes for line {line}; one record may have at most {limit_bytes}"
    )]
    RecordTooLarge {
        line: u64,
        size_bytes: u64,
        limit_bytes: u64,
    },
    #[error("the plugin returned malformed data: {0}")]
    InvalidOutput(String),
    #[error("the plugin trapped: {0}")]
    Trap(String),
    #[error("the plugin refused the conversion: {0}")]
    Guest(ConversionError),
    #[error("reading the input failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("storing the converted records failed: {0}")]
    Sink(#[from] SinkError),
}

/// A converter's own refusal (the WIT `conversion-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// A sink's failure to take records (e.g. the database is gone); it aborts the conversion.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SinkError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl SinkError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self(error.into())
    }
}

/// A record the host accepted: `document` is a JSON object valid against the standard-data schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub key: String,
    pub line: u64,
    pub document: serde_json::Value,
}

/// A row that produced no record, from the guest or from the host's checks; `reason` names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// Receives the output of a conversion batch by batch (one batch per input chunk, plus the tail).
pub trait ConversionSink {
    fn accept(&mut self, records: Vec<Converted>, rejects: Vec<Rejected>) -> Result<(), SinkError>;
}

/// What a finished conversion reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionReport {
    pub records: u64,
    pub rejects: u64,
    pub bytes_in: u64,
    /// The as-of date the input states (`YYYY-MM-DD`), when it states one.
    pub as_of: Option<String>,
    /// sha256 of the plugin's bytes, hex.
    pub plugin_digest: String,
    pub elapsed: Duration,
    /// The most fuel one call used, to compare with `SandboxPolicy::fuel_per_call`.
    pub peak_fuel_per_call: u64,
    /// Time spent inside guest calls (including copying their results out); the rest of `elapsed` is
    /// instantiation, the host's record checks and the sink.
    pub guest_elapsed: Duration,
}

/// What a plugin says about itself (the WIT `plugin-info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub accepts: Vec<String>,
    pub produces: Vec<String>,
}

/// The process-wide plugin engine: build once, load plugins through it.
pub struct PluginHost {
    engine: Engine,
    linker: wasmtime::component::Linker<GuestContext>,
    shared: Arc<Shared>,
}

/// What every plugin of one host shares.
struct Shared {
    policy: SandboxPolicy,
    schema: StandardSchema,
}

impl PluginHost {
    pub fn new(policy: SandboxPolicy) -> Result<Self, PluginError> {
        let engine = policy
            .engine()
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let linker = policy
            .linker(&engine)
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let shared = Arc::new(Shared {
            policy,
            schema: StandardSchema::new(),
        });
        Ok(Self {
            engine,
            linker,
            shared,
        })
    }

    pub fn policy(&self) -> &SandboxPolicy {
        &self.shared.policy
    }

    /// The checks the host applies to every record a guest returns (JSON object, standard-data schema,
    /// `key` = `Basic.Destination.Corporate number`), for records produced outside a plugin.
    pub fn check_record(
        &self,
        key: &str,
        line: u64,
        document: &str,
    ) -> Result<Converted, Rejected> {
        records::check_record(&self.shared.schema, key, line, document)
    }

    /// Compiles a component, checks it implements the converter world and nothing more, pre-instantiates
    /// it and asks for its `info` (in a sandboxed store like any call).
    pub fn load(&self, wasm: &[u8]) -> Result<Plugin, PluginError> {
        check_header(wasm)?;
        let component = Component::new(&self.engine, wasm)
            .map_err(|e| PluginError::Compile(format!("{e:#}")))?;
        check_imports_and_exports(&self.engine, &component)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::NotAConverter(format!("{e:#}")))?;
        let indices = bindings::ConverterIndices::new(&instance_pre)
            .map_err(|e| PluginError::NotAConverter(format!("{e:#}")))?;
        let loaded = Arc::new(Loaded {
            instance_pre,
            indices,
            digest: hex::encode(Sha256::digest(wasm)),
            shared: Arc::clone(&self.shared),
        });
        // Instantiating and calling `info` once proves the component runs inside the limits at all.
        let info = Arc::new(loaded.probe()?);
        Ok(Plugin {
            inner: loaded,
            info,
        })
    }
}

/// A loaded converter. Cheap to clone; safe to use from many threads at once.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Loaded>,
    info: Arc<PluginInfo>,
}

/// A compiled, pre-instantiated component and where its exports are.
struct Loaded {
    instance_pre: InstancePre<GuestContext>,
    indices: bindings::ConverterIndices,
    digest: String,
    shared: Arc<Shared>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.info.name)
            .field("version", &self.info.version)
            .field("digest", &self.inner.digest)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// sha256 of the component's bytes, hex.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Instantiates the plugin in a fresh store and calls `info`: the smallest complete round trip, used at
    /// load time and for health checks and measurements.
    pub fn probe(&self) -> Result<PluginInfo, PluginError> {
        self.inner.probe()
    }

    /// Converts `input` (read in `chunk_bytes` chunks) with the given options, handing every batch to `sink`.
    /// Stops at the first error; the batches already accepted by the sink stay accepted.
    pub fn convert(
        &self,
        input: &mut dyn Read,
        options: &[(String, String)],
        sink: &mut dyn ConversionSink,
    ) -> Result<ConversionReport, PluginError> {
        let started = Instant::now();
        let plugin = &*self.inner;
        let policy = &plugin.shared.policy;
        let schema = &plugin.shared.schema;
        let (mut store, converter) = plugin.start()?;
        let guest = converter.renkei_converter_convert();
        let failure = |error, store: &Store<GuestContext>| classify(error, store, policy);

        plugin.refuel(&mut store)?;
        let opened = guest
            .call_open(&mut store, options)
            .map_err(|e| failure(e, &store))?;
        let session: ResourceAny = opened.map_err(wire::guest_error)?;

        let mut report = ConversionReport {
            records: 0,
            rejects: 0,
            bytes_in: 0,
            as_of: None,
            plugin_digest: plugin.digest.clone(),
            elapsed: Duration::ZERO,
            peak_fuel_per_call: plugin.fuel_spent(&store),
            guest_elapsed: Duration::ZERO,
        };
        std::thread::scope(|scope| {
            let mut delivery = Delivery::new(scope, policy, schema, sink);
            let mut chunk = vec![0_u8; policy.chunk_bytes.max(1)];
            loop {
                let filled = fill(input, &mut chunk)?;
                if filled == 0 {
                    break;
                }
                report.bytes_in += filled as u64;
                plugin.refuel(&mut store)?;
                let call_started = Instant::now();
                let pushed = guest
                    .session()
                    .call_push(&mut store, session, &chunk[..filled])
                    .map_err(|e| failure(e, &store))?;
                report.guest_elapsed += call_started.elapsed();
                report.peak_fuel_per_call =
                    report.peak_fuel_per_call.max(plugin.fuel_spent(&store));
                delivery.submit(pushed.map_err(wire::guest_error)?, &mut report)?;
            }
            plugin.refuel(&mut store)?;
            let call_started = Instant::now();
            let finished = guest
                .session()
                .call_finish(&mut store, session)
                .map_err(|e| failure(e, &store))?;
            report.guest_elapsed += call_started.elapsed();
            report.peak_fuel_per_call = report.peak_fuel_per_call.max(plugin.fuel_spent(&store));
            let summary = finished.map_err(wire::guest_error)?;
            report.as_of = wire::check_as_of(summary.as_of)?;
            delivery.finish(summary.tail, &mut report)
        })?;
        // The session is not dropped explicitly: the whole store (and the guest with it) goes now.
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

impl Loaded {
    /// A fresh store with the plugin instantiated in it.
    fn start(&self) -> Result<(Store<GuestContext>, bindings::Converter), PluginError> {
        let mut store = (self.shared.policy)
            .store(self.instance_pre.engine())
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let instance = match self.instance_pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(e) => return Err(classify(e, &store, &self.shared.policy)),
        };
        let converter = self
            .indices
            .load(&mut store, &instance)
            .map_err(|e| PluginError::NotAConverter(format!("{e:#}")))?;
        Ok((store, converter))
    }

    /// Refills the fuel tank before each call: the limit is per call, so long inputs are fine.
    fn refuel(&self, store: &mut Store<GuestContext>) -> Result<(), PluginError> {
        store
            .set_fuel(self.shared.policy.fuel_per_call)
            .map_err(|e| PluginError::Engine(format!("{e:#}")))
    }

    /// Fuel the last call used (the tank was full when it started).
    fn fuel_spent(&self, store: &Store<GuestContext>) -> u64 {
        let left = store.get_fuel().unwrap_or(0);
        self.shared.policy.fuel_per_call.saturating_sub(left)
    }

    fn probe(&self) -> Result<PluginInfo, PluginError> {
        let (mut store, converter) = self.start()?;
        self.refuel(&mut store)?;
        let info = converter
            .renkei_converter_convert()
            .call_info(&mut store)
            .map_err(|e| classify(e, &store, &self.shared.policy))?;
        wire::check_info(info, &self.shared.policy)
    }
}

/// Names what went wrong in a failed call: a refused memory growth explains the abort that follows it.
fn classify(
    error: wasmtime::Error,
    store: &Store<GuestContext>,
    policy: &SandboxPolicy,
) -> PluginError {
    let state = store.data();
    if state.limiter.denied_memory_bytes.is_some() {
        return PluginError::MemoryLimit {
            limit_bytes: policy.max_memory_bytes as u64,
        };
    }
    let stderr = state
        .stderr
        .text()
        .map(|text| format!("; guest stderr: {}", wire::clip(&text, 1024)));
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => PluginError::FuelExhausted {
            fuel_per_call: policy.fuel_per_call,
        },
        Some(trap) => PluginError::Trap(format!("{trap}{}", stderr.unwrap_or_default())),
        // wasmtime's error type for this is private; its message is pinned by the `flood` test.
        None if format!("{error:#}").contains(HOSTCALL_FUEL_EXHAUSTED) => {
            PluginError::OutputLimit {
                limit_bytes: policy.max_output_bytes_per_call as u64,
            }
        }
        // Other host-side refusals during the call, e.g. waiting on a clock, or a malformed result.
        None => PluginError::Trap(format!("{error:#}{}", stderr.unwrap_or_default())),
    }
}

/// How wasmtime 48 says a result exceeded the store's hostcall fuel (our output limit).
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

/// Reads until `buf` is full or the input ends, so every chunk but the last has the full size.
fn fill(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Tells a core module or arbitrary bytes apart from a component before compiling.
fn check_header(wasm: &[u8]) -> Result<(), PluginError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_VERSION: &[u8] = &[1, 0, 0, 0];
    if wasm.len() < 8 || &wasm[..4] != MAGIC {
        return Err(PluginError::NotAConverter(
            "not a WebAssembly binary (it does not start with `\\0asm`)".to_string(),
        ));
    }
    if &wasm[4..8] == CORE_VERSION {
        return Err(PluginError::NotAConverter(
            "a core WebAssembly module, not a component: build the guest with `--target wasm32-wasip2`".to_string(),
        ));
    }
    Ok(())
}

/// A converter exports the `convert` interface and nothing else, and imports nothing beyond granted WASI.
fn check_imports_and_exports(engine: &Engine, component: &Component) -> Result<(), PluginError> {
    let ty = component.component_type();
    for (name, _) in ty.exports(engine) {
        if name != CONVERT_INTERFACE {
            return Err(PluginError::NotAConverter(format!(
                "it exports `{name}`; a converter exports only `{CONVERT_INTERFACE}`"
            )));
        }
    }
    if ty.exports(engine).len() == 0 {
        return Err(PluginError::NotAConverter(format!(
            "it does not export `{CONVERT_INTERFACE}`"
        )));
    }
    for (name, _) in ty.imports(engine) {
        if !GRANTED_IMPORT_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            return Err(PluginError::NotAConverter(format!(
                "it imports `{name}`, which the converter world does not grant"
            )));
        }
    }
    Ok(())
}
