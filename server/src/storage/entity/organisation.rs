//! An organisation that applied for the portal; `status` is pending, approved or rejected.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// 13 digits with a valid check digit (checked before insert).
    #[sea_orm(unique)]
    pub corporate_number: String,
    pub contact_name: String,
    pub status: String,
    pub review_comment: Option<String>,
    /// JST, RFC 3339.
    pub created_at: String,
    pub reviewed_at: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
