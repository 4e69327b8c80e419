//! `GET /api/v1/exchanges/heads`: each node's newest signed chain head, and whether the records the
//! portal holds for that node still hash up to it.
//!
//! The head arrived signed by the node (checked at receipt); re-hashing the held records now shows that
//! nobody changed, removed or re-ordered them in the portal's database since. An operator sees every
//! node; an organisation's people see their own systems' nodes.

use super::{
    PortalState,
    exchanges::READ_ROLES,
    workflow::{WorkflowError, org_caller},
};
use crate::{
    accounts::Role,
    node::exchange_log::verify_chain,
    storage::entity::{exchange_record, portal_chain_head, portal_exchange, portal_system},
};
use axum::{
    Json,
    extract::{Query, State},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::sync::Arc;
use tower_sessions::Session;

/// Records re-hashed per page while checking a node's held chain.
const PAGE: u64 = 5_000;
/// How far back a page view re-hashes by default: the newest records of each node, so the log page
/// costs the same with a year of records held. `?full=true` checks everything held.
pub const RECENT: i64 = 10_000;

#[derive(serde::Deserialize)]
pub struct HeadsQuery {
    #[serde(default)]
    full: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HeadView {
    pub node: String,
    pub seq: i64,
    pub hash: String,
    /// When the node signed it (JST).
    pub signed_at: String,
    /// When the portal checked and stored it (JST).
    pub received_at: String,
    /// The node's compact JWS: give it to `renkei log verify --expect-head SEQ:HASH` on the node's side.
    pub jws: String,
    /// Whether the held records hash, link by link, up to this head.
    pub verified: bool,
    /// How many held records were re-hashed (the newest 10,000 at most, unless `full=true`).
    pub records_checked: u64,
    /// Where and why the held chain breaks, when it does.
    pub problem: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/exchanges/heads",
    tag = "exchange-log",
    params(("full" = Option<bool>, Query, description = "`true`: re-hash every held record, not only the newest 10,000 of each node")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Each visible node's newest signed head, re-verified against the records the portal holds (`heads`)", body = Object),
        (status = 400, description = "`full` is not true or false", body = crate::api_error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::api_error::ErrorBody),
    ),
)]
pub async fn heads(
    State(state): State<Arc<PortalState>>,
    session: Session,
    Query(q): Query<HeadsQuery>,
) -> Result<Json<serde_json::Value>, WorkflowError> {
    let c = org_caller(&state, &session, READ_ROLES, "/api/v1/exchanges/heads").await?;
    let mut query = portal_chain_head::Entity::find().order_by_asc(portal_chain_head::Column::Node);
    if c.role != Role::Operator {
        let org = c.organisation.as_ref().map_or(-1, |o| o.id);
        let systems: Vec<String> = portal_system::Entity::find()
            .filter(portal_system::Column::OrganisationId.eq(org))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|s| s.client_id)
            .collect();
        query = query.filter(portal_chain_head::Column::Node.is_in(systems));
    }
    let mut out = Vec::new();
    for head in query.all(&state.db).await? {
        let from = if q.full { i64::MIN } else { head.seq - RECENT };
        out.push(check_from(&state, head, from).await?);
    }
    Ok(Json(serde_json::json!({ "heads": out })))
}

/// Re-hashes every held record of `head.node` up to `head.seq`, page by page.
pub async fn check(
    state: &PortalState,
    head: portal_chain_head::Model,
) -> Result<HeadView, sea_orm::DbErr> {
    check_from(state, head, i64::MIN).await
}

/// Re-hashes the held records of `head.node` after seq `after` up to `head.seq`.
pub async fn check_from(
    state: &PortalState,
    head: portal_chain_head::Model,
    after: i64,
) -> Result<HeadView, sea_orm::DbErr> {
    let start_after = after;
    let mut prev: Option<String> = None;
    let mut last: Option<(i64, String)> = None;
    let mut checked = 0u64;
    let mut problem = None;
    loop {
        let after = last.as_ref().map_or(start_after, |(seq, _)| *seq);
        let page = portal_exchange::Entity::find()
            .filter(portal_exchange::Column::Node.eq(&head.node))
            .filter(portal_exchange::Column::Seq.gt(after))
            .filter(portal_exchange::Column::Seq.lte(head.seq))
            .order_by_asc(portal_exchange::Column::Seq)
            .limit(PAGE)
            .all(&state.db)
            .await?;
        let Some(first) = page.first() else { break };
        // The first record checked starts the check: the ones before it are not re-hashed (only the
        // newest are, unless `full`) or were dropped by retention.
        let start = prev.clone().unwrap_or_else(|| first.prev_hash.clone());
        let records: Vec<exchange_record::Model> = page.into_iter().map(as_record).collect();
        if let Err(e) = verify_chain(&start, &records) {
            problem = Some(e.to_string());
            break;
        }
        checked += records.len() as u64;
        let tail = records.last().map(|r| (r.seq, r.hash.clone()));
        prev = tail.as_ref().map(|(_, h)| h.clone());
        last = tail;
    }
    if problem.is_none()
        && last.as_ref().map(|(s, h)| (*s, h.as_str())) != Some((head.seq, head.hash.as_str()))
    {
        problem = Some(match &last {
            None => format!(
                "the portal holds no record up to the head (seq {})",
                head.seq
            ),
            Some((seq, _)) if *seq != head.seq => format!(
                "the held records end at seq {seq}, before the signed head {}",
                head.seq
            ),
            Some(_) => format!("record {} does not have the signed head's hash", head.seq),
        });
    }
    Ok(HeadView {
        verified: problem.is_none(),
        records_checked: checked,
        problem,
        node: head.node,
        seq: head.seq,
        hash: head.hash,
        signed_at: head.signed_at,
        received_at: head.received_at,
        jws: head.jws,
    })
}

fn as_record(m: portal_exchange::Model) -> exchange_record::Model {
    exchange_record::Model {
        seq: m.seq,
        request_id: m.request_id,
        time: m.time,
        role: m.role,
        requester: m.requester,
        provider: m.provider,
        api: m.api,
        method: m.method,
        path: m.path,
        status: m.status,
        latency_ms: m.latency_ms,
        bytes_in: m.bytes_in,
        bytes_out: m.bytes_out,
        scopes: m.scopes,
        corporate_number: m.corporate_number,
        outcome: m.outcome,
        error_code: m.error_code,
        prev_hash: m.prev_hash,
        hash: m.hash,
        shipped: true,
        receipt: m.receipt,
        client_addr: m.client_addr,
        consent_ref: m.consent_ref,
    }
}
