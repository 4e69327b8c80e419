//! Checks and delivers the guest's batches in order, on a second thread while the guest converts the next chunk.
//!
//! The host's checks (JSON parsing, schema validation) cost about as much as the guest's conversion, so
//! a long input runs them beside the guest: two cores, twice the rows per second. A one-chunk input is
//! checked inline; the thread is started only when a second batch arrives.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::{Builder, Scope};

use renkei_standard::StandardSchema;

use super::bindings::renkei::converter::types as wit;
use super::policy::SandboxPolicy;
use super::wire::{CheckedBatch, check_batch};
use super::{ConversionReport, ConversionSink, PluginError};

/// Raw batches waiting for the checker; bounds the memory a fast guest can queue up.
const QUEUED_BATCHES: usize = 2;

/// The checking thread's ends of the pipe.
struct Worker {
    batches: SyncSender<wit::Batch>,
    checked: Receiver<Result<CheckedBatch, PluginError>>,
}

pub(super) struct Delivery<'scope, 'env, 'sink> {
    scope: &'scope Scope<'scope, 'env>,
    policy: &'env SandboxPolicy,
    schema: &'env StandardSchema,
    sink: &'sink mut dyn ConversionSink,
    worker: Option<Worker>,
    batches_seen: u64,
}

impl<'scope, 'env, 'sink> Delivery<'scope, 'env, 'sink> {
    pub(super) fn new(
        scope: &'scope Scope<'scope, 'env>,
        policy: &'env SandboxPolicy,
        schema: &'env StandardSchema,
        sink: &'sink mut dyn ConversionSink,
    ) -> Self {
        Self {
            scope,
            policy,
            schema,
            sink,
            worker: None,
            batches_seen: 0,
        }
    }

    /// Takes the batch a `push` returned; checked batches reach the sink in the guest's order.
    pub(super) fn submit(
        &mut self,
        batch: wit::Batch,
        report: &mut ConversionReport,
    ) -> Result<(), PluginError> {
        if batch.records.is_empty() && batch.rejects.is_empty() {
            return Ok(());
        }
        self.batches_seen += 1;
        if self.worker.is_none() && self.batches_seen > 1 {
            self.worker = self.start_worker();
        }
        let Some(worker) = &self.worker else {
            let checked = check_batch(batch, self.policy, self.schema)?;
            return deliver(self.sink, checked, report);
        };
        // Hand over what is already checked, so the queue stays short.
        loop {
            match worker.checked.try_recv() {
                Ok(checked) => deliver(self.sink, checked?, report)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(worker_gone()),
            }
        }
        if worker.batches.send(batch).is_err() {
            // The checker stopped at an error it has already queued, perhaps behind batches that passed:
            // deliver those in order, then report that error.
            for checked in &worker.checked {
                deliver(self.sink, checked?, report)?;
            }
            return Err(worker_gone());
        }
        Ok(())
    }

    /// Delivers the tail batch `finish` returned after everything still queued.
    pub(super) fn finish(
        mut self,
        tail: wit::Batch,
        report: &mut ConversionReport,
    ) -> Result<(), PluginError> {
        let Some(Worker { batches, checked }) = self.worker.take() else {
            let tail = check_batch(tail, self.policy, self.schema)?;
            return deliver(self.sink, tail, report);
        };
        let tail_queued = batches.send(tail).is_ok();
        drop(batches);
        for result in checked {
            deliver(self.sink, result?, report)?;
        }
        if tail_queued {
            Ok(())
        } else {
            Err(worker_gone())
        }
    }

    /// Starts the checking thread; `None` (check inline) if the system refuses a thread.
    fn start_worker(&self) -> Option<Worker> {
        let (batches, incoming) = sync_channel::<wit::Batch>(QUEUED_BATCHES);
        // Unbounded on purpose: the checker must never wait for the caller, who may be waiting to send.
        // It holds at most the queued batches plus the one in hand.
        let (outgoing, checked) = channel();
        let (policy, schema) = (self.policy, self.schema);
        Builder::new()
            .name("plugin-checks".to_string())
            .spawn_scoped(self.scope, move || {
                for batch in incoming {
                    let result = check_batch(batch, policy, schema);
                    let failed = result.is_err();
                    if outgoing.send(result).is_err() || failed {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker { batches, checked })
    }
}

fn worker_gone() -> PluginError {
    PluginError::Engine("the record-checking thread stopped unexpectedly".to_string())
}

fn deliver(
    sink: &mut dyn ConversionSink,
    batch: CheckedBatch,
    report: &mut ConversionReport,
) -> Result<(), PluginError> {
    if batch.records.is_empty() && batch.rejects.is_empty() {
        return Ok(());
    }
    report.records += batch.records.len() as u64;
    report.rejects += batch.rejects.len() as u64;
    sink.accept(batch.records, batch.rejects)?;
    Ok(())
}
