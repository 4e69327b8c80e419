//! A dataset version: the records one load produced, published atomically.

use sea_orm::entity::prelude::*;

/// `loading` → `active` (the previous active version becomes `superseded`) or `failed`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dataset")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub status: String,
    pub plugin_digest: String,
    pub records: i64,
    pub rejects: i64,
    pub created_at: String,
    pub published_at: Option<String>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
