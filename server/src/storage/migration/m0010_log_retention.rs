//! Exchange-log retention by month: where a node's kept chain now starts (the last record dropped), and
//! indexes on the `time` columns the month cutoff compares against.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExchangeAnchor {
    Table,
    Id,
    Seq,
    Hash,
    RecordTime,
    Cutoff,
    DroppedAt,
}

#[derive(DeriveIden)]
enum ExchangeRecord {
    Table,
    Time,
}

#[derive(DeriveIden)]
enum PortalExchange {
    Table,
    Time,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ExchangeAnchor::Table)
                    .if_not_exists()
                    .col(integer(ExchangeAnchor::Id).primary_key())
                    .col(big_integer(ExchangeAnchor::Seq))
                    .col(string(ExchangeAnchor::Hash))
                    .col(string(ExchangeAnchor::RecordTime))
                    .col(string(ExchangeAnchor::Cutoff))
                    .col(string(ExchangeAnchor::DroppedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("exchange_record_time")
                    .table(ExchangeRecord::Table)
                    .col(ExchangeRecord::Time)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_exchange_time")
                    .table(PortalExchange::Table)
                    .col(PortalExchange::Time)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExchangeAnchor::Table).to_owned())
            .await
    }
}
