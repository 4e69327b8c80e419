//! ConnectBox across the real stack: an uploader sends real NTA files to the provider node, the WASM plugin
//! converts them into a new dataset version published atomically, and a requester's system reads the result
//! through both nodes (lookup, status, list). Refusals, interruption, differences, duplicates and rejects.

use renkei::{
    connectbox::{
        ConnectBoxConfig, Receipt, UploadDataset, UploadMode, Uploader,
        client::{self, ClientError},
    },
    demo::DemoOptions,
    keys::NodeKey,
    node::{
        self, ApprovedClient, KnownProvider, LocalSystem, NodeConfig, NodeState, ProvidedApi,
        ProviderConfig, RequesterConfig,
    },
    storage::{self, entity::connectbox_upload},
};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

const DATASET: &str = "nta-corporations";
/// A second dataset of the same node that the NTA uploader may not write.
const OTHER_DATASET: &str = "jgrants-subsidies";
const UPLOADER: &str = "nta-uploader";
const UPLOADER_PASSWORD: &str = "upload-pw-for-tests";
const SYSTEM_PASSWORD: &str = "system-pw-for-tests";
const SJIS_FILE: &str = "nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv";
const SJIS_SHA256: &str = "0652e3bb6774";
const UTF8_FILE: &str = "nta_sabun_20210714.utf8.csv";
const UTF8_SHA256: &str = "cfbf6bc122d41c5e1b74155c2e881ce7c9df3c2a120875c95972e7b1fb27d5bf";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data(file: &str) -> PathBuf {
    repo().join("demo/data").join(file)
}

fn fixture(file: &str) -> PathBuf {
    repo().join("tests/fixtures/connectbox").join(file)
}

/// A provider node with a ConnectBox and a requester node approved to call it, on loopback.
struct Env {
    dir: tempfile::TempDir,
    provider: Arc<NodeState>,
    provider_config: NodeConfig,
    provider_url: String,
    requester_url: String,
    http: reqwest::Client,
}

async fn env(mode: UploadMode) -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let plugin = DemoOptions::in_repo(&repo(), dir.path().into()).plugin;
    assert!(
        plugin.exists(),
        "{} is missing: run scripts/build-plugins.sh first",
        plugin.display()
    );
    let bind = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() };
    let (provider_listener, requester_listener) = (bind().await, bind().await);
    let provider_url = format!("http://{}", provider_listener.local_addr().unwrap());
    let requester_url = format!("http://{}", requester_listener.local_addr().unwrap());
    let requester_key_file = dir.path().join("requester.key.pem");
    let requester_key = NodeKey::load_or_generate(&requester_key_file).unwrap();
    let scopes = vec!["basic".to_owned(), "x-nta".to_owned()];
    let provider_config = NodeConfig {
        client_id: "nta-provider".to_owned(),
        organisation: "provider".to_owned(),
        listen: provider_listener.local_addr().unwrap().to_string(),
        database_url: storage::sqlite_url(&dir.path().join("provider.db")),
        key_file: dir.path().join("provider.key.pem"),
        portal_url: None,
        portal_public_key: None,
        bundle_file: None,
        bundle_poll_ms: 10_000,
        admin_password_hash: None,
        trusted_proxies: vec![],
        tls: None,
        peer_ca_file: None,
        log: Default::default(),
        provider: Some(ProviderConfig {
            api: ProvidedApi {
                name: "nta-corporations".to_owned(),
                dataset: DATASET.to_owned(),
                scopes: scopes.clone(),
            },
            clients: vec![ApprovedClient {
                client_id: "grant-requester".to_owned(),
                public_key: requester_key.public_b64(),
                scopes: scopes.clone(),
            }],
        }),
        requester: None,
        connectbox: Some(ConnectBoxConfig {
            data_dir: dir.path().join("connectbox"),
            max_upload_bytes: 64 * 1024 * 1024,
            datasets: vec![
                UploadDataset {
                    name: DATASET.to_owned(),
                    mode,
                    plugin: plugin.clone(),
                    writers: vec![UPLOADER.to_owned()],
                },
                UploadDataset {
                    name: OTHER_DATASET.to_owned(),
                    mode: UploadMode::Full,
                    plugin,
                    writers: vec!["jgrants-uploader".to_owned()],
                },
            ],
            uploaders: vec![
                Uploader {
                    user: UPLOADER.to_owned(),
                    password_hash: renkei::password::hash(UPLOADER_PASSWORD),
                },
                Uploader {
                    user: "jgrants-uploader".to_owned(),
                    password_hash: renkei::password::hash("another-pw"),
                },
            ],
        }),
    };
    let provider = NodeState::open(provider_config.clone()).await.unwrap();
    let requester = NodeState::open(NodeConfig {
        client_id: "grant-requester".to_owned(),
        organisation: "requester".to_owned(),
        listen: requester_listener.local_addr().unwrap().to_string(),
        database_url: storage::sqlite_url(&dir.path().join("requester.db")),
        key_file: requester_key_file,
        portal_url: None,
        portal_public_key: None,
        bundle_file: None,
        bundle_poll_ms: 10_000,
        admin_password_hash: None,
        trusted_proxies: vec![],
        tls: None,
        peer_ca_file: None,
        log: Default::default(),
        provider: None,
        requester: Some(RequesterConfig {
            systems: vec![LocalSystem {
                user: "grant-system".to_owned(),
                password_hash: renkei::password::hash(SYSTEM_PASSWORD),
            }],
            providers: vec![KnownProvider {
                client_id: "nta-provider".to_owned(),
                endpoint: provider_url.clone(),
            }],
            consent: None,
            cors_origins: vec![],
        }),
        connectbox: None,
    })
    .await
    .unwrap();
    node::serve_listener(provider.clone(), provider_listener).unwrap();
    node::serve_listener(requester, requester_listener).unwrap();
    Env {
        dir,
        provider,
        provider_config,
        provider_url,
        requester_url,
        http: renkei::tls::http_client(),
    }
}

impl Env {
    async fn upload(&self, file: &Path) -> Result<Receipt, ClientError> {
        self.upload_to(DATASET, file).await
    }

    async fn upload_to(&self, dataset: &str, file: &Path) -> Result<Receipt, ClientError> {
        client::upload(
            &client::Upload {
                node: &self.provider_url,
                user: UPLOADER,
                password: UPLOADER_PASSWORD,
                dataset,
                file,
                ca_file: None,
            },
            |_| {},
        )
        .await
    }

    /// A GET at the provider, made by the organisation's system through the requester node.
    async fn get(&self, path: &str) -> (u16, Value) {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("call_api", path)
            .append_pair("client_id", "nta-provider")
            .append_pair("method", "GET")
            .append_pair("scope", "basic x-nta")
            .finish();
        let response = self
            .http
            .post(format!("{}/v1/reception_jizen", self.requester_url))
            .basic_auth("grant-system", Some(SYSTEM_PASSWORD))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// A raw upload request, for the refusals the client would not even send.
    async fn post_upload(&self, dataset: &str, user: &str, password: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!(
                "{}/connectbox/datasets/{dataset}/uploads?file_name=x.csv",
                self.provider_url
            ))
            .basic_auth(user, Some(password))
            .body(std::fs::read(data(UTF8_FILE)).unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn uploads(&self) -> Vec<connectbox_upload::Model> {
        connectbox_upload::Entity::find()
            .all(&self.provider.db)
            .await
            .unwrap()
    }

    fn stored_files(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("connectbox/uploads"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

fn error_code(body: &Value) -> &str {
    body.pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("<none>")
}

#[tokio::test]
async fn an_upload_is_converted_published_and_served_through_both_nodes() {
    let env = env(UploadMode::Full).await;
    let receipt = env.upload(&data(SJIS_FILE)).await.expect("upload");
    assert_eq!(receipt.status, "published", "{receipt:?}");
    assert_eq!(receipt.dataset, DATASET);
    assert_eq!(receipt.mode, "full");
    assert_eq!(receipt.file_name, SJIS_FILE);
    assert_eq!(receipt.bytes, 338_260);
    assert!(
        receipt.sha256.starts_with(SJIS_SHA256),
        "{}",
        receipt.sha256
    );
    assert_eq!(receipt.uploader, UPLOADER);
    assert!(
        receipt.received_at.ends_with("+09:00"),
        "JST: {}",
        receipt.received_at
    );
    assert!(receipt.finished_at.as_deref().unwrap().ends_with("+09:00"));
    assert!(receipt.duration_ms.is_some());
    assert_eq!((receipt.records_accepted, receipt.rows_rejected), (2000, 0));
    assert_eq!(receipt.progress.bytes_converted, 338_260);
    assert_eq!(receipt.duplicate_of, None);
    assert_eq!(
        env.stored_files(),
        Vec::<String>::new(),
        "the converted file is not kept"
    );

    // The requester's system reads the withdrawn number of line 434 through both nodes.
    let (status, body) = env.get("/v1/corporations/3100001008599").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["x-nta"]["process"]["code"], "99");
    let provenance = &body["meta"]["provenance"];
    assert_eq!(provenance["source_file"], SJIS_FILE);
    assert_eq!(provenance["source_sha256"], json!(receipt.sha256));
    assert_eq!(provenance["source_line"], 434);
    assert_eq!(provenance["as_of"], "2017-06-06");
    assert_eq!(
        provenance["dataset_version"],
        json!(receipt.dataset_version.unwrap())
    );

    // A full file replaces the dataset: the number only the first file had is gone.
    let second = env.upload(&data(UTF8_FILE)).await.expect("second upload");
    assert_eq!(second.status, "published", "{second:?}");
    assert_eq!(second.sha256, UTF8_SHA256);
    let (status, body) = env.get("/v1/corporations/3100001008599").await;
    assert_eq!(
        (status, error_code(&body)),
        (404, "corporation_not_found"),
        "{body}"
    );
    let (status, body) = env.get("/v1/corporations/1010001072706").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["Basic"]["Destination"]["Corporate name"],
        "東京増田医療器株式会社"
    );
    assert_eq!(body["meta"]["provenance"]["source_file"], UTF8_FILE);

    // The status check and the list answer through both nodes as well, with provenance.
    let (status, body) = env.get("/v1/corporations/1010001072706/status").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "corporate_number": "1010001072706",
            "status": "active",
            "process": {"code": "01", "label": "新規"},
            "update_date": "2021-07-14",
            "name": "東京増田医療器株式会社"
        })
    );
    assert_eq!(body["meta"]["provenance"]["source_sha256"], UTF8_SHA256);
    assert_eq!(body["meta"]["requester"], "grant-requester");

    let (status, page1) = env
        .get("/v1/corporations?prefecture=13&per_page=3&page=1")
        .await;
    assert_eq!(status, 200, "{page1}");
    let (_, page2) = env
        .get("/v1/corporations?prefecture=%E6%9D%B1%E4%BA%AC%E9%83%BD&per_page=3&page=2")
        .await;
    let numbers = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["corporate_number"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        numbers(&page1),
        ["1010001072706", "1010001097199", "1010001126817"]
    );
    let second_page = numbers(&page2);
    assert_eq!(second_page.len(), 3);
    assert!(
        second_page[0] > numbers(&page1)[2],
        "stable order across pages"
    );
    assert_eq!(page1["meta"]["total"], page2["meta"]["total"]);
    assert_eq!(page1["meta"]["filters"]["prefecture"], "東京都");
    assert_eq!(page1["data"][0]["provenance"]["source_line"], 1);
    assert_eq!(page1["data"][0]["data"]["x-nta"]["prefectureCode"], "13");

    let (status, body) = env.get("/v1/corporations?per_page=500").await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "invalid_parameter"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("per_page")
    );
}

#[tokio::test]
async fn a_wrong_dataset_or_uploader_is_refused_at_once_and_nothing_is_stored() {
    let env = env(UploadMode::Full).await;
    let (status, body) = env
        .post_upload("nta-corporatoins", UPLOADER, UPLOADER_PASSWORD)
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (404, "unknown_dataset"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"nta-corporatoins\""),
        "names the dataset: {body}"
    );
    let (status, body) = env
        .post_upload(OTHER_DATASET, UPLOADER, UPLOADER_PASSWORD)
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (403, "dataset_not_writable"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(OTHER_DATASET)
    );
    let (status, body) = env.post_upload(DATASET, UPLOADER, "wrong").await;
    assert_eq!((status, error_code(&body)), (401, "unauthorized"), "{body}");
    let (status, body) = env.post_upload(DATASET, "nobody", "x").await;
    assert_eq!((status, error_code(&body)), (401, "unauthorized"), "{body}");

    assert_eq!(env.uploads().await, Vec::new(), "no upload was recorded");
    assert_eq!(
        env.stored_files(),
        Vec::<String>::new(),
        "no byte was stored"
    );
    assert_eq!(
        renkei::dataset::active(&env.provider.db, DATASET)
            .await
            .unwrap(),
        None
    );

    // The CLI's client names the dataset and the node's code.
    let error = env
        .upload_to("nta-corporatoins", &data(UTF8_FILE))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(&error, ClientError::Refused { status: 404, code, .. } if code == "unknown_dataset"),
        "{text}"
    );
    assert!(text.contains("\"nta-corporatoins\""), "{text}");
}

#[tokio::test]
async fn a_conversion_killed_midway_leaves_the_old_data_served_and_fails_on_restart() {
    let env = env(UploadMode::Full).await;
    let first = env.upload(&data(SJIS_FILE)).await.unwrap();
    assert_eq!(first.status, "published");

    // A file large enough that its conversion is still running when the process "dies".
    let big = env.dir.path().join("big.csv");
    let rows = std::fs::read(data(UTF8_FILE)).unwrap();
    std::fs::write(&big, rows.repeat(40)).unwrap();
    let cb = env.provider.connectbox.clone().unwrap();
    let dataset = cb.dataset(DATASET).unwrap().clone();
    let (id, path) = cb
        .begin_upload(&dataset, UPLOADER, "big.csv")
        .await
        .unwrap();
    std::fs::copy(&big, &path).unwrap();
    assert!(cb.received(&id, 1, "not-a-published-digest").await.unwrap());
    let conversion = tokio::spawn({
        let cb = cb.clone();
        let id = id.clone();
        async move { cb.convert(&id).await }
    });
    let mut seen_running = false;
    for _ in 0..400 {
        let receipt = cb.receipt_of(&cb.get(&id).await.unwrap()).await.unwrap();
        if receipt.status == "running" && receipt.progress.records > 0 {
            seen_running = true;
            break;
        }
        assert!(
            receipt.status != "published",
            "converted too fast to interrupt"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(seen_running, "the conversion showed progress while running");
    conversion.abort();
    let _ = conversion.await;

    // Readers still get the old version, through both nodes.
    let (status, body) = env.get("/v1/corporations/3100001008599").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["provenance"]["source_file"], SJIS_FILE);
    let (status, _) = env.get("/v1/corporations/1010001072706").await;
    assert_eq!(status, 404, "nothing of the interrupted file is visible");

    // The node restarts on the same database: the upload is failed with the reason, nothing else moves.
    let restarted = NodeState::open(env.provider_config.clone()).await.unwrap();
    let upload = restarted
        .connectbox
        .as_ref()
        .unwrap()
        .get(&id)
        .await
        .unwrap();
    assert_eq!(
        (upload.status.as_str(), upload.reason.as_deref()),
        ("failed", Some("interrupted"))
    );
    let version =
        renkei::storage::entity::dataset::Entity::find_by_id(upload.dataset_version.unwrap())
            .one(&restarted.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(version.status, "failed");
    let active = renkei::dataset::active(&restarted.db, DATASET)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(active.id), first.dataset_version);
    let (status, body) = env.get("/v1/corporations/3100001008599").await;
    assert_eq!(
        (status, &body["meta"]["provenance"]["source_file"]),
        (200, &json!(SJIS_FILE))
    );
}

#[tokio::test]
async fn a_difference_file_applies_a_closure_a_name_change_a_withdrawal_and_a_merger() {
    let env = env(UploadMode::Diff).await;
    let base = env.upload(&data(UTF8_FILE)).await.unwrap();
    assert_eq!(
        (base.status.as_str(), base.mode.as_str()),
        ("published", "diff")
    );
    assert_eq!(base.records_accepted, 2772);
    let diff = env
        .upload(&fixture("nta_diff_20210715.utf8.csv"))
        .await
        .unwrap();
    assert_eq!(diff.status, "published", "{diff:?}");
    assert_eq!((diff.records_accepted, diff.rows_rejected), (4, 0));
    let active = renkei::dataset::active(&env.provider.db, DATASET)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(active.id), diff.dataset_version);
    assert_eq!(
        active.records,
        2772 + 4,
        "the new version holds the base and the changes"
    );

    // Closure (line 1 of the diff).
    let (status, body) = env.get("/v1/corporations/1010001072706/status").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "corporate_number": "1010001072706",
            "closed": {"date": "2021-07-15", "cause": {"code": "01", "label": "清算の結了等"}},
            "status": "closed",
            "process": {"code": "21", "label": "登記記録の閉鎖等"},
            "update_date": "2021-07-15",
            "name": "東京増田医療器株式会社"
        })
    );
    assert_eq!(
        body["meta"]["provenance"]["source_file"],
        "nta_diff_20210715.utf8.csv"
    );
    assert_eq!(body["meta"]["provenance"]["source_line"], 1);

    // Name change (line 2): the lookup and the name filter see the new name only.
    let (status, body) = env.get("/v1/corporations/1010001097199").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["Basic"]["Destination"]["Corporate name"],
        "株式会社ＭＣＡグループ"
    );
    assert_eq!(body["data"]["x-nta"]["process"]["code"], "11");
    let (status, body) = env
        .get("/v1/corporations?name_prefix=%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE%EF%BC%AD%EF%BC%A3%EF%BC%A1")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["total"], 1, "{body}");
    assert_eq!(body["data"][0]["corporate_number"], "1010001097199");
    assert_eq!(
        body["data"][0]["data"]["Basic"]["Destination"]["Corporate name"],
        "株式会社ＭＣＡグループ"
    );

    // Withdrawal `99` (line 3).
    let (status, body) = env.get("/v1/corporations/1010001126817/status").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "corporate_number": "1010001126817",
            "status": "withdrawn",
            "process": {"code": "99", "label": "削除"},
            "update_date": "2021-07-15"
        })
    );

    // Merger closure of a number the base did not have (line 4): merged into its successor.
    let (status, body) = env.get("/v1/corporations/1140001028967/status").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "merged");
    assert_eq!(body["data"]["successor_corporate_number"], "9140001022640");
    assert_eq!(body["data"]["closed"]["cause"]["code"], "11");

    // Every other number keeps its record and its original provenance.
    let (status, body) = env.get("/v1/corporations/1010001144728").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["provenance"]["source_file"], UTF8_FILE);
    assert_eq!(body["meta"]["provenance"]["source_line"], 4);
    // Changed since the diff's date: exactly the three base numbers it touched and the new one.
    let (_, body) = env.get("/v1/corporations?changed_since=2021-07-15").await;
    let numbers: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["corporate_number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["1010001072706", "1010001097199", "1010001126817"],
        "{body}"
    );
}

#[tokio::test]
async fn a_duplicate_upload_is_reported_and_not_applied() {
    let env = env(UploadMode::Diff).await;
    let first = env.upload(&data(UTF8_FILE)).await.unwrap();
    assert_eq!(first.status, "published");
    let again = env.upload(&data(UTF8_FILE)).await.unwrap();
    assert_eq!(again.status, "duplicate", "{again:?}");
    assert_eq!(again.duplicate_of.as_deref(), Some(first.id.as_str()));
    assert_eq!(again.sha256, UTF8_SHA256);
    assert_eq!(again.dataset_version, None);
    assert!(again.reason.as_deref().unwrap().contains(&first.id));
    let active = renkei::dataset::active(&env.provider.db, DATASET)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(active.id),
        first.dataset_version,
        "nothing was re-applied"
    );
    assert_eq!(env.stored_files(), Vec::<String>::new());
}

#[tokio::test]
async fn rejected_rows_are_listed_with_file_line_and_reason() {
    let env = env(UploadMode::Full).await;
    let receipt = env
        .upload(&fixture("nta_with_rejects.utf8.csv"))
        .await
        .unwrap();
    assert_eq!(receipt.status, "published", "{receipt:?}");
    assert_eq!((receipt.records_accepted, receipt.rows_rejected), (2, 2));
    let lines: Vec<(u64, &str)> = receipt
        .rejects
        .iter()
        .map(|r| (r.line, r.file.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (2, "nta_with_rejects.utf8.csv"),
            (3, "nta_with_rejects.utf8.csv")
        ]
    );
    let response = env
        .http
        .get(format!(
            "{}/connectbox/uploads/{}/rejects.csv",
            env.provider_url, receipt.id
        ))
        .basic_auth(UPLOADER, Some(UPLOADER_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    let expected = format!(
        "file,line,reason\nnta_with_rejects.utf8.csv,2,{}\nnta_with_rejects.utf8.csv,3,{}\n",
        csv_field(&receipt.rejects[0].reason),
        csv_field(&receipt.rejects[1].reason)
    );
    assert_eq!(csv, expected);
    assert!(
        receipt.rejects[0]
            .reason
            .contains("\"1010001187892\": check digit mismatch"),
        "{}",
        receipt.rejects[0].reason
    );
    assert!(
        receipt.rejects[1].reason.contains("4"),
        "{}",
        receipt.rejects[1].reason
    );

    // Another provider's uploader does not see the receipt.
    let response = env
        .http
        .get(format!(
            "{}/connectbox/uploads/{}",
            env.provider_url, receipt.id
        ))
        .basic_auth("jgrants-uploader", Some("another-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "unknown_upload");
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[tokio::test]
async fn a_zip_upload_converts_each_csv_entry() {
    use std::io::Write;
    let env = env(UploadMode::Full).await;
    let archive = env.dir.path().join("13_tokyo_all_20210714.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("readme.txt", options).unwrap();
        zip.write_all(b"not data").unwrap();
        zip.start_file(UTF8_FILE, options).unwrap();
        zip.write_all(&std::fs::read(data(UTF8_FILE)).unwrap())
            .unwrap();
        zip.finish().unwrap();
    }
    let receipt = env.upload(&archive).await.unwrap();
    assert_eq!(receipt.status, "published", "{receipt:?}");
    assert_eq!(receipt.records_accepted, 2772);
    let (status, body) = env.get("/v1/corporations/1010001072706").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["meta"]["provenance"]["source_file"],
        format!("13_tokyo_all_20210714.zip!{UTF8_FILE}")
    );
    assert_eq!(
        body["meta"]["provenance"]["source_sha256"], UTF8_SHA256,
        "the entry's own digest"
    );
}

#[tokio::test]
async fn a_file_that_converts_nothing_fails_without_a_version_and_keeps_its_rejects() {
    let env = env(UploadMode::Full).await;
    let first = env.upload(&data(UTF8_FILE)).await.unwrap();
    assert_eq!(first.status, "published");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.csv");
    std::fs::write(&junk, "not,an,nta,row\nstill,not,one,either\n").unwrap();
    let receipt = env.upload(&junk).await.unwrap();
    assert_eq!(receipt.status, "failed", "{receipt:?}");
    assert_eq!(receipt.dataset_version, None, "nothing was published");
    assert_eq!((receipt.records_accepted, receipt.rows_rejected), (0, 2));
    assert_eq!(
        receipt.rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        [1, 2],
        "the rows and why stay readable: {receipt:?}"
    );
    let active = renkei::dataset::active(&env.provider.db, DATASET)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(active.id),
        first.dataset_version,
        "the old data is served"
    );
}

#[tokio::test]
async fn an_empty_zip_and_a_zip_that_is_not_one_fail_with_their_reason() {
    let env = env(UploadMode::Full).await;
    let empty = env.dir.path().join("empty.zip");
    zip::ZipWriter::new(std::fs::File::create(&empty).unwrap())
        .finish()
        .unwrap();
    let fake = env.dir.path().join("fake.zip");
    std::fs::write(&fake, b"\x00\x01 random bytes, not an archive").unwrap();
    for (file, reason) in [
        (&empty, "the ZIP archive holds no CSV or XML entry"),
        (&fake, "the file is named .zip but is not a ZIP archive"),
    ] {
        let receipt = env.upload(file).await.unwrap();
        assert_eq!(receipt.status, "failed", "{receipt:?}");
        assert!(
            receipt.reason.as_deref().unwrap_or("").contains(reason),
            "{receipt:?}"
        );
        assert_eq!((receipt.records_accepted, receipt.rows_rejected), (0, 0));
    }
}
