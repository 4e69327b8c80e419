//! Storage: connects to SQLite (embedded default) or PostgreSQL, runs the migrations, owns the entities.

pub mod entity;
pub mod migration;
pub mod scratch;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;
use std::{path::Path, time::Duration};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database {url}")]
    Connect { url: String, source: DbErr },
    #[error("migrating database {url}")]
    Migrate { url: String, source: DbErr },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The URL of an SQLite file, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Opens a database by URL and brings its schema up to date.
pub async fn open(url: &str) -> Result<DatabaseConnection, StorageError> {
    let db = connect(url).await?;
    migration::Migrator::up(&db, None)
        .await
        .map_err(|source| StorageError::Migrate {
            url: redact(url),
            source,
        })?;
    Ok(db)
}

/// Connects without touching the schema (audits and exports read a database as it is).
pub async fn connect(url: &str) -> Result<DatabaseConnection, StorageError> {
    // An SQLite file that does not exist yet is created (the embedded default), unless the URL says otherwise.
    let url = &if url.starts_with("sqlite://") && !url.contains("mode=") {
        format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
    } else {
        url.to_owned()
    };
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite:") { 4 } else { 16 })
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .map_err(|source| StorageError::Connect {
            url: redact(url),
            source,
        })?;
    if url.starts_with("sqlite:") {
        // WAL lets the node answer reads while a dataset load writes.
        use sea_orm::ConnectionTrait;
        db.execute_unprepared(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .await?;
    }
    Ok(db)
}

/// Hides a password in a database URL before it reaches a log or an error.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://renkei:s3cret@db/renkei"),
            "postgres://renkei:***@db/renkei"
        );
        assert_eq!(redact("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
    }

    async fn migrations_run_twice(db: scratch::ScratchDatabase) {
        let conn = open(&db.url).await.expect("first open");
        migration::Migrator::up(&conn, None)
            .await
            .expect("idempotent");
        let applied: Vec<String> = migration::Migrator::get_applied_migrations(&conn)
            .await
            .expect("migration table")
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let known: Vec<String> = migration::Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert_eq!(applied, known, "{}", db.backend);
        let schema = sea_orm_migration::SchemaManager::new(&conn);
        for table in [
            "dataset",
            "dataset_source",
            "corporation_record",
            "dataset_reject",
            "exchange_record",
            "portal_exchange",
            "portal_api",
            "portal_node",
        ] {
            assert!(
                schema.has_table(table).await.expect("has_table"),
                "{table} on {}",
                db.backend
            );
        }
    }

    crate::on_each_backend!(migrations_run_twice);
}
