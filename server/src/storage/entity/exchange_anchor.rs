//! Where a node's kept exchange log starts once retention dropped its oldest records: the last dropped
//! record's `seq` and `hash`, which the first kept record links to. One row (`id` 1), or none.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exchange_anchor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The last dropped record's seq: the first kept record has `seq + 1` and `prev_hash = hash`.
    pub seq: i64,
    pub hash: String,
    /// The last dropped record's time (JST, RFC 3339).
    pub record_time: String,
    /// Records before this instant (the first day of the oldest kept month, 00:00 JST) were dropped.
    pub cutoff: String,
    /// When the records were dropped (JST, RFC 3339).
    pub dropped_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
