//! One published version of an API's OpenAPI document; the newest is also in `portal_api.openapi`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_api_version")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub api_id: i64,
    pub version: String,
    /// The document as JSON text (YAML uploads are stored converted).
    pub openapi: String,
    /// JST, RFC 3339.
    pub created_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
