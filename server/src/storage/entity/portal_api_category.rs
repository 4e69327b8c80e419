//! One data category of a catalogue API, for filtered search (a copy of `portal_api.categories`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_api_category")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub api_id: i64,
    pub category: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
