//! ConnectBox: providers without an API upload files that a plugin converts into a published dataset.
//!
//! An upload is checked (uploader, dataset, right to write it) before its body is read, streamed to a
//! file under the node's data directory while its SHA-256 is taken, then converted in the background:
//! one conversion at a time, through the dataset's plugin, into a new dataset version that is published
//! atomically (a `full` file replaces the dataset, a `diff` file applies on top of the active version).
//! Every upload keeps a receipt; nothing that failed replaces what is served.

pub mod client;
pub mod http;

use crate::{
    dataset::{self, Input, Progress},
    jst,
    plugin_host::{Plugin, PluginHost, SandboxPolicy},
    storage::entity::{connectbox_upload, dataset_reject, dataset_source},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, atomic::Ordering},
    time::Instant,
};

/// `[connectbox]` of a node configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectBoxConfig {
    /// Where received files wait for conversion (`<data_dir>/uploads/`).
    pub data_dir: PathBuf,
    /// The largest upload accepted, in bytes (default 8 GiB).
    #[serde(default = "default_max_upload_bytes")]
    pub max_upload_bytes: u64,
    pub datasets: Vec<UploadDataset>,
    /// Who may upload (HTTP Basic); each dataset names its writers.
    pub uploaders: Vec<Uploader>,
}

fn default_max_upload_bytes() -> u64 {
    8 * 1024 * 1024 * 1024
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadDataset {
    pub name: String,
    /// `full`: an upload replaces the dataset. `diff`: an upload applies on top of the active version.
    pub mode: UploadMode,
    /// The converter component (`.wasm`).
    pub plugin: PathBuf,
    /// Uploaders allowed to write this dataset.
    pub writers: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadMode {
    Full,
    Diff,
}

impl UploadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadMode::Full => "full",
            UploadMode::Diff => "diff",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uploader {
    pub user: String,
    /// Argon2 PHC string; never the password itself.
    pub password_hash: String,
}

/// Told about every finished upload (published, duplicate or failed). The mail outbox plugs in here;
/// until then the summary is a log line.
pub type Notify = Arc<dyn Fn(&Receipt) + Send + Sync>;

/// The receipt of one upload, as the API and the CLI show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Receipt {
    pub id: String,
    pub dataset: String,
    pub mode: String,
    pub file_name: String,
    pub bytes: u64,
    pub sha256: String,
    pub uploader: String,
    /// JST, RFC 3339.
    pub received_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// `receiving`, `queued`, `running`, `published`, `duplicate` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    pub progress: ReceiptProgress,
    pub records_accepted: u64,
    pub rows_rejected: u64,
    /// The first rejected rows; all of them are in `rejects_csv`.
    pub rejects: Vec<RejectedRow>,
    pub rejects_csv: String,
    pub dataset_version: Option<i64>,
    pub duplicate_of: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReceiptProgress {
    pub bytes_converted: u64,
    pub records: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RejectedRow {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// How many rejected rows a receipt lists inline.
const RECEIPT_REJECTS: u64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum ConnectBoxError {
    #[error("upload {0} does not exist")]
    UnknownUpload(String),
    #[error("dataset {0:?} is not a ConnectBox dataset of this node")]
    UnknownDataset(String),
    #[error("plugin {path}: {reason}")]
    Plugin { path: String, reason: String },
    #[error("upload file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    #[error("storage")]
    Storage(#[from] DbErr),
}

/// The ConnectBox of one provider node.
pub struct ConnectBox {
    pub config: ConnectBoxConfig,
    db: DatabaseConnection,
    host: Mutex<Option<PluginHost>>,
    plugins: Mutex<HashMap<String, Plugin>>,
    /// Live counters of the conversions under way, by upload id.
    running: Mutex<HashMap<String, Arc<Progress>>>,
    /// One conversion at a time: a diff must apply onto the version the previous upload published.
    queue: tokio::sync::Mutex<()>,
    notify: Mutex<Notify>,
}

impl std::fmt::Debug for ConnectBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectBox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ConnectBox {
    /// Opens the ConnectBox and settles what a stopped process left behind: uploads that were
    /// receiving, queued or running are marked failed ("interrupted") and their half-built dataset
    /// versions dropped, so the active versions stay what they were.
    pub async fn open(
        config: ConnectBoxConfig,
        db: DatabaseConnection,
    ) -> Result<Arc<ConnectBox>, ConnectBoxError> {
        for d in &config.datasets {
            dataset::check_name(&d.name)?;
        }
        let uploads = config.data_dir.join("uploads");
        std::fs::create_dir_all(&uploads).map_err(|source| ConnectBoxError::Io {
            path: uploads.display().to_string(),
            source,
        })?;
        let interrupted = connectbox_upload::Entity::find()
            .filter(connectbox_upload::Column::Status.is_in(["receiving", "queued", "running"]))
            .all(&db)
            .await?;
        for upload in interrupted {
            tracing::warn!(upload = %upload.id, dataset = %upload.dataset, status = %upload.status,
                "connectbox: upload interrupted by a stop of the node; marked failed");
            if let Some(path) = &upload.stored_path {
                let _ = std::fs::remove_file(path);
                let _ = std::fs::remove_file(format!("{path}.part"));
            }
            let mut row: connectbox_upload::ActiveModel = upload.into();
            row.status = Set("failed".to_owned());
            row.reason = Set(Some("interrupted".to_owned()));
            row.finished_at = Set(Some(jst::now_rfc3339()));
            row.stored_path = Set(None);
            row.update(&db).await?;
        }
        dataset::fail_unfinished(&db).await?;
        Ok(Arc::new(ConnectBox {
            config,
            db,
            host: Mutex::new(None),
            plugins: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            queue: tokio::sync::Mutex::new(()),
            notify: Mutex::new(Arc::new(log_summary)),
        }))
    }

    /// Replaces the summary hook (the mail outbox, a test).
    pub fn set_notify(&self, notify: Notify) {
        *self.notify.lock().unwrap_or_else(|p| p.into_inner()) = notify;
    }

    pub fn dataset(&self, name: &str) -> Option<&UploadDataset> {
        self.config.datasets.iter().find(|d| d.name == name)
    }

    pub fn uploader(&self, user: &str) -> Option<&Uploader> {
        self.config.uploaders.iter().find(|u| u.user == user)
    }

    fn uploads_dir(&self) -> PathBuf {
        self.config.data_dir.join("uploads")
    }

    /// The plugin of `dataset`, compiled once per node run.
    fn plugin(&self, dataset: &UploadDataset) -> Result<Plugin, ConnectBoxError> {
        if let Some(p) = self
            .plugins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&dataset.name)
        {
            return Ok(p.clone());
        }
        let plugin_error = |reason: String| ConnectBoxError::Plugin {
            path: dataset.plugin.display().to_string(),
            reason,
        };
        let wasm = std::fs::read(&dataset.plugin).map_err(|e| plugin_error(e.to_string()))?;
        let plugin = {
            let mut host = self.host.lock().unwrap_or_else(|p| p.into_inner());
            if host.is_none() {
                *host = Some(
                    PluginHost::new(SandboxPolicy::default())
                        .map_err(|e| plugin_error(e.to_string()))?,
                );
            }
            host.as_ref()
                .expect("set above")
                .load(&wasm)
                .map_err(|e| plugin_error(e.to_string()))?
        };
        self.plugins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dataset.name.clone(), plugin.clone());
        Ok(plugin)
    }

    /// Records a new upload as `receiving`; returns its id and the path its bytes go to.
    pub async fn begin_upload(
        &self,
        dataset: &UploadDataset,
        uploader: &str,
        file_name: &str,
    ) -> Result<(String, PathBuf), ConnectBoxError> {
        let id = uuid::Uuid::now_v7().to_string();
        let path = self.uploads_dir().join(format!("{id}.upload"));
        connectbox_upload::ActiveModel {
            id: Set(id.clone()),
            dataset: Set(dataset.name.clone()),
            mode: Set(dataset.mode.as_str().to_owned()),
            uploader: Set(uploader.to_owned()),
            file_name: Set(file_name.to_owned()),
            bytes: Set(0),
            sha256: Set(String::new()),
            status: Set("receiving".to_owned()),
            reason: Set(None),
            received_at: Set(jst::now_rfc3339()),
            started_at: Set(None),
            finished_at: Set(None),
            duration_ms: Set(None),
            bytes_converted: Set(0),
            records: Set(0),
            rejects: Set(0),
            dataset_version: Set(None),
            duplicate_of: Set(None),
            stored_path: Set(Some(path.display().to_string())),
        }
        .insert(&self.db)
        .await?;
        Ok((id, path))
    }

    /// The body arrived whole: the upload is either a duplicate of a published one (reported, not
    /// applied) or queued for conversion. Returns whether it must be converted.
    pub async fn received(
        &self,
        id: &str,
        bytes: u64,
        sha256: &str,
    ) -> Result<bool, ConnectBoxError> {
        let upload = self.get(id).await?;
        let earlier = connectbox_upload::Entity::find()
            .filter(connectbox_upload::Column::Dataset.eq(upload.dataset.clone()))
            .filter(connectbox_upload::Column::Sha256.eq(sha256))
            .filter(connectbox_upload::Column::Status.eq("published"))
            .order_by_asc(connectbox_upload::Column::ReceivedAt)
            .one(&self.db)
            .await?;
        let stored_path = upload.stored_path.clone();
        let mut row: connectbox_upload::ActiveModel = upload.into();
        row.bytes = Set(bytes as i64);
        row.sha256 = Set(sha256.to_owned());
        let convert = match earlier {
            Some(first) => {
                tracing::info!(upload = id, duplicate_of = %first.id, "connectbox: duplicate upload, not applied");
                row.status = Set("duplicate".to_owned());
                row.duplicate_of = Set(Some(first.id.clone()));
                row.reason = Set(Some(format!(
                    "the same file (sha256 {sha256}) was already published by upload {}",
                    first.id
                )));
                row.finished_at = Set(Some(jst::now_rfc3339()));
                row.duration_ms = Set(Some(0));
                row.stored_path = Set(None);
                if let Some(path) = stored_path {
                    let _ = std::fs::remove_file(path);
                }
                false
            }
            None => {
                row.status = Set("queued".to_owned());
                true
            }
        };
        let row = row.update(&self.db).await?;
        if !convert {
            self.finished(&row).await;
        }
        Ok(convert)
    }

    /// The body did not arrive whole (too large, the client went away): the upload failed.
    pub async fn receive_failed(&self, id: &str, reason: &str) -> Result<(), ConnectBoxError> {
        let upload = self.get(id).await?;
        if let Some(path) = &upload.stored_path {
            let _ = std::fs::remove_file(path);
        }
        let mut row: connectbox_upload::ActiveModel = upload.into();
        row.status = Set("failed".to_owned());
        row.reason = Set(Some(reason.to_owned()));
        row.finished_at = Set(Some(jst::now_rfc3339()));
        row.stored_path = Set(None);
        let row = row.update(&self.db).await?;
        self.finished(&row).await;
        Ok(())
    }

    /// Converts a queued upload and publishes the result; waits for the conversion before it. Any error
    /// is recorded on the upload (the active version is untouched) and returned.
    pub async fn convert(self: &Arc<Self>, id: &str) -> Result<Receipt, ConnectBoxError> {
        let _turn = self.queue.lock().await;
        let upload = self.get(id).await?;
        let started = Instant::now();
        let mut row: connectbox_upload::ActiveModel = upload.clone().into();
        row.status = Set("running".to_owned());
        row.started_at = Set(Some(jst::now_rfc3339()));
        row.update(&self.db).await?;

        let progress = Arc::new(Progress::default());
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), progress.clone());
        let outcome = self.convert_upload(&upload, progress.clone()).await;
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);

        if let Some(path) = &upload.stored_path {
            // The receipt keeps the digest; the file itself is not kept once converted.
            let _ = std::fs::remove_file(path);
        }
        let mut row: connectbox_upload::ActiveModel = self.get(id).await?.into();
        row.finished_at = Set(Some(jst::now_rfc3339()));
        row.duration_ms = Set(Some(started.elapsed().as_millis() as i64));
        row.bytes_converted = Set(progress.bytes.load(Ordering::Relaxed) as i64);
        row.stored_path = Set(None);
        let failure = match outcome {
            Ok((version, report)) => {
                row.status = Set("published".to_owned());
                row.dataset_version = Set(Some(version));
                row.records = Set(report.records as i64);
                row.rejects = Set(report.rejects as i64);
                None
            }
            Err((version, e)) => {
                tracing::warn!(upload = id, error = %dataset::error_chain(&e), "connectbox: conversion failed; the active version is unchanged");
                row.status = Set("failed".to_owned());
                row.dataset_version = Set(version);
                row.reason = Set(Some(dataset::error_chain(&e)));
                row.records = Set(progress.records.load(Ordering::Relaxed) as i64);
                row.rejects = Set(progress.rejects.load(Ordering::Relaxed) as i64);
                Some(e)
            }
        };
        let row = row.update(&self.db).await?;
        let receipt = self.finished(&row).await;
        match failure {
            None => Ok(receipt),
            Some(e) => Err(e),
        }
    }

    async fn convert_upload(
        &self,
        upload: &connectbox_upload::Model,
        progress: Arc<Progress>,
    ) -> Result<(i64, dataset::LoadReport), (Option<i64>, ConnectBoxError)> {
        let no_version = |e: ConnectBoxError| (None, e);
        let config = self
            .dataset(&upload.dataset)
            .ok_or_else(|| no_version(ConnectBoxError::UnknownDataset(upload.dataset.clone())))?;
        let path = upload
            .stored_path
            .as_deref()
            .map(PathBuf::from)
            .ok_or_else(|| {
                no_version(ConnectBoxError::Io {
                    path: upload.id.clone(),
                    source: std::io::Error::other("the received file is gone"),
                })
            })?;
        let inputs = inputs_of(&path, &upload.file_name).map_err(no_version)?;
        let plugin = self.plugin(config).map_err(no_version)?;
        let onto = match config.mode {
            UploadMode::Full => None,
            UploadMode::Diff => dataset::active(&self.db, &config.name)
                .await
                .map_err(|e| no_version(e.into()))?,
        };
        let version = dataset::new_version(&self.db, &plugin, &config.name)
            .await
            .map_err(|e| no_version(e.into()))?;
        let mut row: connectbox_upload::ActiveModel = upload.clone().into();
        row.dataset_version = Set(Some(version.id));
        row.update(&self.db)
            .await
            .map_err(|e| (Some(version.id), e.into()))?;
        dataset::load_into(
            &self.db,
            &plugin,
            &version,
            inputs,
            onto.as_ref(),
            Some(progress),
        )
        .await
        .map(|report| (version.id, report))
        .map_err(|e| (Some(version.id), e.into()))
    }

    async fn finished(&self, row: &connectbox_upload::Model) -> Receipt {
        let receipt = match self.receipt_of(row).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(upload = %row.id, error = %e, "connectbox: receipt");
                return self.bare_receipt(row);
            }
        };
        let notify = self
            .notify
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        notify(&receipt);
        receipt
    }

    pub async fn get(&self, id: &str) -> Result<connectbox_upload::Model, ConnectBoxError> {
        connectbox_upload::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| ConnectBoxError::UnknownUpload(id.to_owned()))
    }

    fn bare_receipt(&self, row: &connectbox_upload::Model) -> Receipt {
        let live = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&row.id)
            .cloned();
        let progress = match live {
            Some(p) => ReceiptProgress {
                bytes_converted: p.bytes.load(Ordering::Relaxed),
                records: p.records.load(Ordering::Relaxed),
            },
            None => ReceiptProgress {
                bytes_converted: row.bytes_converted as u64,
                records: row.records as u64,
            },
        };
        Receipt {
            id: row.id.clone(),
            dataset: row.dataset.clone(),
            mode: row.mode.clone(),
            file_name: row.file_name.clone(),
            bytes: row.bytes as u64,
            sha256: row.sha256.clone(),
            uploader: row.uploader.clone(),
            received_at: row.received_at.clone(),
            started_at: row.started_at.clone(),
            finished_at: row.finished_at.clone(),
            duration_ms: row.duration_ms.map(|d| d as u64),
            status: row.status.clone(),
            reason: row.reason.clone(),
            progress,
            records_accepted: row.records as u64,
            rows_rejected: row.rejects as u64,
            rejects: Vec::new(),
            rejects_csv: format!("/connectbox/uploads/{}/rejects.csv", row.id),
            // The version this upload published; a failed conversion's version was never served.
            dataset_version: row.dataset_version.filter(|_| row.status == "published"),
            duplicate_of: row.duplicate_of.clone(),
        }
    }

    /// The receipt of an upload, with live progress while it converts.
    pub async fn receipt_of(
        &self,
        row: &connectbox_upload::Model,
    ) -> Result<Receipt, ConnectBoxError> {
        let mut receipt = self.bare_receipt(row);
        receipt.rejects = self.rejects(row, Some(RECEIPT_REJECTS)).await?;
        Ok(receipt)
    }

    /// The rows the conversion of `row` rejected, in file order (all of them without `limit`).
    pub async fn rejects(
        &self,
        row: &connectbox_upload::Model,
        limit: Option<u64>,
    ) -> Result<Vec<RejectedRow>, ConnectBoxError> {
        let Some(version) = row.dataset_version else {
            return Ok(Vec::new());
        };
        let sources = dataset_source::Entity::find()
            .filter(dataset_source::Column::DatasetId.eq(version))
            .all(&self.db)
            .await?;
        let mut query = dataset_reject::Entity::find()
            .filter(dataset_reject::Column::DatasetId.eq(version))
            .order_by_asc(dataset_reject::Column::SourceId)
            .order_by_asc(dataset_reject::Column::Line);
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        let rows = query.all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|r| RejectedRow {
                file: sources
                    .iter()
                    .find(|s| s.id == r.source_id)
                    .map(|s| s.file_name.clone())
                    .unwrap_or_default(),
                line: r.line as u64,
                reason: r.reason,
            })
            .collect())
    }
}

/// The summary every finished upload produces until the mail outbox takes it over.
fn log_summary(receipt: &Receipt) {
    tracing::info!(
        target: "renkei::connectbox::notify",
        upload = %receipt.id,
        dataset = %receipt.dataset,
        uploader = %receipt.uploader,
        file = %receipt.file_name,
        sha256 = %receipt.sha256,
        status = %receipt.status,
        records = receipt.records_accepted,
        rejected = receipt.rows_rejected,
        reason = receipt.reason.as_deref().unwrap_or(""),
        "connectbox upload finished (summary for the provider and the operator)"
    );
}

/// What to convert in a received file: the file itself, or each CSV / XML entry of a ZIP archive in
/// archive order (other entries, such as a PDF of the specification, are skipped).
fn inputs_of(path: &Path, file_name: &str) -> Result<Vec<Input>, ConnectBoxError> {
    let io_error = |source: std::io::Error| ConnectBoxError::Io {
        path: file_name.to_owned(),
        source,
    };
    let mut magic = [0u8; 4];
    {
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(io_error)?;
        let n = file.read(&mut magic).map_err(io_error)?;
        // A ZIP starts with a local file header, or (an empty archive) with its end record.
        let zip = n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06");
        if !zip && file_name.to_ascii_lowercase().ends_with(".zip") {
            return Err(io_error(std::io::Error::other(
                "the file is named .zip but is not a ZIP archive",
            )));
        }
        if !zip {
            return Ok(vec![Input::Named {
                path: path.to_owned(),
                name: file_name.to_owned(),
            }]);
        }
    }
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        io_error(std::io::Error::other(format!(
            "not a readable ZIP archive: {e}"
        )))
    })?;
    let mut inputs = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| io_error(std::io::Error::other(format!("ZIP entry {index}: {e}"))))?;
        let name = entry
            .name()
            .map_err(|e| io_error(std::io::Error::other(format!("ZIP entry {index}: {e}"))))?
            .into_owned();
        let lower = name.to_ascii_lowercase();
        if entry.is_dir() || !(lower.ends_with(".csv") || lower.ends_with(".xml")) {
            tracing::info!(file = file_name, entry = %name, "connectbox: ZIP entry skipped (not CSV or XML)");
            continue;
        }
        inputs.push(Input::ZipEntry {
            archive: path.to_owned(),
            index,
            name: format!("{file_name}!{name}"),
        });
    }
    if inputs.is_empty() {
        return Err(io_error(std::io::Error::other(
            "the ZIP archive holds no CSV or XML entry",
        )));
    }
    Ok(inputs)
}
