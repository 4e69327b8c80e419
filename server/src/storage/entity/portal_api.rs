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
    /// The provider organisation; `None` for an API put in by the operator or an older seed.
    pub organisation_id: Option<i64>,
    /// Terms of use shown on the detail page.
    pub terms: String,
    /// `published` or `unpublished`; only published APIs are in the catalogue.
    pub status: String,
    /// The current version's label (its OpenAPI `info.version` unless given).
    pub version: String,
    /// JST, RFC 3339.
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
