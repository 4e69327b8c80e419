//! Account administration: a suspended (or, by its organisation's admin, deactivated) account has
//! one row here until it is reactivated. A row means: no login, and every session of the account
//! ends at its next request.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountSuspension {
    Table,
    AccountId,
    SuspendedAt,
    SuspendedBy,
    ByRole,
    Reason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountSuspension::Table)
                    .if_not_exists()
                    .col(big_integer(AccountSuspension::AccountId).primary_key())
                    .col(string(AccountSuspension::SuspendedAt))
                    .col(string(AccountSuspension::SuspendedBy))
                    .col(string(AccountSuspension::ByRole))
                    .col(text(AccountSuspension::Reason))
                    .to_owned(),
            )
            .await
    }
}
