//! Ships a node's exchange log to the portal in order, in signed batches; records stay on disk until delivered.

use super::{NodeState, exchange_log::BacklogLevel};
use crate::token;
use std::{sync::Arc, time::Duration};

/// Portal path that takes log batches.
pub const INGEST_PATH: &str = "/api/v1/exchange-records";
/// Audience of the batches' tokens.
pub const PORTAL_AUDIENCE: &str = "portal";
const BATCH: u64 = 500;

pub fn spawn(state: Arc<NodeState>) {
    tokio::spawn(async move {
        let mut failures = 0u32;
        let mut level = BacklogLevel::Ok;
        loop {
            level = alert_on_change(&state, level);
            match ship_once(&state).await {
                Ok(0) => {
                    failures = 0;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "exchange log not delivered to the portal; kept for retry");
                    }
                    tokio::time::sleep(Duration::from_millis(300 * u64::from(failures.min(20))))
                        .await;
                }
            }
        }
    });
}

/// Says so, once, when the undelivered records cross 80 % of `[log] max_backlog`, reach it, or fall
/// back; returns the level now.
fn alert_on_change(state: &NodeState, before: BacklogLevel) -> BacklogLevel {
    let limit = state.config.log.max_backlog;
    let now = state.log.backlog_level(limit);
    if now != before {
        let pending = state.log.pending();
        match now {
            BacklogLevel::High => tracing::warn!(
                pending,
                limit,
                "exchange-log backlog above 80 % of its bound: the portal is not receiving records; at the bound the node takes no new exchanges"
            ),
            BacklogLevel::Full => tracing::error!(
                pending,
                limit,
                "exchange-log backlog full: new exchanges are refused (503 log_backlog_full) until the portal receives the records"
            ),
            BacklogLevel::Ok => {
                tracing::info!(
                    pending,
                    limit,
                    "exchange-log backlog back below 80 % of its bound"
                )
            }
        }
    }
    now
}

/// Sends the next batch; returns how many records were delivered.
pub async fn ship_once(state: &NodeState) -> Result<usize, String> {
    let Some(portal) = state.config.portal_url.as_deref() else {
        return Ok(0);
    };
    let records = state
        .log
        .unshipped(BATCH)
        .await
        .map_err(|e| e.to_string())?;
    let Some((last, last_hash)) = records.last().map(|r| (r.seq, r.hash.clone())) else {
        return Ok(0);
    };
    // The batch's last record, signed as the node's chain head: the portal keeps the newest.
    let head =
        super::exchange_log::head::sign(&state.key, &state.config.client_id, last, &last_hash);
    let body = serde_json::to_vec(
        &serde_json::json!({ "node": state.config.client_id, "records": records, "head": head }),
    )
    .map_err(|e| e.to_string())?;
    let token = token::sign(
        &state.key,
        &state.config.client_id,
        &token::TokenRequest {
            audience: PORTAL_AUDIENCE,
            request_id: &uuid::Uuid::now_v7().to_string(),
            method: "POST",
            path: INGEST_PATH,
            scopes: &[],
            body: &body,
            consent_ref: None,
        },
        30,
    );
    let response = state
        .http
        .post(format!("{}{INGEST_PATH}", portal.trim_end_matches('/')))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        return Err(format!("portal answered {status}: {text}"));
    }
    state
        .log
        .mark_shipped(last)
        .await
        .map_err(|e| e.to_string())?;
    Ok(records.len())
}
