//! The newest chain head each node signed and the portal checked against the records it holds.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_chain_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub node: String,
    pub seq: i64,
    pub hash: String,
    /// When the node signed it (JST, RFC 3339).
    pub signed_at: String,
    /// The node's compact JWS over the head: evidence a third party can check with the node's key.
    pub jws: String,
    /// When the portal checked and stored it (JST, RFC 3339).
    pub received_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
