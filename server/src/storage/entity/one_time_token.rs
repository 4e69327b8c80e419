//! A single-use link token (password reset, email change, invitation); only its SHA-256 is stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// `reset`, `email_change` or `invite`.
    pub purpose: String,
    pub account_id: i64,
    /// The address being verified (email change only).
    pub new_email: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    pub used_at: Option<String>,
    pub created_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
