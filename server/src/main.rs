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
    },
    /// Run a node from its TOML configuration.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
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
    /// Print a node's public key (base64url, as the registry stores it), generating the key if missing.
    PublicKey {
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Read a password from standard input and print its Argon2id hash (for `[requester].systems`).
    HashPassword,
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
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "renkei=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
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
        } => {
            let mut options = demo::DemoOptions::in_repo(&repo, data_dir);
            options.portal_port = portal_port;
            options.requester_port = requester_port;
            options.provider_port = provider_port;
            let demo = demo::start(options).await?;
            println!("{}", demo::banner(&demo.info, demo.load.as_ref()));
            tokio::signal::ctrl_c().await?;
            Ok(())
        }
        Command::Portal {
            listen,
            database_url,
            key_file,
            site_root,
        } => {
            let state = portal::PortalState::open(portal::PortalConfig {
                listen: listen.clone(),
                database_url,
                key_file,
                site_root,
            })
            .await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = portal::serve_listener(state, listener).await?;
            println!("portal listening on http://{addr}/");
            tokio::signal::ctrl_c().await?;
            Ok(())
        }
        Command::Node { config } => {
            let text = std::fs::read_to_string(&config)
                .with_context(|| format!("reading {}", config.display()))?;
            let config: node::NodeConfig = toml::from_str(&text)
                .with_context(|| format!("node configuration {}", config.display()))?;
            let state = node::NodeState::open(config).await?;
            let addr = node::serve(state).await?;
            println!("node listening on http://{addr}/");
            tokio::signal::ctrl_c().await?;
            Ok(())
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
        Command::Connectbox(ConnectboxCommand::Upload {
            node,
            user,
            password_env,
            dataset,
            file,
        }) => {
            let password = std::env::var(&password_env)
                .with_context(|| format!("environment variable {password_env} (the uploader's password) is not set"))?;
            let request = renkei::connectbox::client::Upload {
                node: &node,
                user: &user,
                password: &password,
                dataset: &dataset,
                file: &file,
            };
            let receipt = renkei::connectbox::client::upload(&request, |r| {
                eprintln!(
                    "{}: {} bytes read, {} records so far",
                    r.status, r.progress.bytes_converted, r.progress.records
                )
            })
            .await?;
            println!("{}", serde_json::to_string_pretty(&receipt)?);
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
