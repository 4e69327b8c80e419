//! Trust: approved applications and prior consents in the portal, bundle events and receipts at nodes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PortalApplication {
    Table,
    Id,
    Requester,
    Api,
    Scopes,
    RateLimitPerMinute,
    Status,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortalPriorConsent {
    Table,
    Id,
    CorporateNumber,
    Requester,
    Api,
    Scopes,
    Purpose,
    Until,
    RevokedAt,
}

#[derive(DeriveIden)]
enum NodeBundleEvent {
    Table,
    Id,
    Time,
    Source,
    Version,
    Outcome,
    Code,
    Message,
}

#[derive(DeriveIden)]
enum ExchangeRecord {
    Table,
    Receipt,
    ClientAddr,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PortalApplication::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalApplication::Id))
                    .col(string(PortalApplication::Requester))
                    .col(string(PortalApplication::Api))
                    .col(text(PortalApplication::Scopes))
                    .col(integer(PortalApplication::RateLimitPerMinute))
                    .col(string(PortalApplication::Status))
                    .col(string(PortalApplication::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_application_requester_api")
                    .table(PortalApplication::Table)
                    .col(PortalApplication::Requester)
                    .col(PortalApplication::Api)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalPriorConsent::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalPriorConsent::Id))
                    .col(string(PortalPriorConsent::CorporateNumber))
                    .col(string(PortalPriorConsent::Requester))
                    .col(string(PortalPriorConsent::Api))
                    .col(text(PortalPriorConsent::Scopes))
                    .col(text(PortalPriorConsent::Purpose))
                    .col(string(PortalPriorConsent::Until))
                    .col(string_null(PortalPriorConsent::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NodeBundleEvent::Table)
                    .if_not_exists()
                    .col(big_pk_auto(NodeBundleEvent::Id))
                    .col(string(NodeBundleEvent::Time))
                    .col(string(NodeBundleEvent::Source))
                    .col(big_integer_null(NodeBundleEvent::Version))
                    .col(string(NodeBundleEvent::Outcome))
                    .col(string_null(NodeBundleEvent::Code))
                    .col(text(NodeBundleEvent::Message))
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [ExchangeRecord::Receipt, ExchangeRecord::ClientAddr] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ExchangeRecord::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
