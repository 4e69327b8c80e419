//! Node configuration: read from TOML with `RENKEI_NODE_*` environment overrides, then checked as a
//! whole before anything starts, so every mistake is reported at once with the field it is in.

use super::NodeConfig;
use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// The prefix of environment overrides: `RENKEI_NODE_DATABASE_URL` sets `database_url`, and a double
/// underscore goes one table down (`RENKEI_NODE_PROVIDER__API__DATASET`).
pub const ENV_PREFIX: &str = "RENKEI_NODE_";

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// The file (or an override) does not match the configuration's shape.
    #[error("{0}")]
    Shape(String),
    /// It parses, but some values cannot work; each names its field.
    #[error("{} problem(s) in {}:\n{}", .problems.len(), .path.display(), list(.problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One value that cannot work, and where it is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// Reads `path`, applies the environment's overrides (`vars`, normally `std::env::vars()`), and checks
/// the result.
pub fn load(
    path: &Path,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<NodeConfig, ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::File {
            path: path.to_owned(),
            reason: "no such file".into(),
        });
    }
    let mut figment = Figment::from(Toml::file_exact(path));
    for (var, value) in vars {
        if let Some(rest) = var.strip_prefix(ENV_PREFIX)
            && !rest.is_empty()
        {
            let key = rest.to_ascii_lowercase().replace("__", ".");
            figment = figment.merge(Override { var, key, value });
        }
    }
    let config: NodeConfig = figment
        .extract()
        // figment names keys with their profile ("default.listen"); a node has one profile.
        .map_err(|e| {
            ConfigError::Shape(e.to_string().replace("for key \"default.", "for key \""))
        })?;
    let problems = check(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }
}

/// One `RENKEI_NODE_*` variable; its value is read as TOML would read it (numbers, booleans,
/// arrays), else as a string. Errors in it name the variable.
struct Override {
    var: String,
    key: String,
    value: String,
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variable {}", self.var))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let value: Value = self.value.parse().unwrap_or_else(|e| match e {});
        let dict = figment::util::nest(&self.key, value)
            .into_dict()
            .ok_or_else(|| figment::Error::from(format!("{}: empty key", self.var)))?;
        Ok(Profile::Default.collect(dict))
    }
}

/// Every value that cannot work. Files that the node makes at first start (its key, the bundle)
/// may be missing, but their folder must exist or be creatable.
pub fn check(config: &NodeConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, message: String| {
        problems.push(Problem {
            field: field.to_owned(),
            message,
        })
    };
    if config.client_id.trim().is_empty() {
        bad("client_id", "must not be empty".into());
    }
    if config.listen.parse::<SocketAddr>().is_err() {
        bad(
            "listen",
            format!(
                "{:?} is not an address with a port, e.g. 0.0.0.0:8102",
                config.listen
            ),
        );
    }
    let db = config.database_url.as_str();
    if !(db.starts_with("sqlite:")
        || db.starts_with("postgres://")
        || db.starts_with("postgresql://"))
    {
        bad(
            "database_url",
            "must start with sqlite: or postgres:// (the URL itself is not shown: it may hold a password)"
                .into(),
        );
    }
    if config.key_file.exists() {
        if let Err(e) = crate::keys::NodeKey::load_or_generate(&config.key_file) {
            bad("key_file", e.to_string());
        }
    } else if let Some(reason) = unwritable_parent(&config.key_file) {
        bad("key_file", reason);
    }
    if let Some(url) = &config.portal_url {
        check_url(&mut bad, "portal_url", url);
    }
    if let Some(key) = &config.portal_public_key
        && crate::keys::decoding_key(key).is_err()
    {
        bad(
            "portal_public_key",
            "not a base64url Ed25519 public key (32 bytes)".into(),
        );
    }
    if config.portal_public_key.is_some() && config.portal_url.is_none() {
        bad(
            "portal_url",
            "needed with portal_public_key: bundles are fetched from the portal".into(),
        );
    }
    if config.bundle_poll_ms < 1_000 {
        bad("bundle_poll_ms", "at least 1000 (one second)".into());
    }
    if let Some(hash) = &config.admin_password_hash
        && argon2::PasswordHash::new(hash).is_err()
    {
        bad(
            "admin_password_hash",
            "not an Argon2 PHC string (make one with `renkei hash-password`)".into(),
        );
    }
    if config.provider.is_none() && config.requester.is_none() {
        bad(
            "provider / requester",
            "a node needs a [provider] or a [requester] table (or both)".into(),
        );
    }
    if let Some(provider) = &config.provider {
        if provider.api.scopes.is_empty() {
            bad("provider.api.scopes", "lists no scope".into());
        }
        for (i, client) in provider.clients.iter().enumerate() {
            if crate::keys::decoding_key(&client.public_key).is_err() {
                bad(
                    &format!("provider.clients[{i}].public_key"),
                    format!("{}: not a base64url Ed25519 public key", client.client_id),
                );
            }
        }
    }
    if let Some(requester) = &config.requester {
        let mut seen = std::collections::HashSet::new();
        for (i, system) in requester.systems.iter().enumerate() {
            if !seen.insert(system.user.as_str()) {
                bad(
                    &format!("requester.systems[{i}].user"),
                    format!("{:?} is listed twice", system.user),
                );
            }
            if argon2::PasswordHash::new(&system.password_hash).is_err() {
                bad(
                    &format!("requester.systems[{i}].password_hash"),
                    "not an Argon2 PHC string (make one with `renkei hash-password`)".into(),
                );
            }
        }
        for (i, provider) in requester.providers.iter().enumerate() {
            check_url(
                &mut bad,
                &format!("requester.providers[{i}].endpoint"),
                &provider.endpoint,
            );
        }
        for (i, origin) in requester.cors_origins.iter().enumerate() {
            if let Err(why) = check_origin(origin) {
                bad(&format!("requester.cors_origins[{i}]"), why);
            }
        }
        if let Some(consent) = &requester.consent {
            check_url(&mut bad, "requester.consent.issuer", &consent.issuer);
            check_url(
                &mut bad,
                "requester.consent.redirect_uri",
                &consent.redirect_uri,
            );
        }
    }
    if let Some(connectbox) = &config.connectbox {
        if let Some(reason) = unwritable_dir(&connectbox.data_dir) {
            bad("connectbox.data_dir", reason);
        }
        let uploaders: std::collections::HashSet<&str> = connectbox
            .uploaders
            .iter()
            .map(|u| u.user.as_str())
            .collect();
        for (i, dataset) in connectbox.datasets.iter().enumerate() {
            if !dataset.plugin.is_file() {
                bad(
                    &format!("connectbox.datasets[{i}].plugin"),
                    format!("{}: no such file", dataset.plugin.display()),
                );
            }
            for writer in &dataset.writers {
                if !uploaders.contains(writer.as_str()) {
                    bad(
                        &format!("connectbox.datasets[{i}].writers"),
                        format!("{writer:?} is not among connectbox.uploaders"),
                    );
                }
            }
        }
    }
    if let Some(tls) = &config.tls
        && let Err(e) = crate::tls::server_config(tls)
    {
        bad("tls", e.to_string());
    }
    if let Some(ca) = &config.peer_ca_file
        && let Err(e) = crate::tls::certificates(ca)
    {
        bad("peer_ca_file", e.to_string());
    }
    problems
}

fn check_url(bad: &mut impl FnMut(&str, String), field: &str, value: &str) {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => bad(field, format!("{value:?} is not an http(s) URL")),
    }
}

/// A browser origin: `http(s)://host[:port]`, nothing after it (browsers send it exactly so).
fn check_origin(value: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "{value:?} is not an origin such as https://portal.example.jp (scheme, host and port only)"
        )
    };
    let url = reqwest::Url::parse(value).map_err(|_| bad())?;
    let exact = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || exact != value {
        return Err(bad());
    }
    Ok(())
}

/// Why a file cannot be created at `path`, if it cannot.
fn unwritable_parent(path: &Path) -> Option<String> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    unwritable_dir(parent)
}

fn unwritable_dir(dir: &Path) -> Option<String> {
    // The nearest folder that exists decides: the node creates the missing ones under it.
    let mut existing = dir;
    while !existing.exists() {
        existing = existing.parent().filter(|p| !p.as_os_str().is_empty())?;
    }
    if !existing.is_dir() {
        return Some(format!("{} is not a folder", existing.display()));
    }
    match std::fs::metadata(existing) {
        Ok(meta) if meta.permissions().readonly() => {
            Some(format!("{} is read-only", existing.display()))
        }
        Ok(_) => None,
        Err(e) => Some(format!("{}: {e}", existing.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("node.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn good(dir: &Path) -> String {
        format!(
            r#"
client_id = "requester-a"
organisation = "A"
listen = "127.0.0.1:8101"
database_url = "sqlite://{db}?mode=rwc"
key_file = "{key}"

[requester]
systems = [{{ user = "sys", password_hash = "{hash}" }}]
"#,
            db = dir.join("node.db").display(),
            key = dir.join("keys/node.key.pem").display(),
            hash = crate::password::hash("a long enough password"),
        )
    }

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn a_good_file_loads_and_the_environment_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &good(dir.path()));
        let config = load(&path, no_env()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8101");
        assert_eq!(config.bundle_poll_ms, 30_000);
        let env = vec![
            ("RENKEI_NODE_LISTEN".to_owned(), "0.0.0.0:9000".to_owned()),
            ("RENKEI_NODE_BUNDLE_POLL_MS".to_owned(), "5000".to_owned()),
            ("OTHER_LISTEN".to_owned(), "ignored".to_owned()),
        ];
        let config = load(&path, env).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.bundle_poll_ms, 5000);
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let text = good(dir.path())
            .replace("127.0.0.1:8101", "localhost")
            .replace("sqlite://", "mysql://")
            .replace("$argon2id$", "plain-password");
        let text = format!(
            "portal_public_key = \"not-a-key\"\nbundle_poll_ms = 10\n{text}\n[[requester.providers]]\nclient_id = \"p\"\nendpoint = \"ftp://x\"\n"
        );
        let path = write(dir.path(), &text);
        let Err(ConfigError::Invalid { problems, .. }) = load(&path, no_env()) else {
            panic!("expected problems");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "listen",
                "database_url",
                "portal_public_key",
                "portal_url",
                "bundle_poll_ms",
                "requester.systems[0].password_hash",
                "requester.providers[0].endpoint",
            ]
        );
        // The database URL may carry a password: it is never echoed.
        assert!(!problems[1].message.contains("mysql"));
    }

    #[test]
    fn shape_errors_name_the_key_and_where_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            &format!("{}\nlisten_port = 1\n", good(dir.path())),
        );
        let err = load(&path, no_env()).unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
        assert!(err.contains("node.toml"), "{err}");

        let path = write(dir.path(), &good(dir.path()));
        let env = vec![("RENKEI_NODE_BUNDLE_POLL_MS".to_owned(), "soon".to_owned())];
        let err = load(&path, env).unwrap_err().to_string();
        assert!(err.contains("RENKEI_NODE_BUNDLE_POLL_MS"), "{err}");
        assert!(err.contains("bundle_poll_ms"), "{err}");

        let missing = load(&dir.path().join("absent.toml"), no_env()).unwrap_err();
        assert!(missing.to_string().contains("absent.toml: no such file"));
    }

    #[test]
    fn cors_origins_must_be_bare_origins() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{}cors_origins = [\"http://127.0.0.1:3000\", \"https://portal.example.jp\", \"https://portal.example.jp/\", \"https://x.jp/path\", \"*\", \"ftp://x.jp\"]\n",
            good(dir.path())
        );
        let path = write(dir.path(), &text);
        let Err(ConfigError::Invalid { problems, .. }) = load(&path, no_env()) else {
            panic!("expected problems");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "requester.cors_origins[2]",
                "requester.cors_origins[3]",
                "requester.cors_origins[4]",
                "requester.cors_origins[5]",
            ]
        );
        let path = write(
            dir.path(),
            &format!(
                "{}cors_origins = [\"http://127.0.0.1:3000\"]\n",
                good(dir.path())
            ),
        );
        let config = load(&path, no_env()).unwrap();
        assert_eq!(
            config.requester.unwrap().cors_origins,
            ["http://127.0.0.1:3000"]
        );
    }

    #[test]
    fn a_node_without_a_role_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = good(dir.path());
        let text = &text[..text.find("[requester]").unwrap()];
        let path = write(dir.path(), text);
        let Err(ConfigError::Invalid { problems, .. }) = load(&path, no_env()) else {
            panic!("expected problems");
        };
        assert_eq!(problems[0].field, "provider / requester");
    }
}
