//! Exchange-log records the portal collected from nodes; `(node, seq)` is unique, so a re-sent batch is harmless.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_exchange")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub node: String,
    pub seq: i64,
    pub request_id: String,
    pub time: String,
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
    /// The rest of what the record's hash covers, so the portal can re-hash what it holds.
    pub receipt: Option<String>,
    pub client_addr: Option<String>,
    pub consent_ref: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
