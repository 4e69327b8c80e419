//! Keeps a node's bundle fresh: fetches it from the portal every poll interval and picks up a bundle
//! file written by `renkei bundle install`.

use super::NodeState;
use crate::{bundle::store::Source, portal::bundle::bundle_path, token};
use std::{sync::Arc, time::Duration};

pub fn spawn(state: Arc<NodeState>) {
    tokio::spawn(async move {
        let interval = Duration::from_millis(state.config.bundle_poll_ms.max(50));
        let mut failures = 0u32;
        let mut refused_file: Option<String> = None;
        loop {
            pick_up_file(&state, &mut refused_file).await;
            match fetch_once(&state).await {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "bundle not fetched from the portal; serving on the last good one");
                    }
                }
            }
            tokio::time::sleep(interval).await;
        }
    });
}

/// Installs the bundle file if someone (the CLI) replaced it; a refused file is tried once.
async fn pick_up_file(state: &NodeState, refused: &mut Option<String>) {
    let Some(store) = state.bundle.as_ref() else {
        return;
    };
    let Ok(text) = tokio::fs::read_to_string(store.file()).await else {
        return;
    };
    let text = text.trim().to_owned();
    if store.current().is_some_and(|c| c.jws == text) || refused.as_ref() == Some(&text) {
        return;
    }
    if state.install_bundle(&text, Source::File).await.is_err() {
        *refused = Some(text);
    }
}

/// Fetches this node's bundle from the portal and installs it; returns the installed version.
pub async fn fetch_once(state: &NodeState) -> Result<u64, String> {
    let (Some(portal), Some(_)) = (state.config.portal_url.as_deref(), state.bundle.as_ref())
    else {
        return Err("no portal_url / portal_public_key configured".into());
    };
    let path = bundle_path(&state.config.client_id);
    let token = token::sign(
        &state.key,
        &state.config.client_id,
        &token::TokenRequest {
            audience: crate::node::shipper::PORTAL_AUDIENCE,
            request_id: &uuid::Uuid::now_v7().to_string(),
            method: "GET",
            path: &path,
            scopes: &[],
            body: b"",
            consent_ref: None,
        },
        30,
    );
    let response = state
        .http
        .get(format!("{}{path}", portal.trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "portal answered {status}: {}",
            crate::api_error::clip(&text)
        ));
    }
    state
        .install_bundle(&text, Source::Poll)
        .await
        .map(|i| i.bundle.version)
        .map_err(|e| format!("{}: {e}", e.code()))
}
