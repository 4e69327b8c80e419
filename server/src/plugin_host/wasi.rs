//! The pieces of the empty WASI context: frozen clocks, a bounded stderr capture, and traps for waiting.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::Linker;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// The wall clock a guest sees: always the Unix epoch.
pub(crate) struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The monotonic clock a guest sees: it never advances.
pub(crate) struct FrozenMonotonicClock;

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The version of `wasi:clocks` that wasmtime-wasi 48 links; guests importing any 0.2.x resolve to it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces the clock subscriptions (the only way a WASI p2 guest can make a host call wait: `sleep`,
/// timeouts) with traps, so a guest cannot hold a conversion thread without burning fuel.
pub(crate) fn deny_waiting<T: 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    for name in ["subscribe-duration", "subscribe-instant"] {
        clock.func_new(name, move |_store, _ty, _params, _results| {
            wasmtime::bail!(
                "a converter may not wait on a clock (`{MONOTONIC_CLOCK}.{name}` is denied)"
            )
        })?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// Guest stderr: the first `capacity` bytes are kept (to explain a trap), the rest is discarded. Writing
/// never fails and never blocks, so a chatty guest neither traps nor stalls.
#[derive(Clone)]
pub(crate) struct DiagnosticPipe {
    capacity: usize,
    kept: Arc<Mutex<Vec<u8>>>,
}

impl DiagnosticPipe {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            kept: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// What the guest wrote, lossily decoded, trimmed; `None` when it wrote nothing.
    pub(crate) fn text(&self) -> Option<String> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let text = String::from_utf8_lossy(&kept);
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

impl IsTerminal for DiagnosticPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for DiagnosticPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASI p3 uses this; the plugin host links p2 alone.
        Box::new(tokio::io::sink())
    }
}

/// What `check-write` grants per call; any size works, this one matches wasi-libc's writes.
const WRITE_PERMIT: usize = 4096;

impl OutputStream for DiagnosticPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.capacity.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for DiagnosticPipe {
    async fn ready(&mut self) {}
}
