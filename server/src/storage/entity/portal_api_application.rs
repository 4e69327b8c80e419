//! An API-use application: a requester organisation's system asks to call an API; the provider decides.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_api_application")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub api_id: i64,
    pub api_slug: String,
    pub requester_org_id: i64,
    /// The requester's system (node client id) that will call the API.
    pub requester_client_id: String,
    pub provider_org_id: i64,
    /// JSON array of strings.
    pub requested_scopes: String,
    /// JSON array of strings, set on approval.
    pub granted_scopes: Option<String>,
    pub purpose: String,
    pub requested_rate_limit: i32,
    pub granted_rate_limit: Option<i32>,
    /// The requester's comment, as typed (newlines kept, never interpreted as HTML).
    pub comment: String,
    /// `pending`, `approved`, `rejected`, `withdrawn` or `revoked`.
    pub status: String,
    /// JST, RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
