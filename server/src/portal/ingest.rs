//! Receives nodes' exchange-log batches: signed by the node, chain-checked, stored once per `(node, seq)`.

use super::PortalState;
use crate::{
    api_error::ApiError,
    node::exchange_log::{GENESIS, head, verify_chain},
    storage::entity::{exchange_record, portal_chain_head, portal_exchange, portal_node},
};
use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict,
};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub node: String,
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<exchange_record::Model>,
    /// The batch's last record signed by the node as its chain head (compact JWS, see
    /// `node::exchange_log::head`). The portal keeps the newest head of each node.
    #[serde(default)]
    pub head: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/exchange-records",
    tag = "nodes",
    request_body = Batch,
    security(("node_jws" = [])),
    responses(
        (status = 200, description = "Stored (each (node, seq) once)", body = Object),
    ),
)]
pub async fn receive_exchange_records(
    State(state): State<Arc<PortalState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let bearer = crate::token::bearer(&headers);
    let claims = state
        .node_verifier
        .read()
        .await
        .verify(bearer, "POST", crate::node::shipper::INGEST_PATH, &body)
        .map_err(|e| {
            tracing::warn!(code = e.code(), "log batch refused");
            ApiError::new(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED),
                e.code(),
                e.to_string(),
            )
        })?;
    let batch: Batch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_body", format!("log batch: {e}")))?;
    if batch.node != claims.iss {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "node_mismatch",
            format!(
                "node {} may not send records of node {}",
                claims.iss, batch.node
            ),
        ));
    }
    let Some(first) = batch.records.first() else {
        return Ok(Json(serde_json::json!({ "stored": 0 })));
    };

    // The batch must continue the chain the portal holds for this node (or repeat part of it).
    let previous = portal_exchange::Entity::find()
        .filter(portal_exchange::Column::Node.eq(&batch.node))
        .filter(portal_exchange::Column::Seq.lt(first.seq))
        .order_by_desc(portal_exchange::Column::Seq)
        .one(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let prev_hash = match previous {
        Some(p) if p.seq == first.seq - 1 => p.hash,
        None if first.seq == 1 => GENESIS.to_owned(),
        _ => first.prev_hash.clone(),
    };
    verify_chain(&prev_hash, &batch.records).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "chain_broken",
            e.to_string(),
        )
    })?;

    let rows = batch.records.iter().map(|r| portal_exchange::ActiveModel {
        node: Set(batch.node.clone()),
        seq: Set(r.seq),
        request_id: Set(r.request_id.clone()),
        time: Set(r.time.clone()),
        role: Set(r.role.clone()),
        requester: Set(r.requester.clone()),
        provider: Set(r.provider.clone()),
        api: Set(r.api.clone()),
        method: Set(r.method.clone()),
        path: Set(r.path.clone()),
        status: Set(r.status),
        latency_ms: Set(r.latency_ms),
        bytes_in: Set(r.bytes_in),
        bytes_out: Set(r.bytes_out),
        scopes: Set(r.scopes.clone()),
        corporate_number: Set(r.corporate_number.clone()),
        outcome: Set(r.outcome.clone()),
        error_code: Set(r.error_code.clone()),
        prev_hash: Set(r.prev_hash.clone()),
        hash: Set(r.hash.clone()),
        receipt: Set(r.receipt.clone()),
        client_addr: Set(r.client_addr.clone()),
        consent_ref: Set(r.consent_ref.clone()),
        ..Default::default()
    });
    portal_exchange::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([portal_exchange::Column::Node, portal_exchange::Column::Seq])
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let mut answer = serde_json::json!({ "stored": batch.records.len() });
    if let Some(jws) = batch.head.as_deref() {
        answer["head"] = store_head(&state, &batch, jws).await?;
    }
    Ok(Json(answer))
}

/// Checks the batch's signed head (the node's key, the batch's last record) and keeps it if newer.
async fn store_head(
    state: &PortalState,
    batch: &Batch,
    jws: &str,
) -> Result<serde_json::Value, ApiError> {
    let refuse = |message: String| {
        tracing::warn!(node = %batch.node, %message, "chain head refused");
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "chain_head_invalid",
            message,
        )
    };
    let node = portal_node::Entity::find_by_id(&batch.node)
        .one(&state.db)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| refuse(format!("node {} is not registered", batch.node)))?;
    let head = head::verify(jws, &node.public_key).map_err(refuse)?;
    let last = batch.records.last();
    if head.node != batch.node
        || last.map(|r| (r.seq, r.hash.as_str())) != Some((head.seq, head.hash.as_str()))
    {
        return Err(refuse(format!(
            "the head (node {}, seq {}) is not the batch's last record",
            head.node, head.seq
        )));
    }
    let newer = portal_chain_head::Entity::find_by_id(&batch.node)
        .one(&state.db)
        .await
        .map_err(ApiError::internal)?
        .is_none_or(|held| held.seq < head.seq);
    if newer {
        let row = portal_chain_head::ActiveModel {
            node: Set(head.node.clone()),
            seq: Set(head.seq),
            hash: Set(head.hash.clone()),
            signed_at: Set(head.signed_at.clone()),
            jws: Set(jws.to_owned()),
            received_at: Set(crate::jst::now_rfc3339()),
        };
        portal_chain_head::Entity::insert(row)
            .on_conflict(
                OnConflict::column(portal_chain_head::Column::Node)
                    .update_columns([
                        portal_chain_head::Column::Seq,
                        portal_chain_head::Column::Hash,
                        portal_chain_head::Column::SignedAt,
                        portal_chain_head::Column::Jws,
                        portal_chain_head::Column::ReceivedAt,
                    ])
                    .to_owned(),
            )
            .exec(&state.db)
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(serde_json::json!({ "seq": head.seq, "hash": head.hash }))
}
