//! A node's exchange log: one record per exchange step, hash-chained in `seq` order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "exchange_record")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub request_id: String,
    /// JST, RFC 3339 with `+09:00`.
    pub time: String,
    /// `requester` or `provider`.
    pub role: String,
    pub requester: String,
    pub provider: String,
    pub api: String,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub latency_ms: f64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub scopes: String,
    pub corporate_number: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub shipped: bool,
    /// The provider's signed receipt (JWS over request id, body hash, time), kept by the requester.
    #[serde(default)]
    pub receipt: Option<String>,
    /// The caller's address as the provider saw it (the socket, or a trusted proxy's X-Forwarded-For).
    #[serde(default)]
    pub client_addr: Option<String>,
    /// What allowed the exchange when the API needs consent: `prior:<id>` (事前同意) or `tsudo:<jti>`
    /// (都度同意, the ID token's unique id).
    #[serde(default)]
    pub consent_ref: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
