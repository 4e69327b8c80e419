//! Datasets: standard-data records converted from provider files by a plugin, published atomically.
//!
//! A load writes a new dataset version while readers keep using the active one; only when every file has
//! converted does one transaction make the new version active and the old one superseded. A failed load
//! leaves the active version untouched and records why.

use crate::{
    jst,
    plugin_host::{ConversionSink, Converted, Plugin, Rejected, SinkError},
    storage::entity::{corporation_record, dataset, dataset_reject, dataset_source},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::{io::Read, path::PathBuf, sync::Arc};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(
        "dataset name {0:?}: use 1-64 of a-z, 0-9, '-', '_' and '.', starting with a letter or digit"
    )]
    BadName(String),
    #[error("input file {path}: {reason}")]
    Input { path: String, reason: String },
    #[error(
        "input file {path}: no record could be converted ({rejects} rejected rows{first}); the active dataset is unchanged"
    )]
    NothingConverted {
        path: String,
        rejects: u64,
        first: String,
    },
    #[error("converting {path}")]
    Plugin {
        path: String,
        #[source]
        source: crate::plugin_host::PluginError,
    },
    #[error("storage")]
    Storage(#[from] DbErr),
}

/// Dataset names appear in URLs, logs and file names: keep them plain.
pub fn check_name(name: &str) -> Result<(), DatasetError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(DatasetError::BadName(name.to_owned()))
    }
}

/// What one load did, per file and in total.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    pub dataset: String,
    pub version: i64,
    pub plugin_digest: String,
    pub records: u64,
    pub rejects: u64,
    pub sources: Vec<SourceReport>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceReport {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub as_of: Option<String>,
    pub records: u64,
    pub rejects: u64,
    /// The first rejected rows (line and reason), for the receipt.
    pub first_rejects: Vec<(u64, String)>,
}

/// The record that answers a lookup, with its provenance.
#[derive(Debug, Clone)]
pub struct Found {
    pub document: serde_json::Value,
    pub line: i64,
    pub dataset: dataset::Model,
    pub source: dataset_source::Model,
}

/// Converts `files` in order (later files' rows win for the same number) into a new version of
/// `name`, then publishes it.
pub async fn load(
    db: &DatabaseConnection,
    plugin: &Plugin,
    name: &str,
    files: &[PathBuf],
) -> Result<LoadReport, DatasetError> {
    let inputs = files.iter().cloned().map(Input::File).collect();
    load_inputs(db, plugin, name, inputs, None, None).await
}

/// One input of a load: a file, or one entry of a ZIP archive (read in place, never unpacked to disk).
#[derive(Debug, Clone)]
pub enum Input {
    File(PathBuf),
    /// A file stored under another name (a received upload): provenance shows `name`.
    Named {
        path: PathBuf,
        name: String,
    },
    ZipEntry {
        archive: PathBuf,
        index: usize,
        /// `archive.zip!entry.csv`, as receipts and provenance show it.
        name: String,
    },
}

impl Input {
    pub fn display_name(&self) -> String {
        match self {
            Input::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            Input::Named { name, .. } | Input::ZipEntry { name, .. } => name.clone(),
        }
    }

    fn shown(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Named { name, .. } | Input::ZipEntry { name, .. } => name.clone(),
        }
    }

    /// Opens the input and hands a reader of its (decompressed) bytes to `f`.
    fn with_reader<T>(&self, f: impl FnOnce(&mut dyn Read) -> T) -> std::io::Result<T> {
        match self {
            Input::File(path) | Input::Named { path, .. } => {
                let mut file = std::fs::File::open(path)?;
                Ok(f(&mut file))
            }
            Input::ZipEntry { archive, index, .. } => {
                let file = std::fs::File::open(archive)?;
                let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
                    .map_err(std::io::Error::other)?;
                let mut entry = zip.by_index(*index).map_err(std::io::Error::other)?;
                Ok(f(&mut entry))
            }
        }
    }
}

/// Live counters of a running load, read by progress views while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: std::sync::atomic::AtomicU64,
    pub records: std::sync::atomic::AtomicU64,
    pub rejects: std::sync::atomic::AtomicU64,
}

/// Converts `inputs` in order into a new version of `name` and publishes it. With `onto`, the new version
/// starts as a copy of that version and the inputs apply on top (a difference file: its rows are the new
/// state of the numbers they name; every other number keeps its record).
pub async fn load_inputs(
    db: &DatabaseConnection,
    plugin: &Plugin,
    name: &str,
    inputs: Vec<Input>,
    onto: Option<&dataset::Model>,
    progress: Option<Arc<Progress>>,
) -> Result<LoadReport, DatasetError> {
    let version = new_version(db, plugin, name).await?;
    load_into(db, plugin, &version, inputs, onto, progress).await
}

/// A new, not yet visible version of `name` (status `loading`).
pub async fn new_version(
    db: &DatabaseConnection,
    plugin: &Plugin,
    name: &str,
) -> Result<dataset::Model, DatasetError> {
    check_name(name)?;
    Ok(dataset::ActiveModel {
        name: Set(name.to_owned()),
        status: Set("loading".to_owned()),
        plugin_digest: Set(plugin.digest().to_owned()),
        records: Set(0),
        rejects: Set(0),
        created_at: Set(jst::now_rfc3339()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Fills `version` from `inputs` (onto a copy of `onto`, if given) and publishes it; on any error the
/// version is marked failed with the reason and the active version stays as it was.
pub async fn load_into(
    db: &DatabaseConnection,
    plugin: &Plugin,
    version: &dataset::Model,
    inputs: Vec<Input>,
    onto: Option<&dataset::Model>,
    progress: Option<Arc<Progress>>,
) -> Result<LoadReport, DatasetError> {
    let progress = progress.unwrap_or_default();
    match build_version(db, plugin, version, inputs, onto, &progress).await {
        Ok((sources, records)) => {
            let rejects = sources.iter().map(|s| s.rejects).sum();
            publish(db, version, records, rejects).await?;
            Ok(LoadReport {
                dataset: version.name.clone(),
                version: version.id,
                plugin_digest: plugin.digest().to_owned(),
                records: sources.iter().map(|s| s.records).sum(),
                rejects,
                sources,
            })
        }
        Err(e) => {
            fail(db, version, &error_chain(&e)).await?;
            Err(e)
        }
    }
}

/// An error and its causes on one line (`a: b: c`), for receipts and stored reasons.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Marks versions left `loading` by a process that stopped (killed, crashed) as failed, dropping their
/// records: they were never visible, and nothing will finish them.
pub async fn fail_unfinished(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let unfinished = dataset::Entity::find()
        .filter(dataset::Column::Status.eq("loading"))
        .all(db)
        .await?;
    let count = unfinished.len() as u64;
    for version in unfinished {
        fail(db, &version, "interrupted").await?;
    }
    Ok(count)
}

/// Fills the (not yet visible) version; returns the per-source reports and the version's record count.
async fn build_version(
    db: &DatabaseConnection,
    plugin: &Plugin,
    version: &dataset::Model,
    inputs: Vec<Input>,
    onto: Option<&dataset::Model>,
    progress: &Arc<Progress>,
) -> Result<(Vec<SourceReport>, u64), DatasetError> {
    let mut copied = 0;
    if let Some(base) = onto {
        copied = copy_records(db, base.id, version.id).await?;
    }
    let mut reports = Vec::new();
    let mut first_source = None;
    for input in inputs {
        let (report, source_id) = load_source(db, plugin, version.id, input, progress).await?;
        first_source.get_or_insert(source_id);
        reports.push(report);
    }
    if let Some(first) = first_source {
        mark_heads(db, version.id, onto.map(|_| first)).await?;
    }
    let records = copied + reports.iter().map(|s| s.records).sum::<u64>();
    Ok((reports, records))
}

/// Writes SQL with `$1, $2, …` placeholders (used once each, in order) for either backend.
fn statement(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DatabaseBackend::Postgres {
        sql.to_owned()
    } else {
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('?');
            } else {
                out.push(c);
            }
        }
        out
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Copies every record of `from` into `to`, keeping their sources (provenance stays the original file)
/// and their order.
async fn copy_records(db: &DatabaseConnection, from: i64, to: i64) -> Result<u64, DbErr> {
    let result = db
        .execute_raw(statement(
            db,
            "INSERT INTO corporation_record \
               (dataset_id, source_id, corporate_number, line, current, document, name, prefecture, updated_on, head) \
             SELECT $1, source_id, corporate_number, line, current, document, name, prefecture, updated_on, head \
             FROM corporation_record WHERE dataset_id = $2 ORDER BY id",
            vec![to.into(), from.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Marks, for every number, the record that answers for it: the last current record in load order, or the
/// last record when only history exists (the rule of [`find`]). With `from_source`, only the numbers that
/// sources from that id on touched are recomputed (a difference applied onto a copy).
async fn mark_heads(
    db: &DatabaseConnection,
    version: i64,
    from_source: Option<i64>,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    match from_source {
        Some(first) => {
            let touched = "SELECT corporate_number FROM corporation_record WHERE dataset_id = $2 AND source_id >= $3";
            txn.execute_raw(statement(
                &txn,
                &format!(
                    "UPDATE corporation_record SET head = FALSE \
                     WHERE dataset_id = $1 AND corporate_number IN ({touched})"
                ),
                vec![version.into(), version.into(), first.into()],
            ))
            .await?;
            txn.execute_raw(statement(
                &txn,
                &format!(
                    "UPDATE corporation_record SET head = TRUE WHERE id IN (\
                       SELECT COALESCE(MAX(CASE WHEN current THEN id END), MAX(id)) FROM corporation_record \
                       WHERE dataset_id = $1 AND corporate_number IN ({touched}) GROUP BY corporate_number)"
                ),
                vec![version.into(), version.into(), first.into()],
            ))
            .await?;
        }
        None => {
            txn.execute_raw(statement(
                &txn,
                "UPDATE corporation_record SET head = TRUE WHERE id IN (\
                   SELECT COALESCE(MAX(CASE WHEN current THEN id END), MAX(id)) FROM corporation_record \
                   WHERE dataset_id = $1 GROUP BY corporate_number)",
                vec![version.into()],
            ))
            .await?;
        }
    }
    txn.commit().await
}

async fn load_source(
    db: &DatabaseConnection,
    plugin: &Plugin,
    dataset_id: i64,
    input: Input,
    progress: &Arc<Progress>,
) -> Result<(SourceReport, i64), DatasetError> {
    let shown = input.shown();
    let input_error = |reason: String| DatasetError::Input {
        path: shown.clone(),
        reason,
    };
    let file_name = input.display_name();
    // The digest is taken while the converter reads: one pass over a file of any size.
    let source = dataset_source::ActiveModel {
        dataset_id: Set(dataset_id),
        file_name: Set(file_name.clone()),
        sha256: Set(String::new()),
        bytes: Set(0),
        records: Set(0),
        rejects: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await?;

    // The plugin runs on a blocking thread; batches come back through a bounded channel so memory
    // stays flat however large the file is.
    let (tx, mut rx) = mpsc::channel::<(Vec<Converted>, Vec<Rejected>)>(4);
    let plugin_for_task = plugin.clone();
    let progress_for_task = progress.clone();
    let conversion = tokio::task::spawn_blocking(move || {
        input.with_reader(|raw| {
            let mut hashing = HashingReader {
                inner: raw,
                hasher: Sha256::new(),
                bytes: 0,
                progress: &progress_for_task,
            };
            let result = {
                let mut reader = std::io::BufReader::with_capacity(256 * 1024, &mut hashing);
                let mut sink = ChannelSink { tx };
                plugin_for_task.convert(&mut reader as &mut dyn Read, &[], &mut sink)
            };
            (
                result,
                hex::encode(hashing.hasher.finalize()),
                hashing.bytes,
            )
        })
    });

    let mut records = 0u64;
    let mut rejects = 0u64;
    let mut first_rejects = Vec::new();
    while let Some((batch, rejected)) = rx.recv().await {
        records += batch.len() as u64;
        rejects += rejected.len() as u64;
        for r in rejected
            .iter()
            .take(20usize.saturating_sub(first_rejects.len()))
        {
            first_rejects.push((r.line, r.reason.clone()));
        }
        let (n, m) = (batch.len() as u64, rejected.len() as u64);
        store_batch(db, dataset_id, source.id, batch, rejected).await?;
        use std::sync::atomic::Ordering::Relaxed;
        progress.records.fetch_add(n, Relaxed);
        progress.rejects.fetch_add(m, Relaxed);
    }
    let (result, sha256, bytes) = conversion
        .await
        .map_err(|e| input_error(e.to_string()))?
        .map_err(|e| input_error(e.to_string()))?;
    let report = result.map_err(|source| {
        crate::observability::record_failed_conversion();
        DatasetError::Plugin {
            path: shown.clone(),
            source,
        }
    })?;
    crate::observability::record_conversion(report.elapsed, records, rejects);

    if records == 0 {
        // A file that yields nothing is a wrong file (or a wrong plugin), never an empty dataset.
        let first = first_rejects
            .first()
            .map(|(line, reason)| format!("; first: line {line}: {reason}"))
            .unwrap_or_default();
        return Err(DatasetError::NothingConverted {
            path: shown,
            rejects,
            first,
        });
    }
    let as_of = report.as_of.clone();
    let source_id = source.id;
    let mut update: dataset_source::ActiveModel = source.into();
    update.as_of = Set(as_of.clone());
    update.sha256 = Set(sha256.clone());
    update.bytes = Set(bytes as i64);
    update.records = Set(records as i64);
    update.rejects = Set(rejects as i64);
    update.update(db).await?;
    Ok((
        SourceReport {
            file: file_name,
            sha256,
            bytes,
            as_of,
            records,
            rejects,
            first_rejects,
        },
        source_id,
    ))
}

/// Hashes and counts what the converter reads, and publishes the count as progress.
struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hasher: Sha256,
    bytes: u64,
    progress: &'a Progress,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        self.progress
            .bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

struct ChannelSink {
    tx: mpsc::Sender<(Vec<Converted>, Vec<Rejected>)>,
}

impl ConversionSink for ChannelSink {
    fn accept(&mut self, records: Vec<Converted>, rejects: Vec<Rejected>) -> Result<(), SinkError> {
        self.tx
            .blocking_send((records, rejects))
            .map_err(|_| SinkError::new("the dataset writer stopped"))
    }
}

async fn store_batch(
    db: &DatabaseConnection,
    dataset_id: i64,
    source_id: i64,
    records: Vec<Converted>,
    rejects: Vec<Rejected>,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    // SQLite caps bound parameters per statement; 10 columns × 500 rows stays well under it.
    for chunk in records.chunks(500) {
        let rows = chunk.iter().map(|r| corporation_record::ActiveModel {
            dataset_id: Set(dataset_id),
            source_id: Set(source_id),
            corporate_number: Set(r.key.clone()),
            line: Set(r.line as i64),
            current: Set(!is_past_state(&r.document)),
            document: Set(r.document.to_string()),
            name: Set(text_at(
                &r.document,
                &["Basic", "Destination", "Corporate name"],
            )),
            prefecture: Set(prefecture_of(&r.document)),
            updated_on: Set(updated_on(&r.document)),
            head: Set(false),
            ..Default::default()
        });
        corporation_record::Entity::insert_many(rows)
            .exec(&txn)
            .await?;
    }
    for chunk in rejects.chunks(500) {
        let rows = chunk.iter().map(|r| dataset_reject::ActiveModel {
            dataset_id: Set(dataset_id),
            source_id: Set(source_id),
            line: Set(r.line as i64),
            reason: Set(r.reason.clone()),
            ..Default::default()
        });
        dataset_reject::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await
}

fn text_at(document: &serde_json::Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(document, |v, key| v.get(key))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The prefecture a record is filed under: the head office's, else the office in Japan of a foreign
/// company, else what an extension block says.
fn prefecture_of(document: &serde_json::Value) -> Option<String> {
    text_at(document, &["Basic", "Destination", "Head office address1"])
        .or_else(|| {
            text_at(
                document,
                &["Basic", "Destination", "Branch office address1"],
            )
        })
        .or_else(|| extension_text(document, "prefectureName"))
}

/// The data's own update date, from an extension block (`x-nta.updateDate`).
fn updated_on(document: &serde_json::Value) -> Option<String> {
    extension_text(document, "updateDate")
}

fn extension_text(document: &serde_json::Value, key: &str) -> Option<String> {
    document.as_object()?.iter().find_map(|(name, block)| {
        name.starts_with("x-")
            .then(|| block.get(key)?.as_str().map(str::to_owned))
            .flatten()
    })
}

/// A record that describes a past state of its subject: an extension block says `latest` is `0`
/// (the NTA history rows). Such records are kept as history and never answer a lookup while a
/// current record exists.
pub fn is_past_state(document: &serde_json::Value) -> bool {
    document.as_object().is_some_and(|blocks| {
        blocks.iter().any(|(name, block)| {
            name.starts_with("x-")
                && matches!(
                    block.get("latest"),
                    Some(serde_json::Value::String(s)) if s == "0"
                )
                || name.starts_with("x-")
                    && block.get("latest") == Some(&serde_json::Value::Bool(false))
        })
    })
}

async fn publish(
    db: &DatabaseConnection,
    version: &dataset::Model,
    records: u64,
    rejects: u64,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    let previous = dataset::Entity::find()
        .filter(dataset::Column::Name.eq(version.name.clone()))
        .filter(dataset::Column::Status.eq("active"))
        .all(&txn)
        .await?;
    for old in previous {
        let mut old: dataset::ActiveModel = old.into();
        old.status = Set("superseded".to_owned());
        old.update(&txn).await?;
    }
    let mut new: dataset::ActiveModel = version.clone().into();
    new.status = Set("active".to_owned());
    new.records = Set(records as i64);
    new.rejects = Set(rejects as i64);
    new.published_at = Set(Some(jst::now_rfc3339()));
    new.update(&txn).await?;
    txn.commit().await
}

pub async fn fail(
    db: &DatabaseConnection,
    version: &dataset::Model,
    reason: &str,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    corporation_record::Entity::delete_many()
        .filter(corporation_record::Column::DatasetId.eq(version.id))
        .exec(&txn)
        .await?;
    let mut failed: dataset::ActiveModel = version.clone().into();
    failed.status = Set("failed".to_owned());
    failed.error = Set(Some(reason.to_owned()));
    failed.update(&txn).await?;
    txn.commit().await
}

/// The active version of `name`, if any.
pub async fn active(db: &DatabaseConnection, name: &str) -> Result<Option<dataset::Model>, DbErr> {
    dataset::Entity::find()
        .filter(dataset::Column::Name.eq(name))
        .filter(dataset::Column::Status.eq("active"))
        .order_by_desc(dataset::Column::Id)
        .one(db)
        .await
}

/// The record that states the current facts about `corporate_number` in the active version: the
/// last current record in load order, or the last record when only history exists.
pub async fn find(
    db: &DatabaseConnection,
    name: &str,
    corporate_number: &str,
) -> Result<Option<Found>, DbErr> {
    let Some(version) = active(db, name).await? else {
        return Ok(None);
    };
    let rows = corporation_record::Entity::find()
        .filter(corporation_record::Column::DatasetId.eq(version.id))
        .filter(corporation_record::Column::CorporateNumber.eq(corporate_number))
        .order_by_asc(corporation_record::Column::SourceId)
        .order_by_asc(corporation_record::Column::Line)
        .all(db)
        .await?;
    let chosen = rows
        .iter()
        .rev()
        .find(|r| r.current)
        .or_else(|| rows.last());
    let Some(row) = chosen else {
        return Ok(None);
    };
    let source = dataset_source::Entity::find_by_id(row.source_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("dataset_source {}", row.source_id)))?;
    let document = serde_json::from_str(&row.document)
        .map_err(|e| DbErr::Custom(format!("stored document: {e}")))?;
    Ok(Some(Found {
        document,
        line: row.line,
        dataset: version,
        source,
    }))
}

/// Some corporate numbers of the active version that have a current record (for the demo's hints).
pub async fn sample_numbers(
    db: &DatabaseConnection,
    name: &str,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    use sea_orm::QuerySelect;
    let Some(version) = active(db, name).await? else {
        return Ok(Vec::new());
    };
    let rows = corporation_record::Entity::find()
        .filter(corporation_record::Column::DatasetId.eq(version.id))
        .filter(corporation_record::Column::Current.eq(true))
        .order_by_asc(corporation_record::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.corporate_number).collect())
}

/// Filters of a listing; each is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub name_prefix: Option<String>,
    /// A prefecture name (都道府県).
    pub prefecture: Option<String>,
    /// YYYY-MM-DD: records whose own update date is on or after it.
    pub changed_since: Option<String>,
}

/// One page of a listing of the active version, in corporate-number order.
#[derive(Debug, Clone)]
pub struct Listed {
    pub dataset: dataset::Model,
    pub total: u64,
    pub items: Vec<Found>,
}

/// The current record of each number matching `filter`, `per_page` at a time (page 1 first).
pub async fn list(
    db: &DatabaseConnection,
    name: &str,
    filter: &ListFilter,
    page: u64,
    per_page: u64,
) -> Result<Option<Listed>, DbErr> {
    use sea_orm::{PaginatorTrait, QuerySelect, sea_query::LikeExpr};
    let Some(version) = active(db, name).await? else {
        return Ok(None);
    };
    let mut query = corporation_record::Entity::find()
        .filter(corporation_record::Column::DatasetId.eq(version.id))
        .filter(corporation_record::Column::Head.eq(true));
    if let Some(prefix) = &filter.name_prefix {
        let escaped: String = prefix
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        query = query.filter(
            corporation_record::Column::Name
                .like(LikeExpr::new(format!("{escaped}%")).escape('\\')),
        );
    }
    if let Some(prefecture) = &filter.prefecture {
        query = query.filter(corporation_record::Column::Prefecture.eq(prefecture.as_str()));
    }
    if let Some(since) = &filter.changed_since {
        query = query.filter(corporation_record::Column::UpdatedOn.gte(since.as_str()));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(corporation_record::Column::CorporateNumber)
        .order_by_asc(corporation_record::Column::Id)
        .offset(page.saturating_sub(1).saturating_mul(per_page))
        .limit(per_page)
        .all(db)
        .await?;
    let source_ids: Vec<i64> = rows.iter().map(|r| r.source_id).collect();
    let sources = dataset_source::Entity::find()
        .filter(dataset_source::Column::Id.is_in(source_ids))
        .all(db)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let source = sources
            .iter()
            .find(|s| s.id == row.source_id)
            .cloned()
            .ok_or_else(|| DbErr::RecordNotFound(format!("dataset_source {}", row.source_id)))?;
        let document = serde_json::from_str(&row.document)
            .map_err(|e| DbErr::Custom(format!("stored document: {e}")))?;
        items.push(Found {
            document,
            line: row.line,
            dataset: version.clone(),
            source,
        });
    }
    Ok(Some(Listed {
        dataset: version,
        total,
        items,
    }))
}

#[cfg(test)]
mod tests {
    use super::is_past_state;
    use serde_json::json;

    #[test]
    fn dataset_names_are_plain() {
        assert!(super::check_name("nta-corporations").is_ok());
        assert!(super::check_name("jgrants_2024.v2").is_ok());
        for bad in ["", "-x", "Upper", "weird name/../x", &"a".repeat(65)] {
            assert!(super::check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn past_state_is_read_from_extension_blocks() {
        assert!(is_past_state(
            &json!({"Basic": {}, "x-nta": {"latest": "0"}})
        ));
        assert!(!is_past_state(
            &json!({"Basic": {}, "x-nta": {"latest": "1"}})
        ));
        assert!(!is_past_state(&json!({"Basic": {}, "x-nta": {}})));
        assert!(!is_past_state(&json!({"Basic": {"latest": "0"}})));
    }
}
