//! Graceful stop: on SIGINT or SIGTERM a listener stops accepting, and the requests under way (an
//! exchange, an upload) get a grace period to finish before the process exits.

use std::{sync::Arc, time::Duration};
use tokio::{sync::Notify, task::JoinHandle};

/// How long requests under way may take to finish once a stop is asked for.
pub const GRACE: Duration = Duration::from_secs(30);

/// One listener's stop switch and the task that serves it.
#[derive(Default)]
pub struct Stop {
    asked: Arc<Notify>,
    server: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Stop {
    /// Resolves once a stop is asked for (also when it was asked before this was polled).
    pub fn asked(&self) -> impl Future<Output = ()> + Send + 'static {
        let asked = self.asked.clone();
        async move { asked.notified().await }
    }

    /// Remembers the task serving the listener, so that [`Stop::stop_and_wait`] can wait for it.
    pub fn attach(&self, server: JoinHandle<()>) {
        *self.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server);
    }

    /// Asks the listener to stop without waiting.
    pub fn ask(&self) {
        // notify_one keeps a permit when nobody waits yet, so an early ask is not lost.
        self.asked.notify_one();
    }

    /// Asks the listener to stop and waits until the requests under way have finished, or `grace`
    /// has passed. True when everything finished in time.
    pub async fn stop_and_wait(&self, grace: Duration) -> bool {
        self.ask();
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        match server {
            Some(server) => tokio::time::timeout(grace, server).await.is_ok(),
            None => true,
        }
    }
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM (what systemd and container runtimes send).
pub async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops");
                    std::future::pending::<()>().await
                }
            }
        };
        tokio::select! {
            _ = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_early_ask_is_kept_and_the_server_task_is_awaited() {
        let stop = Stop::default();
        stop.ask();
        let asked = stop.asked();
        let server = tokio::spawn(async move {
            asked.await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
        stop.attach(server);
        assert!(stop.stop_and_wait(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_request_longer_than_the_grace_is_cut() {
        let stop = Stop::default();
        let asked = stop.asked();
        stop.attach(tokio::spawn(async move {
            asked.await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }));
        assert!(!stop.stop_and_wait(Duration::from_millis(50)).await);
    }
}
