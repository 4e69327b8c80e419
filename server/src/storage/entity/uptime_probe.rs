//! One probe of a node's `/healthz` by the portal.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "uptime_probe")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub client_id: String,
    /// JST, RFC 3339.
    pub time: String,
    /// `up`, `degraded` or `down`.
    pub health: String,
    pub response_ms: f64,
    /// Why it was not up (status, timeout, connection refused…); empty when up.
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
