//! An API published in the portal's catalogue.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_api")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub provider: String,
    pub provider_client_id: String,
    /// JSON array of strings.
    pub categories: String,
    /// JSON array of strings.
    pub scopes: String,
    pub consent_required: bool,
    pub path_template: String,
    pub openapi: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
