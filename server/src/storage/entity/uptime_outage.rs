//! A confirmed outage of a node: from the probe that confirmed it down to the one that confirmed it up.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uptime_outage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub client_id: String,
    /// JST, RFC 3339.
    pub started_at: String,
    /// `None` while it lasts.
    pub ended_at: Option<String>,
    /// The failure that confirmed it.
    pub detail: String,
    /// Whether the provider and the affected requesters were mailed (not during a flapping cooldown).
    pub mailed: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
