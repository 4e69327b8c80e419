//! `renkei demo`: a portal, a provider node serving real NTA data converted by the WASM plugin, and a
//! requester node, wired together on loopback with SQLite files under one data directory.

use crate::{
    dataset::{self, LoadReport},
    keys::NodeKey,
    node::{
        self, LocalSystem, NodeConfig, NodeState, ProvidedApi, ProviderConfig, RequesterConfig,
    },
    plugin_host::PluginHost,
    portal::{self, PortalConfig, PortalState, bundle::NewApplication},
    storage::{
        self,
        entity::{portal_api, portal_node},
    },
};
use anyhow::Context;
use serde::{Deserialize, Serialize};

mod samples;
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

pub const PROVIDER_ID: &str = "nta-provider";
pub const REQUESTER_ID: &str = "grant-requester";
pub const DATASET: &str = "nta-corporations";
pub const API_SLUG: &str = "nta-corporations";
pub const API_PATH_TEMPLATE: &str = "/v1/corporations/{number}";
const SYSTEM_USER: &str = "grant-system";
/// The provider's ConnectBox uploader (its password is generated at first start).
const UPLOADER_USER: &str = "nta-uploader";

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    /// 0 picks a free port (tests).
    pub portal_port: u16,
    pub requester_port: u16,
    pub provider_port: u16,
    /// The NTA converter component.
    pub plugin: PathBuf,
    /// NTA files loaded in order on first start.
    pub inputs: Vec<PathBuf>,
    pub site_root: PathBuf,
    /// Validity of the portal's bundles (tests shorten it to see expiry).
    pub bundle_lifetime_secs: i64,
    /// How often the nodes fetch their bundle.
    pub bundle_poll_ms: u64,
    /// Where the three components keep their data; `None`: SQLite files in `data_dir`.
    pub databases: Option<DemoDatabases>,
    /// Every listener on TLS, with a private CA made at first start (`<data_dir>/tls/ca.pem`).
    pub tls: bool,
}

/// Database URLs of the demo's components (e.g. three PostgreSQL databases).
#[derive(Clone, Debug)]
pub struct DemoDatabases {
    pub portal: String,
    pub provider: String,
    pub requester: String,
}

/// The demo's approval: the requester may call the NTA API this often.
pub const DEMO_RATE_LIMIT_PER_MINUTE: u32 = 600;

impl DemoOptions {
    /// Paths relative to a checkout of the repository.
    /// Build outputs are looked up in `$CARGO_TARGET_DIR` when set, else in `repo/target`.
    pub fn in_repo(repo: &Path, data_dir: PathBuf) -> DemoOptions {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|dir| repo.join(dir))
            .unwrap_or_else(|| repo.join("target"));
        DemoOptions {
            data_dir,
            portal_port: 3000,
            requester_port: 8101,
            provider_port: 8102,
            plugin: target.join("wasm32-wasip2/release/nta_corporate_number.wasm"),
            inputs: vec![
                repo.join("demo/data/nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv"),
                repo.join("demo/data/nta_sabun_20210714.utf8.csv"),
            ],
            site_root: target.join("site"),
            bundle_lifetime_secs: portal::DEFAULT_BUNDLE_LIFETIME_SECS,
            bundle_poll_ms: 10_000,
            databases: None,
            tls: false,
        }
    }
}

/// What `demo.json` holds: everything a script needs to drive the demo.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DemoInfo {
    pub portal_url: String,
    pub requester_node_url: String,
    pub provider_node_url: String,
    pub requester_basic_user: String,
    pub requester_basic_password: String,
    pub provider_client_id: String,
    pub requester_client_id: String,
    pub api_path_template: String,
    pub corporate_numbers: Vec<String>,
    pub dataset: String,
    pub plugin_digest: String,
    /// Both nodes' admin API (`/admin/status`, `/admin/bundle`) user and password.
    pub node_admin_user: String,
    pub node_admin_password: String,
    /// The seeded portal logins (operator, provider admin, requester admin).
    #[serde(default)]
    pub portal_logins: Vec<crate::accounts::seed::DemoLogin>,
    /// ConnectBox uploader of the provider node (HTTP Basic).
    pub connectbox_user: String,
    pub connectbox_password: String,
    /// With `--tls`: the CA certificate that signed every listener's certificate (trust it to call them).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

pub struct Demo {
    pub info: DemoInfo,
    pub portal: Arc<PortalState>,
    pub provider: Arc<NodeState>,
    pub requester: Arc<NodeState>,
    /// The load done at this start (none when the data directory already held the dataset).
    pub load: Option<LoadReport>,
}

#[derive(Serialize, Deserialize)]
struct SystemCredentials {
    user: String,
    password: String,
}

pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
    let dir = &options.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    let bind = |port: u16| async move {
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| {
                format!(
                    "port {port} on 127.0.0.1 is not free (choose others with the --*-port options)"
                )
            })
    };
    let portal_listener = bind(options.portal_port).await?;
    let requester_listener = bind(options.requester_port).await?;
    let provider_listener = bind(options.provider_port).await?;
    let pki = if options.tls {
        Some(crate::tls::DemoPki::load_or_generate(&{
            let tls_dir = dir.join("tls");
            std::fs::create_dir_all(&tls_dir)
                .with_context(|| format!("creating {}", tls_dir.display()))?;
            tls_dir
        })?)
    } else {
        None
    };
    let scheme = if pki.is_some() { "https" } else { "http" };
    let url = |l: &tokio::net::TcpListener| -> anyhow::Result<String> {
        Ok(format!("{scheme}://{}", l.local_addr()?))
    };
    let (portal_url, requester_url, provider_url) = (
        url(&portal_listener)?,
        url(&requester_listener)?,
        url(&provider_listener)?,
    );

    let credentials = system_credentials(&dir.join("requester-system.json"), SYSTEM_USER)?;
    let admin = system_credentials(&dir.join("node-admin.json"), node::admin::ADMIN_USER)?;
    let admin_hash = crate::password::hash(&admin.password);
    let uploader = system_credentials(&dir.join("connectbox-uploader.json"), UPLOADER_USER)?;
    let provider_key_file = dir.join("provider.key.pem");
    let requester_key_file = dir.join("requester.key.pem");
    let databases = options.databases.clone().unwrap_or_else(|| DemoDatabases {
        portal: storage::sqlite_url(&dir.join("portal.db")),
        provider: storage::sqlite_url(&dir.join("provider.db")),
        requester: storage::sqlite_url(&dir.join("requester.db")),
    });
    let provider_key = NodeKey::load_or_generate(&provider_key_file)?;
    let requester_key = NodeKey::load_or_generate(&requester_key_file)?;

    let portal = PortalState::open(PortalConfig {
        listen: portal_listener.local_addr()?.to_string(),
        database_url: databases.portal,
        key_file: dir.join("portal.key.pem"),
        site_root: options.site_root.clone(),
        bundle_lifetime_secs: options.bundle_lifetime_secs,
        accounts: crate::accounts::AccountsConfig {
            public_url: portal_url.clone(),
            ..crate::accounts::AccountsConfig::default()
        }
        .from_env(),
        tls: pki.as_ref().map(|p| p.server.clone()),
        log_retention_months: crate::node::default_retention_months(),
    })
    .await?;
    let portal_logins = crate::accounts::seed::seed_demo(
        &portal.accounts,
        &dir.join("portal-logins.json"),
        write_private,
    )
    .await?;
    let anchor = portal.key.public_b64();
    for (client_id, organisation, endpoint, key) in [
        (
            PROVIDER_ID,
            "国税庁データ提供者 (demo provider)",
            &provider_url,
            &provider_key,
        ),
        (
            REQUESTER_ID,
            "補助金申請システム (demo requester)",
            &requester_url,
            &requester_key,
        ),
    ] {
        portal
            .register_node(portal_node::Model {
                client_id: client_id.to_owned(),
                organisation: organisation.to_owned(),
                endpoint: endpoint.clone(),
                public_key: key.public_b64(),
            })
            .await?;
    }
    portal.publish_api(catalogue_entry()).await?;
    for sample in samples::entries() {
        portal.publish_api(sample).await?;
    }
    portal.publish_own_apis().await?;
    // The requester node is a client of the portal's OIDC provider (per-request consent).
    portal
        .register_oidc_client(
            REQUESTER_ID,
            &[format!(
                "{requester_url}{}",
                crate::consent::tsudo::REDIRECT_PATH
            )],
        )
        .await?;

    // `x-nta` is its own scope: NTA facts without a standard slot (kind, closure, successor, history).
    let scopes = vec!["basic".to_owned(), "x-nta".to_owned()];
    // The approval reaches both nodes in their bundles; nothing about peers is configured at the nodes.
    portal
        .approve_application(NewApplication {
            requester: REQUESTER_ID.to_owned(),
            api: API_SLUG.to_owned(),
            scopes: scopes.clone(),
            rate_limit_per_minute: DEMO_RATE_LIMIT_PER_MINUTE,
        })
        .await?;
    // The same approval as an application record with its history, between the seeded organisations.
    let admin_of = |key: &str| {
        portal_logins
            .iter()
            .find(|l| l.email.starts_with(&format!("{key}-admin@")))
            .map(|l| l.email.clone())
    };
    if let (Some(provider_admin), Some(requester_admin)) =
        (admin_of("provider"), admin_of("requester"))
    {
        crate::portal::applications::seed_demo(
            &portal,
            crate::portal::applications::DemoApplication {
                provider_admin: &provider_admin,
                requester_admin: &requester_admin,
                provider_client_id: PROVIDER_ID,
                requester_client_id: REQUESTER_ID,
                api: API_SLUG,
                scopes: scopes.clone(),
                rate_limit_per_minute: DEMO_RATE_LIMIT_PER_MINUTE,
            },
        )
        .await?;
    }
    let provider = NodeState::open(NodeConfig {
        client_id: PROVIDER_ID.to_owned(),
        organisation: "国税庁データ提供者 (demo provider)".to_owned(),
        listen: provider_listener.local_addr()?.to_string(),
        database_url: databases.provider,
        key_file: provider_key_file,
        portal_url: Some(portal_url.clone()),
        portal_public_key: Some(anchor.clone()),
        bundle_file: Some(dir.join("provider.bundle.jws")),
        bundle_poll_ms: options.bundle_poll_ms,
        admin_password_hash: Some(admin_hash.clone()),
        trusted_proxies: vec![],
        tls: pki.as_ref().map(|p| p.server.clone()),
        peer_ca_file: pki.as_ref().map(|p| p.ca_file.clone()),
        log: Default::default(),
        provider: Some(ProviderConfig {
            api: ProvidedApi {
                name: API_SLUG.to_owned(),
                dataset: DATASET.to_owned(),
                scopes: scopes.clone(),
            },
            clients: vec![],
        }),
        requester: None,
        connectbox: Some(crate::connectbox::ConnectBoxConfig {
            data_dir: dir.join("connectbox"),
            max_upload_bytes: 8 * 1024 * 1024 * 1024,
            // NTA's daily 差分 files apply on top of what the node serves.
            datasets: vec![crate::connectbox::UploadDataset {
                name: DATASET.to_owned(),
                mode: crate::connectbox::UploadMode::Diff,
                plugin: options.plugin.clone(),
                writers: vec![uploader.user.clone()],
            }],
            uploaders: vec![crate::connectbox::Uploader {
                user: uploader.user.clone(),
                password_hash: crate::password::hash(&uploader.password),
            }],
        }),
    })
    .await?;
    let requester = NodeState::open(NodeConfig {
        client_id: REQUESTER_ID.to_owned(),
        organisation: "補助金申請システム (demo requester)".to_owned(),
        listen: requester_listener.local_addr()?.to_string(),
        database_url: databases.requester,
        key_file: requester_key_file,
        portal_url: Some(portal_url.clone()),
        portal_public_key: Some(anchor),
        bundle_file: Some(dir.join("requester.bundle.jws")),
        bundle_poll_ms: options.bundle_poll_ms,
        admin_password_hash: Some(admin_hash),
        trusted_proxies: vec![],
        tls: pki.as_ref().map(|p| p.server.clone()),
        peer_ca_file: pki.as_ref().map(|p| p.ca_file.clone()),
        log: Default::default(),
        provider: None,
        requester: Some(RequesterConfig {
            systems: vec![LocalSystem {
                user: credentials.user.clone(),
                password_hash: crate::password::hash(&credentials.password),
            }],
            providers: vec![],
            consent: Some(crate::consent::tsudo::TsudoConfig {
                issuer: portal_url.clone(),
                redirect_uri: format!("{requester_url}{}", crate::consent::tsudo::REDIRECT_PATH),
                post_authorized_url: None,
                no_consent_url: None,
            }),
            // The portal's try-it form calls this node from the browser.
            cors_origins: [
                portal_url.clone(),
                portal_url.replace("127.0.0.1", "localhost"),
            ]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        }),
        connectbox: None,
    })
    .await?;

    let load = match dataset::active(&provider.db, DATASET).await? {
        Some(_) => None,
        None => {
            let wasm = std::fs::read(&options.plugin).with_context(|| {
                format!(
                    "reading the NTA plugin {} (build it with scripts/build-plugins.sh)",
                    options.plugin.display()
                )
            })?;
            let host = PluginHost::new(crate::plugin_host::SandboxPolicy::default())?;
            let plugin = host.load(&wasm)?;
            Some(dataset::load(&provider.db, &plugin, DATASET, &options.inputs).await?)
        }
    };
    let active = dataset::active(&provider.db, DATASET)
        .await?
        .context("the dataset has no active version")?;

    portal::serve_listener(portal.clone(), portal_listener).await?;
    // First bundles before the nodes answer anyone; later ones arrive by polling.
    for node in [&provider, &requester] {
        node::bundle_poll::fetch_once(node).await.map_err(|e| {
            anyhow::anyhow!(
                "{}: first bundle from the portal: {e}",
                node.config.client_id
            )
        })?;
    }
    node::serve_listener(provider.clone(), provider_listener)?;
    node::serve_listener(requester.clone(), requester_listener)?;

    let info = DemoInfo {
        portal_url,
        requester_node_url: requester_url,
        provider_node_url: provider_url,
        requester_basic_user: credentials.user,
        requester_basic_password: credentials.password,
        provider_client_id: PROVIDER_ID.to_owned(),
        requester_client_id: REQUESTER_ID.to_owned(),
        api_path_template: API_PATH_TEMPLATE.to_owned(),
        corporate_numbers: showcase_numbers(&provider.db).await?,
        dataset: DATASET.to_owned(),
        plugin_digest: active.plugin_digest,
        node_admin_user: admin.user,
        node_admin_password: admin.password,
        portal_logins,
        connectbox_user: uploader.user,
        connectbox_password: uploader.password,
        ca_file: pki.as_ref().map(|p| p.ca_file.clone()),
    };
    let json = serde_json::to_string_pretty(&info)?;
    write_private(&dir.join("demo.json"), json.as_bytes())?;
    Ok(Demo {
        info,
        portal,
        provider,
        requester,
        load,
    })
}

/// Numbers that show what the data holds, in this order when present: an ordinary company, a name change
/// (history row `latest=0`, then the current row), a non-BMP character in the address (𣗄), a foreign
/// company, a withdrawn number (process 99). Falls back to any current numbers for other inputs.
async fn showcase_numbers(db: &sea_orm::DatabaseConnection) -> anyhow::Result<Vec<String>> {
    const SHOWCASE: [&str; 5] = [
        "1010001072706",
        "1011002022162",
        "8390005003976",
        "1700150006411",
        "3100001008599",
    ];
    let mut numbers = Vec::new();
    for number in SHOWCASE {
        if dataset::find(db, DATASET, number).await?.is_some() {
            numbers.push(number.to_owned());
        }
    }
    if numbers.is_empty() {
        numbers = dataset::sample_numbers(db, DATASET, 5).await?;
    }
    Ok(numbers)
}

/// The local system's Basic credentials at the requester node: generated at first start, then kept.
fn system_credentials(path: &Path, user: &str) -> anyhow::Result<SystemCredentials> {
    if path.exists() {
        let text = std::fs::read_to_string(path)?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid credentials JSON", path.display()));
    }
    let credentials = SystemCredentials {
        user: user.to_owned(),
        password: crate::password::generate(),
    };
    write_private(path, serde_json::to_string_pretty(&credentials)?.as_bytes())?;
    Ok(credentials)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// The demo API as the portal's catalogue lists it.
pub fn catalogue_entry() -> portal_api::Model {
    portal_api::Model {
        id: 0,
        slug: API_SLUG.to_owned(),
        name: "法人基本情報 (国税庁法人番号) / Corporate basic information".to_owned(),
        summary: "法人番号から商号・所在地などの基本情報を法人標準データ (Basic) で返します。Basic facts of a corporation by corporate number, as standard data.".to_owned(),
        description: "The provider node serves the National Tax Agency's corporate-number data, converted to the standard \
            corporate data (Basic block) by the sandboxed nta-corporate-number WebAssembly plugin. NTA facts without a \
            standard slot (kind, process, closure, successor, English name…) are in the x-nta block. Each answer's meta \
            names the dataset, source file and its SHA-256, the as-of date and the plugin digest. \
            出典：国税庁法人番号公表サイト（国税庁）"
            .to_owned(),
        provider: "国税庁データ提供者 (demo provider)".to_owned(),
        provider_client_id: PROVIDER_ID.to_owned(),
        categories: serde_json::json!(["法人基本情報", "国税庁", "Corporate registry"]).to_string(),
        scopes: serde_json::json!(["basic", "x-nta"]).to_string(),
        consent_required: false,
        path_template: API_PATH_TEMPLATE.to_owned(),
        openapi: include_str!("demo/nta-corporations.openapi.json").to_owned(),
        // The provider organisation is set by the seed (`portal::applications::seed_demo`).
        organisation_id: None,
        terms: "出典：国税庁法人番号公表サイト（国税庁）を明記してください / Credit the source: National Tax Agency corporate number publication site.".to_owned(),
        status: crate::portal::catalogue::PUBLISHED.to_owned(),
        version: "1.0.0".to_owned(),
        updated_at: String::new(),
    }
}

/// What the demo prints once it runs.
pub fn banner(info: &DemoInfo, load: Option<&LoadReport>) -> String {
    let number = info
        .corporate_numbers
        .first()
        .cloned()
        .unwrap_or_else(|| "1010001072706".to_owned());
    let mut out = String::new();
    if let Some(load) = load {
        out.push_str(&format!(
            "Loaded dataset {} (version {}): {} records, {} rejected rows, plugin sha256 {}\n",
            load.dataset, load.version, load.records, load.rejects, load.plugin_digest
        ));
        for s in &load.sources {
            out.push_str(&format!(
                "  {} ({} bytes, sha256 {}…, as of {}): {} records, {} rejected\n",
                s.file,
                s.bytes,
                &s.sha256[..12],
                s.as_of.as_deref().unwrap_or("?"),
                s.records,
                s.rejects
            ));
        }
    }
    out.push_str(&format!(
        "\nrenkei demo is running.\n\
         \n  Portal (catalogue, API detail, exchange log):  {portal}/\n\
         \x20 Requester node (your system calls this):      {req}\n\
         \x20 Provider node (serves the NTA dataset):       {prov}\n\
         \nThe main job — ask the requester node for a corporation's standard data:\n\
         \n  curl -s{cacert} -u '{user}:{pw}' \\\n    -d 'call_api=/v1/corporations/{number}&client_id={client}&method=GET&scope=basic+x-nta' \\\n    {req}/v1/reception_jizen\n\
         \nThen open {portal}/logs to see both nodes' records of the exchange.\n\
         \nPortal logins (passwords generated at first start, kept in portal-logins.json):\n{logins}\
         \nConnectBox — upload an NTA 差分 file (CSV or ZIP) to the provider's dataset {dataset}:\n\
         \n  RENKEI_UPLOAD_PASSWORD='{cb_pw}' {exe} connectbox upload{cacert} --node {prov} \\\n    --user {cb_user} --password-env RENKEI_UPLOAD_PASSWORD --dataset {dataset} FILE\n\
         \nEach node's bundle and recent bundle events (its admin login is in node-admin.json):\n\
         \n  curl -s{cacert} -u '{admin_user}:{admin_pw}' {prov}/admin/status\n\
         \nPer-request consent (都度同意): open {req}/v1/consent?state=demo, log in at the portal with an\n\
         organisation login above and approve; redeem the nonce once at {req}/v1/reception_tsudo (see README).\n\
         Details for scripts: demo.json in the data directory. Stop with Ctrl-C.\n",
        portal = info.portal_url,
        req = info.requester_node_url,
        prov = info.provider_node_url,
        user = info.requester_basic_user,
        pw = info.requester_basic_password,
        client = info.provider_client_id,
        logins = info
            .portal_logins
            .iter()
            .map(|l| format!(
                "  {:<11} {:<32} {}{}\n",
                l.role,
                l.email,
                l.password,
                l.organisation.as_deref().map(|o| format!("  ({o})")).unwrap_or_default()
            ))
            .collect::<String>(),
        dataset = info.dataset,
        cb_user = info.connectbox_user,
        cb_pw = info.connectbox_password,
        exe = std::env::current_exe()
            .ok()
            .and_then(|p| {
                let cwd = std::env::current_dir().ok()?;
                Some(p.strip_prefix(&cwd).map(|r| r.to_path_buf()).unwrap_or(p))
            })
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "renkei".to_owned()),
        cacert = info
            .ca_file
            .as_ref()
            .map(|f| format!(" --cacert {}", f.display()))
            .unwrap_or_default(),
        admin_user = info.node_admin_user,
        admin_pw = info.node_admin_password,
    ));
    out
}
