//! The catalogue's search row of an API: a narrow copy of what search filters and sorts on, so a text
//! search scans a few hundred bytes per API instead of whole catalogue rows with their documents.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_api_search")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub api_id: i64,
    /// `portal_api.status`.
    pub status: String,
    /// `portal_api.name`, the sort key.
    pub name: String,
    /// Lower-cased name, slug, summary, description, provider and categories.
    pub search_text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
