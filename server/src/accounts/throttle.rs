//! Login throttling: too many failures for one account or from one address within a window refuse further tries.

use super::AccountError;
use crate::storage::entity::login_failure;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub window_secs: i64,
    /// Failures for one account (whatever the address) before it is held back.
    pub per_account: u64,
    /// Failures from one address (whatever the account): higher, as an office shares one address.
    pub per_address: u64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window_secs: 15 * 60,
            per_account: 5,
            per_address: 20,
        }
    }
}

pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

pub fn address_key(addr: &str) -> String {
    format!("addr:{addr}")
}

/// Refuses with the minutes until the oldest counted failure leaves the window.
pub async fn check(
    db: &impl ConnectionTrait,
    policy: &ThrottlePolicy,
    keys: [(&str, u64); 2],
    now: i64,
) -> Result<(), AccountError> {
    let since = now - policy.window_secs;
    for (key, limit) in keys {
        let recent = login_failure::Entity::find()
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::At.gt(since));
        if recent.clone().count(db).await? >= limit {
            let oldest = recent
                .order_by_asc(login_failure::Column::At)
                .one(db)
                .await?
                .map_or(now, |f| f.at);
            let wait = (oldest + policy.window_secs - now).max(1);
            return Err(AccountError::Throttled {
                minutes: (wait + 59) / 60,
            });
        }
    }
    Ok(())
}

pub async fn record_failure(
    db: &impl ConnectionTrait,
    keys: [&str; 2],
    now: i64,
) -> Result<(), DbErr> {
    for key in keys {
        login_failure::Entity::insert(login_failure::ActiveModel {
            id: Default::default(),
            key: Set(key.to_owned()),
            at: Set(now),
        })
        .exec(db)
        .await?;
    }
    // Old failures count for nothing; drop them as we go.
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::At.lt(now - 24 * 3600))
        .exec(db)
        .await?;
    Ok(())
}

/// A successful login forgives the account's failures (not the address's).
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
