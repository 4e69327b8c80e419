//! A node's record of each bundle it installed or refused, with the refusal's code.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "node_bundle_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// JST, RFC 3339.
    pub time: String,
    /// `poll`, `file`, `admin` or `cli`.
    pub source: String,
    pub version: Option<i64>,
    /// `installed` or `refused`.
    pub outcome: String,
    /// The refusal's code, e.g. `bundle_rollback`.
    pub code: Option<String>,
    pub message: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
