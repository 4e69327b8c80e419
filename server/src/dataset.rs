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
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::{
    io::Read,
    path::{Path, PathBuf},
};
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
    check_name(name)?;
    let version = dataset::ActiveModel {
        name: Set(name.to_owned()),
        status: Set("loading".to_owned()),
        plugin_digest: Set(plugin.digest().to_owned()),
        records: Set(0),
        rejects: Set(0),
        created_at: Set(jst::now_rfc3339()),
        ..Default::default()
    }
    .insert(db)
    .await?;

    match load_sources(db, plugin, version.id, files).await {
        Ok(sources) => {
            let records = sources.iter().map(|s| s.records).sum();
            let rejects = sources.iter().map(|s| s.rejects).sum();
            publish(db, &version, records, rejects).await?;
            Ok(LoadReport {
                dataset: name.to_owned(),
                version: version.id,
                plugin_digest: plugin.digest().to_owned(),
                records,
                rejects,
                sources,
            })
        }
        Err(e) => {
            fail(db, &version, &e.to_string()).await?;
            Err(e)
        }
    }
}

async fn load_sources(
    db: &DatabaseConnection,
    plugin: &Plugin,
    dataset_id: i64,
    files: &[PathBuf],
) -> Result<Vec<SourceReport>, DatasetError> {
    let mut reports = Vec::new();
    for path in files {
        reports.push(load_source(db, plugin, dataset_id, path).await?);
    }
    Ok(reports)
}

async fn load_source(
    db: &DatabaseConnection,
    plugin: &Plugin,
    dataset_id: i64,
    path: &Path,
) -> Result<SourceReport, DatasetError> {
    let shown = path.display().to_string();
    let input_error = |reason: String| DatasetError::Input {
        path: shown.clone(),
        reason,
    };
    let (sha256, bytes) = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || sha256_file(&path))
            .await
            .map_err(|e| input_error(e.to_string()))?
            .map_err(|e| input_error(e.to_string()))?
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let source = dataset_source::ActiveModel {
        dataset_id: Set(dataset_id),
        file_name: Set(file_name.clone()),
        sha256: Set(sha256.clone()),
        bytes: Set(bytes as i64),
        records: Set(0),
        rejects: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await?;

    // The plugin runs on a blocking thread; batches come back through a bounded channel so memory
    // stays flat however large the file is.
    let (tx, mut rx) = mpsc::channel::<(Vec<Converted>, Vec<Rejected>)>(4);
    let file = std::fs::File::open(path).map_err(|e| input_error(e.to_string()))?;
    let plugin_for_task = plugin.clone();
    let conversion = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
        let mut sink = ChannelSink { tx };
        plugin_for_task.convert(&mut reader as &mut dyn Read, &[], &mut sink)
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
        store_batch(db, dataset_id, source.id, batch, rejected).await?;
    }
    let report = conversion
        .await
        .map_err(|e| input_error(e.to_string()))?
        .map_err(|source| {
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
    let mut update: dataset_source::ActiveModel = source.into();
    update.as_of = Set(as_of.clone());
    update.records = Set(records as i64);
    update.rejects = Set(rejects as i64);
    update.update(db).await?;
    Ok(SourceReport {
        file: file_name,
        sha256,
        bytes,
        as_of,
        records,
        rejects,
        first_rejects,
    })
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
    // SQLite caps bound parameters per statement; 7 columns × 500 rows stays well under it.
    for chunk in records.chunks(500) {
        let rows = chunk.iter().map(|r| corporation_record::ActiveModel {
            dataset_id: Set(dataset_id),
            source_id: Set(source_id),
            corporate_number: Set(r.key.clone()),
            line: Set(r.line as i64),
            current: Set(!is_past_state(&r.document)),
            document: Set(r.document.to_string()),
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

async fn fail(
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

fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
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
