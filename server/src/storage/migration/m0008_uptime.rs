//! Uptime monitoring: the portal's probes of every registered node, each node's confirmed state, and
//! the outages (with whether they were mailed).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UptimeProbe {
    Table,
    Id,
    ClientId,
    Time,
    Health,
    ResponseMs,
    Detail,
}

#[derive(DeriveIden)]
enum UptimeState {
    Table,
    ClientId,
    Health,
    Since,
    BadStreak,
    GoodStreak,
    LastCheck,
    LastDownMailAt,
}

#[derive(DeriveIden)]
enum UptimeOutage {
    Table,
    Id,
    ClientId,
    StartedAt,
    EndedAt,
    Detail,
    Mailed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UptimeProbe::Table)
                    .if_not_exists()
                    .col(big_pk_auto(UptimeProbe::Id))
                    .col(string(UptimeProbe::ClientId))
                    .col(string(UptimeProbe::Time))
                    .col(string(UptimeProbe::Health))
                    .col(double(UptimeProbe::ResponseMs))
                    .col(text(UptimeProbe::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uptime_probe_client_time")
                    .table(UptimeProbe::Table)
                    .col(UptimeProbe::ClientId)
                    .col(UptimeProbe::Time)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UptimeState::Table)
                    .if_not_exists()
                    .col(string(UptimeState::ClientId).primary_key())
                    .col(string(UptimeState::Health))
                    .col(string(UptimeState::Since))
                    .col(integer(UptimeState::BadStreak))
                    .col(integer(UptimeState::GoodStreak))
                    .col(string(UptimeState::LastCheck))
                    .col(string_null(UptimeState::LastDownMailAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UptimeOutage::Table)
                    .if_not_exists()
                    .col(big_pk_auto(UptimeOutage::Id))
                    .col(string(UptimeOutage::ClientId))
                    .col(string(UptimeOutage::StartedAt))
                    .col(string_null(UptimeOutage::EndedAt))
                    .col(text(UptimeOutage::Detail))
                    .col(boolean(UptimeOutage::Mailed))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uptime_outage_client")
                    .table(UptimeOutage::Table)
                    .col(UptimeOutage::ClientId)
                    .col(UptimeOutage::StartedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
