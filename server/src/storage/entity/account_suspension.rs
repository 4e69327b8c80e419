//! A suspended account (by an operator) or a deactivated member (by their organisation's admin):
//! while the row exists the account cannot log in and its sessions end at their next request.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_suspension")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: i64,
    /// JST, RFC 3339.
    pub suspended_at: String,
    /// The email of who suspended it.
    pub suspended_by: String,
    /// `operator` or `org_admin`: an admin cannot lift an operator's suspension.
    pub by_role: String,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
