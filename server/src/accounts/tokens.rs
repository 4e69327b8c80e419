//! Single-use link tokens (password reset, email change, invitation): random, stored only as SHA-256, expiring.

use super::{AccountError, TokenProblem};
use crate::storage::entity::one_time_token;
use base64::Engine;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    EmailChange,
    Invite,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::EmailChange => "email_change",
            Purpose::Invite => "invite",
        }
    }
}

fn digest(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Makes a new token and voids the account's earlier unused ones of the same purpose, so only
/// the newest link works. Returns the raw token (it goes into the mail, never into the database).
pub async fn issue(
    db: &impl ConnectionTrait,
    purpose: Purpose,
    account_id: i64,
    new_email: Option<String>,
    ttl_secs: i64,
    now: i64,
) -> Result<String, DbErr> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    one_time_token::Entity::update_many()
        .col_expr(
            one_time_token::Column::UsedAt,
            Expr::value(format!("superseded {}", crate::jst::now_rfc3339())),
        )
        .filter(one_time_token::Column::AccountId.eq(account_id))
        .filter(one_time_token::Column::Purpose.eq(purpose.as_str()))
        .filter(one_time_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    one_time_token::Entity::insert(one_time_token::ActiveModel {
        id: Default::default(),
        token_hash: Set(digest(&raw)),
        purpose: Set(purpose.as_str().to_owned()),
        account_id: Set(account_id),
        new_email: Set(new_email),
        expires_at: Set(now + ttl_secs),
        used_at: Set(None),
        created_at: Set(crate::jst::now_rfc3339()),
    })
    .exec(db)
    .await?;
    Ok(raw)
}

/// Marks the token used and returns it, or refuses an unknown, misdirected, expired or already
/// used one. Call inside the transaction that makes the change the link allows; the caller logs a
/// refusal outside it (a rolled-back transaction would take the log entry with it).
pub async fn redeem(
    db: &impl ConnectionTrait,
    raw: &str,
    purpose: Purpose,
    now: i64,
) -> Result<one_time_token::Model, AccountError> {
    let refuse = |p: TokenProblem| Err(AccountError::Token(p));
    let found = one_time_token::Entity::find()
        .filter(one_time_token::Column::TokenHash.eq(digest(raw.trim())))
        .one(db)
        .await?;
    let Some(token) = found.filter(|t| t.purpose == purpose.as_str()) else {
        return refuse(TokenProblem::Invalid);
    };
    if token.used_at.is_some() {
        return refuse(TokenProblem::Used);
    }
    if token.expires_at <= now {
        return refuse(TokenProblem::Expired);
    }
    // Conditional on `used_at IS NULL`, so of two concurrent redemptions only one wins.
    let updated = one_time_token::Entity::update_many()
        .col_expr(
            one_time_token::Column::UsedAt,
            Expr::value(crate::jst::now_rfc3339()),
        )
        .filter(one_time_token::Column::Id.eq(token.id))
        .filter(one_time_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return refuse(TokenProblem::Used);
    }
    Ok(token)
}
