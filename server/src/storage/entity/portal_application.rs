//! An API-use application in the portal: a requester node asks to call an API; approved or revoked.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_application")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Client id of the requester node.
    pub requester: String,
    /// Slug of the API in the catalogue.
    pub api: String,
    /// JSON array of the granted scopes.
    pub scopes: String,
    pub rate_limit_per_minute: i32,
    /// `approved` or `revoked`; only approved ones reach the bundles.
    pub status: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
