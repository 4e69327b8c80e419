//! The `renkei` command: demo, portal, node, plugin tools, dataset loading and benchmarks.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use renkei::{dataset, demo, node, plugin_host::PluginHost, portal, storage};
use std::{io::Write, path::PathBuf};

#[derive(Parser)]
#[command(
    name = "renkei",
    version,
    about = "renkei (連携): once-only corporate data exchange — portal, nodes, ConnectBox, plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Portal + provider node (real NTA data through the WASM plugin) + requester node, on loopback.
    Demo {
        /// Where the SQLite files, keys, credentials and demo.json live.
        #[arg(long, default_value = "renkei-data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 3000)]
        portal_port: u16,
        #[arg(long, default_value_t = 8101)]
        requester_port: u16,
        #[arg(long, default_value_t = 8102)]
        provider_port: u16,
        /// The repository checkout (for the plugin, the data files and the browser bundle).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Every listener on HTTPS, with a private CA made at first start (`<data-dir>/tls/ca.pem`).
        #[arg(long)]
        tls: bool,
    },
    /// Run the portal alone.
    Portal {
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: String,
        #[arg(
            long,
            env = "RENKEI_DATABASE_URL",
            default_value = "sqlite://renkei-data/portal.db?mode=rwc"
        )]
        database_url: String,
        #[arg(long, default_value = "renkei-data/portal.key.pem")]
        key_file: PathBuf,
        #[arg(long, default_value = "target/site")]
        site_root: PathBuf,
        /// Validity of the node configuration bundles the portal signs, in seconds.
        #[arg(long, default_value_t = portal::DEFAULT_BUNDLE_LIFETIME_SECS)]
        bundle_lifetime_secs: i64,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Months of collected exchange records kept (the current month counts as one); 0 keeps all.
        #[arg(long, env = "RENKEI_LOG_RETENTION_MONTHS", default_value_t = renkei::node::default_retention_months())]
        log_retention_months: u32,
    },
    /// Run a node from its TOML configuration.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
    /// Check a node's configuration (TOML plus `RENKEI_NODE_*` overrides) without starting it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Signed node configuration bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Converter plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Datasets served by a provider node.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// ConnectBox: upload files that the provider node converts into its dataset.
    #[command(subcommand)]
    Connectbox(ConnectboxCommand),
    /// Benchmarks that print ratios against a reference measured in the same run.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// A node's exchange log: verify its hash chain, export it.
    #[command(subcommand)]
    Log(LogCommand),
    /// Print a node's public key (base64url, as the registry stores it), generating the key if missing.
    PublicKey {
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Read a password from standard input and print its Argon2id hash (for `[requester].systems`).
    HashPassword,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Read and check a node's configuration: exit 0 and print a summary (no secrets) when it can
    /// start, exit 1 and list every problem with its field otherwise.
    Check {
        #[arg(long)]
        node: PathBuf,
    },
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Verify a bundle file against the node's trust anchor and install it as the node's bundle
    /// (a running node picks it up within one poll). Exit non-zero with the refusal's code otherwise.
    Install {
        #[arg(long)]
        config: PathBuf,
        file: PathBuf,
    },
    /// Show the node's installed bundle: version, expiry, and a warning from half its lifetime on.
    /// Exits non-zero when the node has no usable bundle (missing or expired).
    Status {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Is FILE a valid converter component? Exit 0 if so, non-zero with the reason otherwise.
    Check { file: PathBuf },
    /// Convert a local file; standard-data records go to stdout as JSON lines, rejects and a summary to stderr.
    Run {
        #[arg(long)]
        plugin: PathBuf,
        #[arg(long)]
        input: PathBuf,
        /// Converter option NAME=VALUE (e.g. encoding=cp932); repeatable.
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
    },
    /// Run golden tests (a `plugin-tests.toml` manifest) in the sandbox; exit non-zero when a case fails.
    Test {
        #[arg(long)]
        plugin: PathBuf,
        /// The suite's manifest; the files it names are relative to it.
        manifest: PathBuf,
        /// Print the outcome as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DatasetCommand {
    /// Convert files through a plugin into a new version of a dataset and publish it atomically.
    Load {
        #[arg(long, env = "RENKEI_DATABASE_URL")]
        database_url: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        plugin: PathBuf,
        /// Input files, loaded in order (later rows win).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Check a node's hash chain from its database or an export. Prints the verified head (exit 0), or
    /// the first broken link with its seq and why: changed, replaced, removed, reordered, truncated
    /// (exit 1). Exit 2: the input could not be read.
    Verify {
        /// The node's database (as in its configuration). Read as it is: no migration runs.
        #[arg(long, required_unless_present = "file", conflicts_with = "file")]
        database_url: Option<String>,
        /// An export written by `renkei log export` (JSON lines).
        #[arg(long)]
        file: Option<PathBuf>,
        /// A head known from elsewhere (an earlier run's output), `SEQ:HASH`: also detects records
        /// removed from the end.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Drop the records of months older than N (the current month counts as one) that the portal has
    /// received, as the running node does daily with `[log] retention_months`. Undelivered records stay.
    Prune {
        #[arg(long, env = "RENKEI_DATABASE_URL")]
        database_url: String,
        /// Months kept; 0 keeps everything.
        #[arg(long)]
        months: u32,
    },
    /// Write every record of a node's log, in chain order, as JSON lines (after a first line
    /// `{"anchor": …}` when retention dropped the oldest records).
    Export {
        #[arg(long, env = "RENKEI_DATABASE_URL")]
        database_url: String,
        /// Default: standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Waits for SIGINT / SIGTERM, then lets the requests under way finish (within the grace period).
async fn stop_gracefully(what: &str, stop: &renkei::shutdown::Stop) -> anyhow::Result<()> {
    renkei::shutdown::signal().await;
    tracing::info!(component = what, "stopping: requests under way may finish");
    if stop.stop_and_wait(renkei::shutdown::GRACE).await {
        tracing::info!(component = what, "stopped");
    } else {
        tracing::warn!(
            component = what,
            "requests still under way after the grace period were cut"
        );
    }
    Ok(())
}

/// A command's own exit status; the command already printed why.
#[derive(Debug)]
struct Exit(u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Prints an input error and turns it into exit status 2.
fn unreadable(e: impl std::fmt::Display) -> anyhow::Error {
    eprintln!("error: {e}");
    Exit(2).into()
}

#[derive(Subcommand)]
enum ConnectboxCommand {
    /// Upload FILE (CSV, XML or ZIP) to a dataset and print the receipt as JSON once it is converted.
    Upload {
        /// The provider node, e.g. http://127.0.0.1:8102
        #[arg(long)]
        node: String,
        #[arg(long)]
        user: String,
        /// The environment variable that holds the uploader's password (never a command-line argument).
        #[arg(long)]
        password_env: String,
        #[arg(long)]
        dataset: String,
        /// CA certificates (PEM) to trust for an HTTPS node besides the system's (the demo's: tls/ca.pem).
        #[arg(long)]
        cacert: Option<PathBuf>,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// NTA conversion: the WASM plugin against the same parser compiled natively.
    Convert {
        #[arg(
            long,
            default_value = "target/wasm32-wasip2/release/nta_corporate_number.wasm"
        )]
        plugin: PathBuf,
        #[arg(long, default_value = "demo/data/nta_sabun_20210714.utf8.csv")]
        input: PathBuf,
        /// Rows to convert (the input's rows repeated).
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
    /// Portal catalogue search: seeds published APIs into a fresh database and prints p50 / p95.
    Catalogue {
        #[arg(long, default_value_t = 10_000)]
        apis: u64,
        /// Queries timed per kind of search.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// An empty database to use (e.g. PostgreSQL); a temporary SQLite file when left out.
        #[arg(long)]
        database_url: Option<String>,
    },
}

/// The bundle store of the node configured in `path`, as the running node sees it.
async fn open_bundle_store(
    path: &std::path::Path,
) -> anyhow::Result<(node::NodeConfig, renkei::bundle::store::BundleStore)> {
    let config = node::config::load(path, std::env::vars())?;
    let anchor = config
        .portal_public_key
        .clone()
        .context("the node configuration has no portal_public_key (trust anchor)")?;
    let db = storage::open(&config.database_url).await?;
    let store = renkei::bundle::store::BundleStore::open(
        &anchor,
        &config.client_id,
        &config.bundle_path(),
        db,
    )
    .await;
    Ok((config, store))
}

fn main() -> std::process::ExitCode {
    renkei::tls::install_crypto_provider();
    let subscriber = renkei::observability::subscriber(
        renkei::observability::LogFormat::from_env(),
        std::io::stderr,
    );
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("warning: a log subscriber was already installed");
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<Exit>() {
            Some(Exit(code)) => std::process::ExitCode::from(*code),
            None => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo {
            data_dir,
            portal_port,
            requester_port,
            provider_port,
            repo,
            tls,
        } => {
            let mut options = demo::DemoOptions::in_repo(&repo, data_dir);
            options.tls = tls;
            options.portal_port = portal_port;
            options.requester_port = requester_port;
            options.provider_port = provider_port;
            let demo = demo::start(options).await?;
            // Drops collected records of months the portal no longer keeps: at start, then daily.
            portal::retention::spawn(&demo.portal);
            if let Some(policy) = portal::uptime::UptimePolicy::from_env() {
                portal::uptime::spawn(demo.portal.clone(), policy, demo.info.ca_file.as_deref());
            }
            println!("{}", demo::banner(&demo.info, demo.load.as_ref()));
            renkei::shutdown::signal().await;
            eprintln!("stopping: requests under way may finish");
            let grace = renkei::shutdown::GRACE;
            // The requester first (no new exchanges start), then the provider and the portal.
            demo.requester.stop.stop_and_wait(grace).await;
            demo.provider.stop.stop_and_wait(grace).await;
            demo.portal.stop.stop_and_wait(grace).await;
            Ok(())
        }
        Command::Portal {
            listen,
            database_url,
            key_file,
            site_root,
            bundle_lifetime_secs,
            tls_cert,
            tls_key,
            log_retention_months,
        } => {
            let state = portal::PortalState::open(portal::PortalConfig {
                log_retention_months,
                listen: listen.clone(),
                database_url,
                key_file,
                site_root,
                bundle_lifetime_secs,
                accounts: renkei::accounts::AccountsConfig::default().from_env(),
                tls: match (tls_cert, tls_key) {
                    (Some(cert_file), Some(key_file)) => Some(renkei::tls::TlsFiles {
                        cert_file,
                        key_file,
                    }),
                    (None, None) => None,
                    _ => bail!("--tls-cert and --tls-key go together"),
                },
            })
            .await?;
            // renkei's own APIs are in the catalogue like any provider's.
            state.publish_own_apis().await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let scheme = if state.config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let addr = portal::serve_listener(state.clone(), listener).await?;
            println!("portal listening on {scheme}://{addr}/");
            portal::retention::spawn(&state);
            if let Some(policy) = portal::uptime::UptimePolicy::from_env() {
                portal::uptime::spawn(state.clone(), policy, None);
            }
            stop_gracefully("portal", &state.stop).await
        }
        Command::Node { config } => {
            let config = node::config::load(&config, std::env::vars())?;
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let state = node::NodeState::open(config).await?;
            let addr = node::serve(state.clone()).await?;
            println!("node listening on {scheme}://{addr}/");
            stop_gracefully("node", &state.stop).await
        }
        Command::Config(ConfigCommand::Check { node: path }) => {
            let config = node::config::load(&path, std::env::vars())?;
            let roles: Vec<&str> = [
                config.provider.as_ref().map(|_| "provider"),
                config.requester.as_ref().map(|_| "requester"),
                config.connectbox.as_ref().map(|_| "connectbox"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let summary = serde_json::json!({
                "file": path.display().to_string(),
                "client_id": config.client_id,
                "organisation": config.organisation,
                "listen": format!("{}://{}", if config.tls.is_some() { "https" } else { "http" }, config.listen),
                "roles": roles,
                "database": if config.database_url.starts_with("sqlite:") { "sqlite" } else { "postgres" },
                "trust_anchor": config.portal_public_key.is_some(),
                "portal_url": config.portal_url,
                "key_file": config.key_file.display().to_string(),
                "key_exists": config.key_file.exists(),
            });
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Command::Bundle(BundleCommand::Status { config }) => {
            let (_, store) = open_bundle_store(&config).await?;
            let health = store.health(renkei::bundle::unix_now());
            println!("{}", serde_json::to_string_pretty(&health)?);
            match health.state {
                "ok" | "warning" => Ok(()),
                other => bail!("no usable bundle ({other})"),
            }
        }
        Command::Bundle(BundleCommand::Install { config, file }) => {
            let (config, store) = open_bundle_store(&config).await?;
            let jws = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            match store
                .install(&jws, renkei::bundle::store::Source::Cli)
                .await
            {
                Ok(installed) => {
                    println!(
                        "installed bundle version {} for {} (expires at {}) into {}",
                        installed.bundle.version,
                        config.client_id,
                        installed.bundle.expires_at,
                        config.bundle_path().display()
                    );
                    Ok(())
                }
                Err(e) => anyhow::bail!("bundle refused ({}): {e}", e.code()),
            }
        }
        Command::Plugin(PluginCommand::Check { file }) => {
            let wasm =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let plugin = PluginHost::new(renkei::plugin_host::SandboxPolicy::default())?
                .load(&wasm)
                .with_context(|| format!("{} is not a usable converter", file.display()))?;
            let info = plugin.info();
            println!(
                "ok: {} {} (sha256 {}) accepts {:?}, produces {:?}",
                info.name,
                info.version,
                plugin.digest(),
                info.accepts,
                info.produces
            );
            Ok(())
        }
        Command::Plugin(PluginCommand::Run {
            plugin,
            input,
            options,
        }) => {
            let options = options
                .iter()
                .map(|o| match o.split_once('=') {
                    Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
                    None => bail!("--option {o:?} must be NAME=VALUE"),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let wasm =
                std::fs::read(&plugin).with_context(|| format!("reading {}", plugin.display()))?;
            let plugin =
                PluginHost::new(renkei::plugin_host::SandboxPolicy::default())?.load(&wasm)?;
            let mut file = std::fs::File::open(&input)
                .with_context(|| format!("reading {}", input.display()))?;
            let mut sink = JsonLinesSink {
                out: std::io::BufWriter::new(std::io::stdout().lock()),
                rejects: 0,
            };
            let report = plugin.convert(&mut file, &options, &mut sink)?;
            sink.out.flush()?;
            if report.records == 0 {
                bail!(
                    "{}: no record could be converted ({} rejected rows, listed above)",
                    input.display(),
                    report.rejects
                );
            }
            eprintln!(
                "{}: {} records, {} rejected rows, {} bytes, as of {}, plugin sha256 {}, {:.2?}",
                input.display(),
                report.records,
                report.rejects,
                report.bytes_in,
                report.as_of.as_deref().unwrap_or("?"),
                report.plugin_digest,
                report.elapsed
            );
            Ok(())
        }
        Command::Plugin(PluginCommand::Test {
            plugin,
            manifest,
            json,
        }) => {
            use renkei::plugin_host::golden;
            let cases = golden::load_suite(&manifest)?;
            let wasm =
                std::fs::read(&plugin).with_context(|| format!("reading {}", plugin.display()))?;
            let plugin = PluginHost::new(renkei::plugin_host::SandboxPolicy::default())?
                .load(&wasm)
                .with_context(|| format!("{} is not a usable converter", plugin.display()))?;
            let outcomes: Vec<_> = cases.iter().map(|c| golden::run_case(&plugin, c)).collect();
            let failed = outcomes.iter().filter(|o| !o.passed()).count();
            if json {
                println!("{}", serde_json::to_string_pretty(&outcomes)?);
            } else {
                for outcome in &outcomes {
                    let verdict = if outcome.passed() { "ok  " } else { "FAIL" };
                    println!(
                        "{verdict} {} ({} records, {} rejected rows)",
                        outcome.name, outcome.records, outcome.rejects
                    );
                    for failure in &outcome.failures {
                        println!("     {failure}");
                    }
                }
                println!(
                    "golden: {} cases passed, {failed} failed (plugin sha256 {})",
                    outcomes.len() - failed,
                    plugin.digest()
                );
            }
            if failed > 0 {
                bail!("{failed} of {} golden cases failed", outcomes.len());
            }
            Ok(())
        }
        Command::Dataset(DatasetCommand::Load {
            database_url,
            name,
            plugin,
            inputs,
        }) => {
            let db = storage::open(&database_url).await?;
            let wasm =
                std::fs::read(&plugin).with_context(|| format!("reading {}", plugin.display()))?;
            let plugin =
                PluginHost::new(renkei::plugin_host::SandboxPolicy::default())?.load(&wasm)?;
            let report = dataset::load(&db, &plugin, &name, &inputs).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Log(LogCommand::Verify {
            database_url,
            file,
            expect_head,
            json,
        }) => verify_log(database_url, file, expect_head, json).await,
        Command::Log(LogCommand::Prune {
            database_url,
            months,
        }) => {
            let db = storage::open(&database_url).await?;
            let pruned =
                node::exchange_log::retention::prune(&db, months, renkei::jst::now()).await?;
            match (&pruned.cutoff, &pruned.months) {
                (None, _) => println!("retention is off (0 months): nothing dropped"),
                (Some(cutoff), None) => println!("nothing to drop before {cutoff}"),
                (Some(cutoff), Some((oldest, newest))) => println!(
                    "dropped {} records of {oldest}..{newest} (before {cutoff}); the log now starts after seq {}",
                    pruned.records,
                    pruned.anchor.as_ref().map_or(0, |a| a.seq)
                ),
            }
            Ok(())
        }
        Command::Log(LogCommand::Export {
            database_url,
            output,
        }) => {
            let db = storage::connect(&database_url).await.map_err(unreadable)?;
            let anchor = node::exchange_log::retention::anchor_if_any(&db)
                .await
                .map_err(unreadable)?;
            let records = node::exchange_log::ExchangeLog::all_records(&db)
                .await
                .map_err(unreadable)?;
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            if let Some(anchor) = &anchor {
                writeln!(out, "{}", node::exchange_log::audit::anchor_line(anchor))?;
            }
            for r in &records {
                serde_json::to_writer(&mut out, r)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            eprintln!("exported {} records", records.len());
            Ok(())
        }
        Command::Connectbox(ConnectboxCommand::Upload {
            node,
            user,
            password_env,
            dataset,
            cacert,
            file,
        }) => {
            let password = std::env::var(&password_env).with_context(|| {
                format!("environment variable {password_env} (the uploader's password) is not set")
            })?;
            let request = renkei::connectbox::client::Upload {
                node: &node,
                user: &user,
                password: &password,
                dataset: &dataset,
                file: &file,
                ca_file: cacert.as_deref(),
            };
            let receipt = renkei::connectbox::client::upload(&request, |r| {
                eprintln!(
                    "{}: {} bytes read, {} records so far",
                    r.status, r.progress.bytes_converted, r.progress.records
                )
            })
            .await?;
            // The receipt is what the upload's automation keeps: a closed or full stdout is an error
            // to report, not a panic.
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", serde_json::to_string_pretty(&receipt)?)
                .and_then(|()| out.flush())
                .with_context(|| {
                    format!(
                        "upload {} to dataset {dataset:?} is {}, but its receipt could not be written to stdout",
                        receipt.id, receipt.status
                    )
                })?;
            if receipt.status == "failed" {
                bail!(
                    "upload {} to dataset {dataset:?} failed: {}",
                    receipt.id,
                    receipt.reason.as_deref().unwrap_or("no reason given")
                );
            }
            Ok(())
        }
        Command::PublicKey { key_file } => {
            println!(
                "{}",
                renkei::keys::NodeKey::load_or_generate(&key_file)?.public_b64()
            );
            Ok(())
        }
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("no password on standard input");
            }
            println!("{}", renkei::password::hash(password));
            Ok(())
        }
        Command::Bench(BenchCommand::Convert {
            plugin,
            input,
            rows,
        }) => {
            let report = tokio::task::spawn_blocking(move || {
                renkei::bench::run_convert_bench(&plugin, &input, rows)
            })
            .await??;
            println!("{report}");
            Ok(())
        }
        Command::Bench(BenchCommand::Catalogue {
            apis,
            runs,
            database_url,
        }) => {
            let temp = std::env::temp_dir()
                .join(format!("renkei-bench-catalogue-{}.db", std::process::id()));
            let url = database_url.unwrap_or_else(|| renkei::storage::sqlite_url(&temp));
            let report = renkei::portal::catalogue_bench::run(&url, apis, runs).await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", temp.display()));
            }
            println!("{}", report?);
            Ok(())
        }
    }
}

async fn verify_log(
    database_url: Option<String>,
    file: Option<PathBuf>,
    expect_head: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    use renkei::node::exchange_log::{ExchangeLog, audit, retention};
    let expect_head = match expect_head.as_deref() {
        None => None,
        Some(text) => match text.split_once(':').map(|(s, h)| (s.parse::<i64>(), h)) {
            Some((Ok(seq), hash)) if seq > 0 && !hash.is_empty() => Some((seq, hash.to_owned())),
            _ => {
                return Err(unreadable(format!(
                    "--expect-head {text:?}: write SEQ:HASH, e.g. 42:9f86d0…"
                )));
            }
        },
    };
    let (anchor, records) = match (database_url, file) {
        (Some(url), _) => {
            let db = storage::connect(&url).await.map_err(unreadable)?;
            let anchor = retention::anchor_if_any(&db).await.map_err(unreadable)?;
            (
                anchor,
                ExchangeLog::all_records(&db).await.map_err(unreadable)?,
            )
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| unreadable(format!("reading {}: {e}", path.display())))?;
            audit::read_export(&text).map_err(|e| unreadable(format!("{}: {e}", path.display())))?
        }
        (None, None) => return Err(unreadable("give --database-url or --file")),
    };
    // Where the check starts: the genesis, or the last record retention dropped.
    let from = anchor
        .as_ref()
        .map(|a| {
            format!(
                " from seq {} (records before were dropped by retention at {})",
                a.seq + 1,
                a.dropped_at
            )
        })
        .unwrap_or_default();
    let result = retention::verify(
        anchor.as_ref(),
        &records,
        expect_head
            .as_ref()
            .map(|(seq, hash)| (*seq, hash.as_str())),
    );
    match (&result, json) {
        (Ok(head), false) => println!(
            "ok: {} records verified{from}; head seq {} hash {}",
            head.records, head.seq, head.hash
        ),
        (Ok(head), true) => println!(
            "{}",
            serde_json::json!({"verified": true, "records": head.records, "head": {"seq": head.seq, "hash": head.hash}, "anchor": anchor})
        ),
        (Err(broken), false) => println!(
            "broken at seq {} ({}): {broken}{}",
            broken.seq(),
            broken.kind(),
            if from.is_empty() {
                String::new()
            } else {
                format!("; checked{from}")
            }
        ),
        (Err(broken), true) => println!(
            "{}",
            serde_json::json!({"verified": false, "records": records.len(), "broken": {"seq": broken.seq(), "kind": broken.kind(), "message": broken.to_string()}, "anchor": anchor})
        ),
    }
    match result {
        Ok(_) => Ok(()),
        Err(_) => Err(Exit(1).into()),
    }
}

/// Writes records as JSON lines to stdout and rejects to stderr.
struct JsonLinesSink<W: Write> {
    out: W,
    rejects: u64,
}

impl<W: Write> renkei::plugin_host::ConversionSink for JsonLinesSink<W> {
    fn accept(
        &mut self,
        records: Vec<renkei::plugin_host::Converted>,
        rejects: Vec<renkei::plugin_host::Rejected>,
    ) -> Result<(), renkei::plugin_host::SinkError> {
        for r in records {
            writeln!(self.out, "{}", r.document)
                .map_err(|e| renkei::plugin_host::SinkError::new(e.to_string()))?;
        }
        for r in rejects {
            self.rejects += 1;
            eprintln!("rejected line {}: {}", r.line, r.reason);
        }
        Ok(())
    }
}
