//! Schema migrations, the same for SQLite and PostgreSQL. Append new migrations; never edit applied ones.

mod m0002_trust;
mod m0003_accounts;
mod m0005_connectbox;
mod m0006_applications;
mod m0007_account_admin;
mod m0007_consent;
mod m0008_uptime;
mod m0009_log_evidence;
mod m0010_log_retention;

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(InitialSchema),
            Box::new(m0002_trust::Migration),
            Box::new(m0003_accounts::Migration),
            Box::new(m0005_connectbox::Migration),
            Box::new(m0006_applications::Migration),
            Box::new(m0007_consent::Migration),
            Box::new(m0007_account_admin::Migration),
            Box::new(m0008_uptime::Migration),
            Box::new(m0009_log_evidence::Migration),
            Box::new(m0010_log_retention::Migration),
        ]
    }
}

#[derive(DeriveMigrationName)]
struct InitialSchema;

#[derive(DeriveIden)]
enum Dataset {
    Table,
    Id,
    Name,
    Status,
    PluginDigest,
    Records,
    Rejects,
    CreatedAt,
    PublishedAt,
    Error,
}

#[derive(DeriveIden)]
enum DatasetSource {
    Table,
    Id,
    DatasetId,
    FileName,
    Sha256,
    Bytes,
    AsOf,
    Records,
    Rejects,
}

#[derive(DeriveIden)]
enum CorporationRecord {
    Table,
    Id,
    DatasetId,
    SourceId,
    CorporateNumber,
    Line,
    Current,
    Document,
}

#[derive(DeriveIden)]
enum DatasetReject {
    Table,
    Id,
    DatasetId,
    SourceId,
    Line,
    Reason,
}

/// Columns shared by a node's exchange log and the portal's collected copy.
#[derive(DeriveIden, Clone, Copy)]
enum Exchange {
    Seq,
    RequestId,
    Time,
    Role,
    Requester,
    Provider,
    Api,
    Method,
    Path,
    Status,
    LatencyMs,
    BytesIn,
    BytesOut,
    Scopes,
    CorporateNumber,
    Outcome,
    ErrorCode,
    PrevHash,
    Hash,
    Shipped,
}

#[derive(DeriveIden)]
enum ExchangeRecord {
    Table,
}

#[derive(DeriveIden)]
enum PortalExchange {
    Table,
    Id,
    Node,
}

#[derive(DeriveIden)]
enum PortalApi {
    Table,
    Id,
    Slug,
    Name,
    Summary,
    Description,
    Provider,
    ProviderClientId,
    Categories,
    Scopes,
    ConsentRequired,
    PathTemplate,
    Openapi,
}

#[derive(DeriveIden)]
enum PortalNode {
    Table,
    ClientId,
    Organisation,
    Endpoint,
    PublicKey,
}

fn exchange_columns(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(string(Exchange::RequestId))
        .col(string(Exchange::Time))
        .col(string(Exchange::Role))
        .col(string(Exchange::Requester))
        .col(string(Exchange::Provider))
        .col(string(Exchange::Api))
        .col(string(Exchange::Method))
        .col(text(Exchange::Path))
        .col(integer(Exchange::Status))
        .col(double(Exchange::LatencyMs))
        .col(big_integer(Exchange::BytesIn))
        .col(big_integer(Exchange::BytesOut))
        .col(string(Exchange::Scopes))
        .col(string_null(Exchange::CorporateNumber))
        .col(string(Exchange::Outcome))
        .col(string_null(Exchange::ErrorCode))
        .col(string(Exchange::PrevHash))
        .col(string(Exchange::Hash))
}

#[async_trait::async_trait]
impl MigrationTrait for InitialSchema {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Dataset::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Dataset::Id))
                    .col(string(Dataset::Name))
                    .col(string(Dataset::Status))
                    .col(string(Dataset::PluginDigest))
                    .col(big_integer(Dataset::Records))
                    .col(big_integer(Dataset::Rejects))
                    .col(string(Dataset::CreatedAt))
                    .col(string_null(Dataset::PublishedAt))
                    .col(text_null(Dataset::Error))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("dataset_name_status")
                    .table(Dataset::Table)
                    .col(Dataset::Name)
                    .col(Dataset::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DatasetSource::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DatasetSource::Id))
                    .col(big_integer(DatasetSource::DatasetId))
                    .col(string(DatasetSource::FileName))
                    .col(string(DatasetSource::Sha256))
                    .col(big_integer(DatasetSource::Bytes))
                    .col(string_null(DatasetSource::AsOf))
                    .col(big_integer(DatasetSource::Records))
                    .col(big_integer(DatasetSource::Rejects))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CorporationRecord::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CorporationRecord::Id))
                    .col(big_integer(CorporationRecord::DatasetId))
                    .col(big_integer(CorporationRecord::SourceId))
                    .col(string(CorporationRecord::CorporateNumber))
                    .col(big_integer(CorporationRecord::Line))
                    .col(boolean(CorporationRecord::Current))
                    .col(text(CorporationRecord::Document))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("corporation_record_lookup")
                    .table(CorporationRecord::Table)
                    .col(CorporationRecord::DatasetId)
                    .col(CorporationRecord::CorporateNumber)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DatasetReject::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DatasetReject::Id))
                    .col(big_integer(DatasetReject::DatasetId))
                    .col(big_integer(DatasetReject::SourceId))
                    .col(big_integer(DatasetReject::Line))
                    .col(text(DatasetReject::Reason))
                    .to_owned(),
            )
            .await?;

        let mut node_log = Table::create();
        node_log
            .table(ExchangeRecord::Table)
            .if_not_exists()
            .col(big_pk_auto(Exchange::Seq));
        exchange_columns(&mut node_log).col(boolean(Exchange::Shipped));
        manager.create_table(node_log.to_owned()).await?;

        let mut collected = Table::create();
        collected
            .table(PortalExchange::Table)
            .if_not_exists()
            .col(big_pk_auto(PortalExchange::Id))
            .col(string(PortalExchange::Node))
            .col(big_integer(Exchange::Seq));
        exchange_columns(&mut collected);
        manager.create_table(collected.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_exchange_node_seq")
                    .table(PortalExchange::Table)
                    .col(PortalExchange::Node)
                    .col(Exchange::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PortalApi::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalApi::Id))
                    .col(string_uniq(PortalApi::Slug))
                    .col(string(PortalApi::Name))
                    .col(text(PortalApi::Summary))
                    .col(text(PortalApi::Description))
                    .col(string(PortalApi::Provider))
                    .col(string(PortalApi::ProviderClientId))
                    .col(text(PortalApi::Categories))
                    .col(text(PortalApi::Scopes))
                    .col(boolean(PortalApi::ConsentRequired))
                    .col(string(PortalApi::PathTemplate))
                    .col(text(PortalApi::Openapi))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalNode::Table)
                    .if_not_exists()
                    .col(string(PortalNode::ClientId).primary_key())
                    .col(string(PortalNode::Organisation))
                    .col(string(PortalNode::Endpoint))
                    .col(string(PortalNode::PublicKey))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
