//! Sandbox policy: every limit and capability a converter guest gets, decided here and nowhere else.
//!
//! A guest gets computation and nothing else:
//! - **Memory**: at most `max_memory_bytes` of linear memory (a denied growth is recorded, so the guest's
//!   allocation failure is reported as `MemoryLimit`, not as a generic trap).
//! - **CPU**: `fuel_per_call` units of fuel for each call (`open`, each `push`, `finish`); an endless loop ends
//!   as `FuelExhausted`. Host calls cannot block: sleeping / waiting on a clock traps.
//! - **Output**: at most `max_output_bytes_per_call` bytes returned by one call (counted by wasmtime as it
//!   copies, so the host never allocates more), no single record or reject larger than `max_record_bytes`.
//! - **WASI** (linked only because Rust std imports it): no preopened directories, no environment, no
//!   arguments, no network (TCP, UDP and name lookup disabled), stdin closed, stdout discarded, stderr kept
//!   (first 8 KiB) only to explain a trap. The wall clock is frozen at the Unix epoch, the monotonic clock
//!   never advances and both random sources return a fixed byte, so a guest cannot observe time or entropy
//!   and a conversion is a pure function of its input and options.

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{Deterministic, ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::wasi::{DiagnosticPipe, FrozenMonotonicClock, FrozenWallClock, deny_waiting};

/// The limits applied to every conversion. `Default` is what the server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// Largest linear memory a guest may grow to.
    pub max_memory_bytes: usize,
    /// Fuel (roughly: WebAssembly instructions) granted afresh to each call into the guest.
    pub fuel_per_call: u64,
    /// Most bytes one call may return (strings plus the host size of each list entry, as wasmtime counts
    /// them while copying the result out of the guest).
    pub max_output_bytes_per_call: usize,
    /// Largest single `document` (or reject reason) a guest may return.
    pub max_record_bytes: usize,
    /// Size of the input chunks pushed into the guest.
    pub chunk_bytes: usize,
    /// How many conversions may run at the same time (slots of the pooling allocator).
    pub max_concurrent_instances: u32,
}

impl Default for SandboxPolicy {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 << 20,
            // The NTA converter spends ~13 M fuel on a 64 KiB chunk (measured): a margin of ~80x, and an
            // endless loop stops within about a second.
            fuel_per_call: 1_000_000_000,
            // A 64 KiB chunk of NTA rows converts to well under 1 MiB of JSON.
            max_output_bytes_per_call: 16 << 20,
            max_record_bytes: 1 << 20,
            chunk_bytes: 64 << 10,
            max_concurrent_instances: 64,
        }
    }
}

/// Bytes of stderr kept per conversion, to explain a trap (e.g. a Rust panic message).
pub(crate) const STDERR_CAPTURE_BYTES: usize = 8 << 10;
/// Largest `get-random-bytes` request served; larger requests trap instead of making the host allocate.
const MAX_RANDOM_BYTES: u64 = 4 << 10;
/// Most table elements (function references) a guest table may grow to.
const MAX_TABLE_ELEMENTS: usize = 20_000;

/// What a converter may import: the world's own type definitions (`types`, which has no functions) and
/// the WASI interfaces satisfied by the empty context below. Anything else makes the component
/// `NotAConverter`; sockets and HTTP are absent on purpose.
pub(crate) const GRANTED_IMPORT_PREFIXES: [&str; 6] = [
    "renkei:converter/types@0.1.",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];

impl SandboxPolicy {
    /// The engine configuration: component model, fuel metering, and a pooling allocator sized by this policy.
    pub(crate) fn engine(&self) -> wasmtime::Result<Engine> {
        let instances = self.max_concurrent_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        // A Rust wasip2 component is a handful of core instances (the program, the WASI adapter, shims)
        // with one linear memory and a few tables.
        pool.total_component_instances(instances)
            .total_core_instances(instances * 8)
            .total_memories(instances * 2)
            .total_tables(instances * 8)
            .max_memory_size(self.max_memory_bytes)
            .table_elements(MAX_TABLE_ELEMENTS);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        Engine::new(&config)
    }

    /// The imports a guest may link against: WASI p2 over the empty context, with every way to wait
    /// (clock subscriptions) replaced by a trap, so no host call can block a conversion thread.
    pub(crate) fn linker(&self, engine: &Engine) -> wasmtime::Result<Linker<GuestContext>> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        deny_waiting(&mut linker)?;
        Ok(linker)
    }

    /// A fresh store for one conversion: the empty WASI context, the memory/table limiter and the
    /// per-call output ceiling wasmtime itself enforces when it copies guest data.
    pub(crate) fn store(&self, engine: &Engine) -> wasmtime::Result<Store<GuestContext>> {
        let stderr = DiagnosticPipe::new(STDERR_CAPTURE_BYTES);
        let context = GuestContext {
            wasi: empty_wasi(stderr.clone()),
            table: ResourceTable::new(),
            limiter: GuestLimiter {
                max_memory_bytes: self.max_memory_bytes,
                denied_memory_bytes: None,
            },
            stderr,
        };
        let mut store = Store::new(engine, context);
        store.limiter(|state| &mut state.limiter);
        // Instantiation runs guest code too (start functions, static constructors): it gets one call's fuel.
        store.set_fuel(self.fuel_per_call)?;
        // wasmtime charges every byte it copies out of the guest (strings, list entries) to this per-call
        // allowance and fails the call beyond it: that is the output limit, enforced before allocating.
        store.set_hostcall_fuel(self.max_output_bytes_per_call);
        Ok(store)
    }
}

/// The WASI context every guest gets: nothing to read, nothing to reach, nothing that varies.
fn empty_wasi(stderr: DiagnosticPipe) -> WasiCtx {
    // `WasiCtxBuilder::new()` already has no preopens, env, args or stdin; the rest is set explicitly.
    WasiCtxBuilder::new()
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .wall_clock(FrozenWallClock)
        .monotonic_clock(FrozenMonotonicClock)
        .secure_random(Deterministic::new(vec![0x5a]))
        .insecure_random(Deterministic::new(vec![0x5a]))
        .insecure_random_seed(0)
        .max_random_size(MAX_RANDOM_BYTES)
        .build()
}

/// Per-store state a guest's WASI imports and the limiter work on.
pub(crate) struct GuestContext {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: GuestLimiter,
    pub(crate) stderr: DiagnosticPipe,
}

impl WasiView for GuestContext {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Enforces `max_memory_bytes` and remembers a refused growth, so the trap that usually follows
/// (Rust aborts when allocation fails) is reported as what it is.
pub(crate) struct GuestLimiter {
    max_memory_bytes: usize,
    pub(crate) denied_memory_bytes: Option<usize>,
}

impl wasmtime::ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.denied_memory_bytes = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
