//! What every request to a node passes before routing: its path made canonical, its client address fixed.

use super::{NodeState, exchange_log::NewExchange, path};
use crate::api_error::{ApiError, clip};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// The caller's address: the socket's peer, or, behind a configured trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

pub fn client_addr(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

/// Middleware in front of the router: refuses paths that cannot be made canonical (logged as an
/// exchange), rewrites the others to their canonical form, and records the client address.
pub async fn canonical_request(
    State(state): State<Arc<NodeState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_addr(peer, request.headers(), &state.config.trusted_proxies);
    request.extensions_mut().insert(ClientAddr(client));

    let raw = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    match path::normalise_path_and_query(&raw) {
        Ok(canonical) if canonical == raw => next.run(request).await,
        Ok(canonical) => {
            let mut parts = request.uri().clone().into_parts();
            match canonical.parse() {
                Ok(pq) => parts.path_and_query = Some(pq),
                Err(_) => return refuse(&state, &raw, path::PathError::BadEscape, client).await,
            }
            match Uri::from_parts(parts) {
                Ok(uri) => *request.uri_mut() = uri,
                Err(_) => return refuse(&state, &raw, path::PathError::BadEscape, client).await,
            }
            next.run(request).await
        }
        Err(e) => refuse(&state, &raw, e, client).await,
    }
}

async fn refuse(
    state: &NodeState,
    raw: &str,
    e: path::PathError,
    client: Option<IpAddr>,
) -> Response {
    tracing::warn!(code = e.code(), path = %clip(raw), "request path refused");
    let error = ApiError::bad_request(e.code(), format!("{e}: {}", clip(raw)));
    if state.config.provider.is_some() {
        let entry = NewExchange {
            request_id: uuid::Uuid::now_v7().to_string(),
            role: "provider",
            provider: state.config.client_id.clone(),
            method: String::new(),
            path: raw.to_owned(),
            status: error.status.as_u16(),
            error_code: Some(e.code().to_owned()),
            client_addr: client.map(|c| c.to_string()),
            ..Default::default()
        };
        if let Err(e) = state.log.append(entry).await {
            return ApiError::internal(format!("exchange log: {e}")).into_response();
        }
    }
    error.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "10.9.9.9, 192.0.2.7".parse().unwrap());
        let proxy: IpAddr = "127.0.0.2".parse().unwrap();
        let direct: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(client_addr(Some(direct), &headers, &[proxy]), Some(direct));
        assert_eq!(client_addr(Some(direct), &headers, &[]), Some(direct));
        assert_eq!(
            client_addr(Some(proxy), &headers, &[proxy]),
            Some("192.0.2.7".parse().unwrap()),
            "the rightmost untrusted hop, not the spoofable leftmost"
        );
        assert_eq!(
            client_addr(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }
}
