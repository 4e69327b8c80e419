//! One transition of an API-use application, readable by both parties.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_api_application_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub application_id: i64,
    /// JST, RFC 3339.
    pub time: String,
    /// The acting account's email.
    pub actor: String,
    pub actor_org_id: Option<i64>,
    /// `submitted`, `approved`, `rejected`, `withdrawn` or `revoked`.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub comment: String,
    /// JSON object: the terms the transition set (scopes, rate limit).
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
