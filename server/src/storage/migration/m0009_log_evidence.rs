//! Exchange-log evidence: the consent reference in every record, the fields the portal needs to re-hash
//! the records it holds, and each node's signed chain heads as the portal received them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExchangeRecord {
    Table,
    ConsentRef,
}

#[derive(DeriveIden)]
enum PortalExchange {
    Table,
    Receipt,
    ClientAddr,
    ConsentRef,
}

#[derive(DeriveIden)]
enum PortalChainHead {
    Table,
    Node,
    Seq,
    Hash,
    SignedAt,
    Jws,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(ExchangeRecord::Table)
                    .add_column(text_null(ExchangeRecord::ConsentRef))
                    .to_owned(),
            )
            .await?;
        for column in [
            PortalExchange::Receipt,
            PortalExchange::ClientAddr,
            PortalExchange::ConsentRef,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PortalExchange::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PortalChainHead::Table)
                    .if_not_exists()
                    .col(string(PortalChainHead::Node).primary_key())
                    .col(big_integer(PortalChainHead::Seq))
                    .col(string(PortalChainHead::Hash))
                    .col(string(PortalChainHead::SignedAt))
                    .col(text(PortalChainHead::Jws))
                    .col(string(PortalChainHead::ReceivedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PortalChainHead::Table).to_owned())
            .await
    }
}
