//! Demo accounts: an operator and two approved organisations (provider, requester) with their admins, passwords generated once and kept in the data directory.

use super::{Accounts, OrgStatus, Role, audit};
use crate::storage::entity::{account, organisation};
use anyhow::Context;
use renkei_standard::CorporateNumber;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One seeded login, as `renkei demo` prints it and `demo.json` carries it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoLogin {
    pub role: String,
    pub organisation: Option<String>,
    pub email: String,
    pub password: String,
}

/// The organisations the demo seeds: name and the 12 digits after the check digit.
const ORGANISATIONS: [(&str, &str, &str); 2] = [
    (
        "provider",
        "国税庁データ提供者 (demo provider)",
        "000012050002",
    ),
    (
        "requester",
        "補助金申請システム運営者 (demo requester)",
        "000012345678",
    ),
];

/// The full 13-digit corporate number: the check digit that `CorporateNumber` accepts, first.
fn with_check_digit(base: &str) -> anyhow::Result<String> {
    (0..=9)
        .map(|d| format!("{d}{base}"))
        .find(|n| CorporateNumber::parse(n).is_ok())
        .context("no check digit fits")
}

/// Creates what is missing and returns every login. The passwords live in `file` (0600, never
/// committed); deleting the portal database alone re-creates the same logins.
pub async fn seed_demo(
    accounts: &Accounts,
    file: &Path,
    write_private: impl Fn(&Path, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<DemoLogin>> {
    let logins: Vec<DemoLogin> = if file.exists() {
        serde_json::from_str(&std::fs::read_to_string(file)?)
            .with_context(|| format!("{} is not valid logins JSON", file.display()))?
    } else {
        let mut logins = vec![DemoLogin {
            role: Role::Operator.as_str().into(),
            organisation: None,
            email: "operator@renkei.example".into(),
            password: crate::password::generate(),
        }];
        for (key, name, _) in ORGANISATIONS {
            logins.push(DemoLogin {
                role: Role::OrgAdmin.as_str().into(),
                organisation: Some(name.into()),
                email: format!("{key}-admin@renkei.example"),
                password: crate::password::generate(),
            });
        }
        write_private(file, serde_json::to_string_pretty(&logins)?.as_bytes())?;
        logins
    };
    let db = &accounts.db;
    for login in &logins {
        if account::Entity::find()
            .filter(account::Column::Email.eq(&login.email))
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        let organisation_id = match &login.organisation {
            None => None,
            Some(name) => {
                let base = ORGANISATIONS
                    .iter()
                    .find(|(_, n, _)| n == name)
                    .map(|(_, _, base)| *base)
                    .context("unknown demo organisation")?;
                let number = with_check_digit(base)?;
                let existing = organisation::Entity::find()
                    .filter(organisation::Column::CorporateNumber.eq(&number))
                    .one(db)
                    .await?;
                let org = match existing {
                    Some(org) => org,
                    None => {
                        organisation::ActiveModel {
                            id: Default::default(),
                            name: Set(name.clone()),
                            corporate_number: Set(number),
                            contact_name: Set("デモ担当者 / demo contact".into()),
                            status: Set(OrgStatus::Approved.as_str().into()),
                            review_comment: Set(Some("demo seed".into())),
                            created_at: Set(crate::jst::now_rfc3339()),
                            reviewed_at: Set(Some(crate::jst::now_rfc3339())),
                        }
                        .insert(db)
                        .await?
                    }
                };
                Some(org.id)
            }
        };
        let password = login.password.clone();
        let hash = tokio::task::spawn_blocking(move || crate::password::hash(&password)).await?;
        let created = account::ActiveModel {
            id: Default::default(),
            organisation_id: Set(organisation_id),
            email: Set(login.email.clone()),
            display_name: Set(format!("デモ {} / demo {}", login.role, login.role)),
            password_hash: Set(hash),
            role: Set(login.role.clone()),
            created_at: Set(crate::jst::now_rfc3339()),
        }
        .insert(db)
        .await?;
        audit::record(
            db,
            "system",
            "demo.seed",
            &format!("account:{}", created.id),
            &login.email,
        )
        .await?;
    }
    Ok(logins)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_corporate_numbers_are_valid() {
        for (_, _, base) in super::ORGANISATIONS {
            let number = super::with_check_digit(base).unwrap();
            assert_eq!(number.len(), 13);
        }
        // The National Tax Agency's own number.
        assert_eq!(
            super::with_check_digit("000012050002").unwrap(),
            "7000012050002"
        );
    }
}
