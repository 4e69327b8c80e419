//! A client of the portal's OIDC provider (a requester node) and the redirect URIs registered for it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_client")]
pub struct Model {
    /// The node's client id; it authenticates with its registered node key (`private_key_jwt`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// JSON array of absolute URIs; an authorization request must name one exactly.
    pub redirect_uris: String,
    pub created_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
