//! One ConnectBox upload: the received file, its conversion and its receipt.

use sea_orm::entity::prelude::*;

/// `receiving` → `queued` → `running` → `published`, `duplicate` or `failed` (with `reason`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connectbox_upload")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub dataset: String,
    /// `full` or `diff`, as the dataset declared it when the upload arrived.
    pub mode: String,
    pub uploader: String,
    pub file_name: String,
    pub bytes: i64,
    pub sha256: String,
    pub status: String,
    pub reason: Option<String>,
    /// JST, RFC 3339.
    pub received_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    /// Input bytes the converter has read so far (progress).
    pub bytes_converted: i64,
    pub records: i64,
    pub rejects: i64,
    /// The dataset version this upload produced.
    pub dataset_version: Option<i64>,
    /// The earlier upload of the same file, when this one was a duplicate.
    pub duplicate_of: Option<String>,
    /// Where the received file waits for conversion; cleared once it is converted.
    pub stored_path: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
