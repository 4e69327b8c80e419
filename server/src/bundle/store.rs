//! A node's installed bundle: the last good one, persisted to disk, replaced only by a verified newer one.

use super::{BundleError, Clock, NodeBundle, unix_now, verify};
use crate::storage::entity::node_bundle_event;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, QueryOrder, QuerySelect};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

/// A bundle the node accepted, with the exact JWS it came as (what is persisted and can be re-checked).
#[derive(Debug)]
pub struct Installed {
    pub bundle: NodeBundle,
    pub jws: String,
}

/// Why the node has no bundle it may serve on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// None was ever installed.
    Missing,
    /// The last good one expired (unix seconds): fail closed until a new one arrives.
    Expired(i64),
}

/// Where a bundle came from, as the event log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Fetched from the portal.
    Poll,
    /// The node's persisted file (at start, or written by `renkei bundle install`).
    File,
    /// `POST /admin/bundle`.
    Admin,
    /// `renkei bundle install`.
    Cli,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Poll => "poll",
            Source::File => "file",
            Source::Admin => "admin",
            Source::Cli => "cli",
        }
    }
}

/// What `/admin/status` and `renkei bundle status` report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub state: &'static str,
    pub warning: Option<String>,
    pub version: Option<u64>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
}

pub struct BundleStore {
    anchor: String,
    audience: String,
    file: PathBuf,
    db: DatabaseConnection,
    current: RwLock<Option<Arc<Installed>>>,
    /// Serialises installs so two sources cannot both pass the version check with the same version.
    installing: tokio::sync::Mutex<()>,
}

impl BundleStore {
    /// Opens the store and reloads the persisted bundle, if any. Its validity window is not checked here:
    /// an expired bundle is kept so the node can say `bundle_expired` rather than pretend it never had one.
    pub async fn open(
        anchor: &str,
        audience: &str,
        file: &Path,
        db: DatabaseConnection,
    ) -> BundleStore {
        let store = BundleStore {
            anchor: anchor.to_owned(),
            audience: audience.to_owned(),
            file: file.to_owned(),
            db,
            current: RwLock::new(None),
            installing: tokio::sync::Mutex::new(()),
        };
        if let Ok(jws) = std::fs::read_to_string(file) {
            match verify(&jws, &store.anchor, &store.audience, None, Clock::Ignore) {
                Ok(bundle) => {
                    *store.current.write().unwrap_or_else(|p| p.into_inner()) =
                        Some(Arc::new(Installed {
                            bundle,
                            jws: jws.trim().to_owned(),
                        }));
                }
                Err(e) => store.record_refusal(Source::File, &e).await,
            }
        }
        store
    }

    pub fn current(&self) -> Option<Arc<Installed>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The bundle to serve on now, or why there is none.
    pub fn usable(&self, now: i64) -> Result<Arc<Installed>, Unusable> {
        let current = self.current().ok_or(Unusable::Missing)?;
        if now >= current.bundle.expires_at {
            return Err(Unusable::Expired(current.bundle.expires_at));
        }
        Ok(current)
    }

    /// How the installed bundle stands: `ok`, `warning` (half its lifetime gone without renewal),
    /// `expired` or `missing`, with the warning a node operator should read.
    pub fn health(&self, now: i64) -> Health {
        let (state, warning) = match self.usable(now) {
            Ok(b) if b.bundle.past_half_life(now) => (
                "warning",
                Some(format!(
                    "the bundle was issued {} s ago and has not been renewed: it expires in {} s, then this node refuses every exchange",
                    now - b.bundle.issued_at,
                    b.bundle.expires_at - now
                )),
            ),
            Ok(_) => ("ok", None),
            Err(Unusable::Missing) => (
                "missing",
                Some("no bundle installed: this node refuses every exchange".to_owned()),
            ),
            Err(Unusable::Expired(at)) => (
                "expired",
                Some(format!(
                    "the bundle expired {} s ago: this node refuses every exchange until a new one is installed",
                    now - at
                )),
            ),
        };
        let current = self.current();
        Health {
            state,
            warning,
            version: current.as_ref().map(|c| c.bundle.version),
            issued_at: current.as_ref().map(|c| c.bundle.issued_at),
            expires_at: current.as_ref().map(|c| c.bundle.expires_at),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Verifies `jws` and, if it is good and newer, installs and persists it. A refusal keeps the
    /// installed bundle, is logged with its code and recorded as an event.
    pub async fn install(&self, jws: &str, source: Source) -> Result<Arc<Installed>, BundleError> {
        self.install_then(jws, source, |_| {}).await
    }

    /// [`install`](Self::install), running `before_publish` on the verified bundle before any reader
    /// can see it (the node loads the peers' keys there, so a caller the bundle admits is never
    /// refused as unknown in between).
    pub async fn install_then(
        &self,
        jws: &str,
        source: Source,
        before_publish: impl FnOnce(&NodeBundle),
    ) -> Result<Arc<Installed>, BundleError> {
        let _guard = self.installing.lock().await;
        let previous = self.current();
        let result = verify(
            jws,
            &self.anchor,
            &self.audience,
            previous.as_ref().map(|p| p.bundle.version),
            Clock::At(unix_now()),
        );
        let bundle = match result {
            Ok(b) => b,
            Err(e) => {
                self.record_refusal(source, &e).await;
                return Err(e);
            }
        };
        let installed = Arc::new(Installed {
            bundle,
            jws: jws.trim().to_owned(),
        });
        if let Err(e) = persist(&self.file, &installed.jws) {
            // Still serve on it: losing the file only costs a refetch after a restart.
            tracing::warn!(file = %self.file.display(), error = %e, "bundle not persisted");
        }
        before_publish(&installed.bundle);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(installed.clone());
        // Re-issues that only move the version and the validity window are not worth an event each poll.
        let changed = previous
            .as_ref()
            .is_none_or(|p| !same_content(&p.bundle, &installed.bundle));
        if changed || source != Source::Poll {
            tracing::info!(
                version = installed.bundle.version,
                source = source.as_str(),
                "bundle installed"
            );
            self.record(
                source,
                Some(installed.bundle.version),
                "installed",
                None,
                "",
            )
            .await;
        }
        Ok(installed)
    }

    async fn record_refusal(&self, source: Source, e: &BundleError) {
        tracing::warn!(code = e.code(), source = source.as_str(), error = %e, "bundle refused");
        let version = match e {
            BundleError::Rollback { got, .. } => Some(*got),
            _ => None,
        };
        self.record(source, version, "refused", Some(e.code()), &e.to_string())
            .await;
    }

    async fn record(
        &self,
        source: Source,
        version: Option<u64>,
        outcome: &str,
        code: Option<&str>,
        message: &str,
    ) {
        let row = node_bundle_event::ActiveModel {
            id: Default::default(),
            time: Set(crate::jst::now_rfc3339()),
            source: Set(source.as_str().to_owned()),
            version: Set(version.map(|v| v as i64)),
            outcome: Set(outcome.to_owned()),
            code: Set(code.map(str::to_owned)),
            message: Set(message.to_owned()),
        };
        if let Err(e) = node_bundle_event::Entity::insert(row).exec(&self.db).await {
            tracing::error!(error = %e, "bundle event not recorded");
        }
    }

    /// Newest first.
    pub async fn events(
        &self,
        limit: u64,
    ) -> Result<Vec<node_bundle_event::Model>, sea_orm::DbErr> {
        node_bundle_event::Entity::find()
            .order_by_desc(node_bundle_event::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
    }
}

fn same_content(a: &NodeBundle, b: &NodeBundle) -> bool {
    a.members == b.members
        && a.nodes == b.nodes
        && a.apis == b.apis
        && a.applications == b.applications
        && a.prior_consents == b.prior_consents
        && a.plugin_digests == b.plugin_digests
}

/// Writes the file through a temporary sibling and a rename, so a crash never leaves half a bundle.
fn persist(path: &Path, jws: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, jws)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{bundle::sign, keys::NodeKey};

    fn bundle(version: u64, lifetime: i64) -> NodeBundle {
        let now = unix_now();
        NodeBundle {
            issuer: crate::bundle::ISSUER.into(),
            audience: "provider".into(),
            version,
            issued_at: now,
            expires_at: now + lifetime,
            members: vec![],
            nodes: vec![],
            apis: vec![],
            applications: vec![],
            prior_consents: vec![],
            plugin_digests: vec![],
        }
    }

    #[tokio::test]
    async fn a_refusal_keeps_the_last_good_bundle_and_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bundle.jws");
        let db = crate::storage::open("sqlite::memory:").await.unwrap();
        let portal = NodeKey::generate();
        let store = BundleStore::open(&portal.public_b64(), "provider", &file, db.clone()).await;
        assert_eq!(store.usable(unix_now()).unwrap_err(), Unusable::Missing);

        store
            .install(&sign(&portal, &bundle(2, 60)), Source::Admin)
            .await
            .unwrap();
        let refused = store
            .install(&sign(&portal, &bundle(1, 60)), Source::Admin)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "bundle_rollback");
        assert_eq!(store.usable(unix_now()).unwrap().bundle.version, 2);
        let events = store.events(10).await.unwrap();
        assert_eq!(events[0].outcome, "refused");
        assert_eq!(events[0].code.as_deref(), Some("bundle_rollback"));
        assert_eq!(events[0].version, Some(1));
        assert_eq!(events[1].outcome, "installed");

        // Reopened from disk, the node has the same bundle.
        let again = BundleStore::open(&portal.public_b64(), "provider", &file, db).await;
        assert_eq!(again.current().unwrap().bundle.version, 2);
    }
}
