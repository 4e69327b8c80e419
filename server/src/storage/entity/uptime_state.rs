//! A node's confirmed state (after the probes needed to confirm a change) and its streaks.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uptime_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// `up`, `degraded` or `down`.
    pub health: String,
    /// When the confirmed state began (JST).
    pub since: String,
    /// Failed probes in a row while not confirmed down.
    pub bad_streak: i32,
    /// Successful probes in a row while confirmed down.
    pub good_streak: i32,
    pub last_check: String,
    /// When the last "down" mail went out: a node that flaps is not mailed again within the cooldown.
    pub last_down_mail_at: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
