//! Consent: the portal's OIDC clients (registered redirect URIs) and authorization codes, and who
//! granted a prior consent, of which kind and when.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OidcClient {
    Table,
    ClientId,
    RedirectUris,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OidcCode {
    Table,
    CodeHash,
    ClientId,
    RedirectUri,
    AccountId,
    Scope,
    Api,
    Nonce,
    CodeChallenge,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum PortalPriorConsent {
    Table,
    Kind,
    GrantedBy,
    GrantedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OidcClient::Table)
                    .if_not_exists()
                    .col(string(OidcClient::ClientId).primary_key())
                    .col(text(OidcClient::RedirectUris))
                    .col(string(OidcClient::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OidcCode::Table)
                    .if_not_exists()
                    .col(string(OidcCode::CodeHash).primary_key())
                    .col(string(OidcCode::ClientId))
                    .col(text(OidcCode::RedirectUri))
                    .col(big_integer(OidcCode::AccountId))
                    .col(text(OidcCode::Scope))
                    .col(string(OidcCode::Api))
                    .col(text(OidcCode::Nonce))
                    .col(string(OidcCode::CodeChallenge))
                    .col(big_integer(OidcCode::ExpiresAt))
                    .col(big_integer_null(OidcCode::UsedAt))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string(PortalPriorConsent::Kind)
                .default("individual")
                .to_owned(),
            string_null(PortalPriorConsent::GrantedBy),
            string_null(PortalPriorConsent::GrantedAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(PortalPriorConsent::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
