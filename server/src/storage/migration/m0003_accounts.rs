//! Migration `m0003_accounts`: portal organisations, accounts, sessions, one-time tokens, login throttle, audit log, mail outbox, notices.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
    Name,
    CorporateNumber,
    ContactName,
    Status,
    ReviewComment,
    CreatedAt,
    ReviewedAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    OrganisationId,
    Email,
    DisplayName,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PortalSession {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum OneTimeToken {
    Table,
    Id,
    TokenHash,
    Purpose,
    AccountId,
    NewEmail,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginFailure {
    Table,
    Id,
    Key,
    At,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    Time,
    Actor,
    Action,
    Target,
    Detail,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    CreatedAt,
    ToAddr,
    Subject,
    Body,
}

#[derive(DeriveIden)]
enum Notice {
    Table,
    Id,
    Title,
    Body,
    PublishedAt,
    Author,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Organisation::Id))
                    .col(string(Organisation::Name))
                    .col(string_uniq(Organisation::CorporateNumber))
                    .col(string(Organisation::ContactName))
                    .col(string(Organisation::Status))
                    .col(text_null(Organisation::ReviewComment))
                    .col(string(Organisation::CreatedAt))
                    .col(string_null(Organisation::ReviewedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Account::Id))
                    .col(big_integer_null(Account::OrganisationId))
                    .col(string_uniq(Account::Email))
                    .col(string(Account::DisplayName))
                    // Empty until an invited member sets a password through their link.
                    .col(string(Account::PasswordHash))
                    .col(string(Account::Role))
                    .col(string(Account::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalSession::Table)
                    .if_not_exists()
                    .col(string(PortalSession::Id).primary_key())
                    .col(text(PortalSession::Data))
                    .col(big_integer(PortalSession::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OneTimeToken::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OneTimeToken::Id))
                    .col(string_uniq(OneTimeToken::TokenHash))
                    .col(string(OneTimeToken::Purpose))
                    .col(big_integer(OneTimeToken::AccountId))
                    .col(string_null(OneTimeToken::NewEmail))
                    .col(big_integer(OneTimeToken::ExpiresAt))
                    .col(string_null(OneTimeToken::UsedAt))
                    .col(string(OneTimeToken::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailure::Table)
                    .if_not_exists()
                    .col(big_pk_auto(LoginFailure::Id))
                    .col(string(LoginFailure::Key))
                    .col(big_integer(LoginFailure::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("login_failure_key_at")
                    .table(LoginFailure::Table)
                    .col(LoginFailure::Key)
                    .col(LoginFailure::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(string(AuditLog::Time))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Target))
                    .col(text(AuditLog::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(MailOutbox::Id))
                    .col(string(MailOutbox::CreatedAt))
                    .col(string(MailOutbox::ToAddr))
                    .col(string(MailOutbox::Subject))
                    .col(text(MailOutbox::Body))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notice::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Notice::Id))
                    .col(string(Notice::Title))
                    .col(text(Notice::Body))
                    .col(string(Notice::PublishedAt))
                    .col(string(Notice::Author))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
