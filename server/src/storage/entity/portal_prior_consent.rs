//! A corporation's standing consent (事前同意) for a requester, for scopes of an API, until a date.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_prior_consent")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub corporate_number: String,
    /// Client id of the requester node.
    pub requester: String,
    /// Slug of the API.
    pub api: String,
    /// JSON array of scopes.
    pub scopes: String,
    pub purpose: String,
    /// `YYYY-MM-DD`, inclusive.
    pub until: String,
    /// Set when revoked; a revoked consent leaves the bundles.
    pub revoked_at: Option<String>,
    /// `individual` (chosen scopes) or `comprehensive` (every scope of the API).
    pub kind: String,
    /// Email of the representative who granted it (none for consents recorded by the demo or tests).
    pub granted_by: Option<String>,
    /// JST, RFC 3339.
    pub granted_at: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
