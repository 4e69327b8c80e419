//! Throw-away databases for tests: a private SQLite memory database, or a uniquely named PostgreSQL database dropped afterwards.
//!
//! PostgreSQL is used when `RENKEI_TEST_POSTGRES_URL` names a server (`scripts/postgres.sh` prints one);
//! without it those tests are skipped, except in CI (`CI=true`), where a missing server is a failure.

use sea_orm::{ConnectionTrait, Database};

/// The server the PostgreSQL variants of the storage tests use, e.g. `postgres://user:pw@127.0.0.1:5432`.
pub const POSTGRES_ENV: &str = "RENKEI_TEST_POSTGRES_URL";

/// One database for one test. Keep it alive for the whole test: dropping it drops a PostgreSQL database.
pub struct ScratchDatabase {
    /// What `storage::open` takes.
    pub url: String,
    pub backend: &'static str,
    /// `(maintenance-database URL, database name)` to drop afterwards.
    postgres: Option<(String, String)>,
}

impl ScratchDatabase {
    pub fn sqlite() -> ScratchDatabase {
        ScratchDatabase {
            url: "sqlite::memory:".to_owned(),
            backend: "sqlite",
            postgres: None,
        }
    }

    /// A fresh, empty database on the test server; `None` (skip) when no server is configured outside CI.
    ///
    /// # Panics
    /// When `CI=true` and no server is configured, or when the server refuses to create the database:
    /// a test that silently did not run on PostgreSQL must never pass in CI.
    pub async fn postgres() -> Option<ScratchDatabase> {
        let server = match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.trim().is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{POSTGRES_ENV} is not set in CI: run the tests through scripts/test.sh")
            }
            _ => {
                eprintln!("skipped on PostgreSQL: {POSTGRES_ENV} is not set");
                return None;
            }
        };
        Some(Self::create_on(&server).await)
    }

    /// Creates `renkei_test_<uuid>` on the server at `server` (any database path in it is ignored).
    pub async fn create_on(server: &str) -> ScratchDatabase {
        let base = server_base(server);
        let name = format!("renkei_test_{}", uuid::Uuid::new_v4().simple());
        let admin_url = format!("{base}/postgres");
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL server: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        let _ = admin.close().await;
        ScratchDatabase {
            url: format!("{base}/{name}"),
            backend: "postgres",
            postgres: Some((admin_url, name)),
        }
    }
}

/// `scheme://user:pw@host:port` without any database path or query.
fn server_base(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?']) {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread with its own.
        // FORCE ends the test's own pooled connections, which may outlive this value.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                admin.close().await?;
                Ok::<_, sea_orm::DbErr>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            // Left for scripts/postgres.sh, which drops idle test databases at its next run.
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

/// Runs each listed `async fn name(db: ScratchDatabase)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_each_backend {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::storage::scratch::ScratchDatabase::sqlite()).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = $crate::storage::scratch::ScratchDatabase::postgres().await {
                        super::$test(db).await
                    }
                }
            )+
        }
    };
}

#[cfg(test)]
mod tests {
    use super::server_base;

    #[test]
    fn the_server_part_of_a_url_is_kept() {
        assert_eq!(
            server_base("postgres://u:p@127.0.0.1:5432"),
            "postgres://u:p@127.0.0.1:5432"
        );
        assert_eq!(
            server_base("postgres://u:p@127.0.0.1:5432/renkei?sslmode=disable"),
            "postgres://u:p@127.0.0.1:5432"
        );
    }
}
