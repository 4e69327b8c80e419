//! ConnectBox: the upload table, and the columns that let a dataset version be listed and filtered.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConnectboxUpload {
    Table,
    Id,
    Dataset,
    Mode,
    Uploader,
    FileName,
    Bytes,
    Sha256,
    Status,
    Reason,
    ReceivedAt,
    StartedAt,
    FinishedAt,
    DurationMs,
    BytesConverted,
    Records,
    Rejects,
    DatasetVersion,
    DuplicateOf,
    StoredPath,
}

#[derive(DeriveIden)]
enum CorporationRecord {
    Table,
    DatasetId,
    CorporateNumber,
    Name,
    Prefecture,
    UpdatedOn,
    Head,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConnectboxUpload::Table)
                    .if_not_exists()
                    .col(string(ConnectboxUpload::Id).primary_key())
                    .col(string(ConnectboxUpload::Dataset))
                    .col(string(ConnectboxUpload::Mode))
                    .col(string(ConnectboxUpload::Uploader))
                    .col(string(ConnectboxUpload::FileName))
                    .col(big_integer(ConnectboxUpload::Bytes))
                    .col(string(ConnectboxUpload::Sha256))
                    .col(string(ConnectboxUpload::Status))
                    .col(text_null(ConnectboxUpload::Reason))
                    .col(string(ConnectboxUpload::ReceivedAt))
                    .col(string_null(ConnectboxUpload::StartedAt))
                    .col(string_null(ConnectboxUpload::FinishedAt))
                    .col(big_integer_null(ConnectboxUpload::DurationMs))
                    .col(big_integer(ConnectboxUpload::BytesConverted))
                    .col(big_integer(ConnectboxUpload::Records))
                    .col(big_integer(ConnectboxUpload::Rejects))
                    .col(big_integer_null(ConnectboxUpload::DatasetVersion))
                    .col(string_null(ConnectboxUpload::DuplicateOf))
                    .col(text_null(ConnectboxUpload::StoredPath))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("connectbox_upload_dataset_sha256")
                    .table(ConnectboxUpload::Table)
                    .col(ConnectboxUpload::Dataset)
                    .col(ConnectboxUpload::Sha256)
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_null(CorporationRecord::Name),
            string_null(CorporationRecord::Prefecture),
            string_null(CorporationRecord::UpdatedOn),
            boolean(CorporationRecord::Head).default(false).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(CorporationRecord::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Listing walks the one record per number that answers, in corporate-number order.
        manager
            .create_index(
                Index::create()
                    .name("corporation_record_head")
                    .table(CorporationRecord::Table)
                    .col(CorporationRecord::DatasetId)
                    .col(CorporationRecord::Head)
                    .col(CorporationRecord::CorporateNumber)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
