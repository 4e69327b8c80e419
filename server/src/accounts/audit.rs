//! The audit log: every operator and admin action, and every refused credential, with who, what, target and JST time.

use crate::storage::entity::audit_log;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};

/// Who acts when no one is logged in.
pub const ANONYMOUS: &str = "anonymous";

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        id: Default::default(),
        time: Set(crate::jst::now_rfc3339()),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        target: Set(target.to_owned()),
        detail: Set(detail.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Security events must never be lost silently, but must not turn a refusal into a 500 either.
pub async fn security(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) {
    tracing::warn!(actor, action, target, detail, "refused");
    if let Err(e) = record(db, actor, action, target, detail).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}
