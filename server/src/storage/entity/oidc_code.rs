//! An authorization code of the portal's OIDC provider: stored as a hash, single-use, short-lived.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_code")]
pub struct Model {
    /// base64url(SHA-256(code)); the code itself is never stored.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub account_id: i64,
    /// The consented scopes (space-separated, without `openid` and the API).
    pub scope: String,
    /// Slug of the API consented to.
    pub api: String,
    pub nonce: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds of the first redemption; a second one is refused.
    pub used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
