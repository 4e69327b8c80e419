//! The main job across the real stack: requester node → provider node → dataset converted by the WASM
//! plugin from the real NTA files → standard data; refused tokens; both nodes' logs reach the portal.

use renkei::{
    demo::{self, Demo, DemoDatabases, DemoOptions},
    keys::NodeKey,
    storage::scratch::{self, ScratchDatabase},
    token::{self, RequestClaims, TokenRequest},
};
use serde_json::{Value, json};
use std::{
    future::Future,
    path::PathBuf,
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::sync::OnceCell;

struct TestDemo {
    demo: Demo,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    /// PostgreSQL databases when the suite runs there; left for `scripts/postgres.sh` to drop (a static
    /// is never dropped).
    _databases: Vec<ScratchDatabase>,
}

/// `RENKEI_TEST_MAIN_JOB_BACKEND=postgres` runs the whole suite with the portal and both nodes on
/// PostgreSQL (`RENKEI_TEST_POSTGRES_URL`); `scripts/test.sh` runs it once that way.
async fn postgres_databases() -> Option<(DemoDatabases, Vec<ScratchDatabase>)> {
    match std::env::var("RENKEI_TEST_MAIN_JOB_BACKEND").as_deref() {
        Ok("postgres") => {}
        Ok("sqlite") | Err(_) => return None,
        Ok(other) => panic!("RENKEI_TEST_MAIN_JOB_BACKEND={other:?}: use sqlite or postgres"),
    }
    let server = std::env::var(scratch::POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "RENKEI_TEST_MAIN_JOB_BACKEND=postgres needs {}",
            scratch::POSTGRES_ENV
        )
    });
    let mut dbs = Vec::new();
    for _ in 0..3 {
        dbs.push(ScratchDatabase::create_on(&server).await);
    }
    let urls = DemoDatabases {
        portal: dbs[0].url.clone(),
        provider: dbs[1].url.clone(),
        requester: dbs[2].url.clone(),
    };
    Some((urls, dbs))
}

/// One demo per test binary (loading the dataset through the plugin is the slow part), served by one
/// runtime that outlives every test: a per-test runtime would take the servers down with it.
/// `RENKEI_TEST_MAIN_JOB_TLS=1`: the suite runs with every listener on HTTPS (the demo's own CA).
fn tls_run() -> bool {
    std::env::var("RENKEI_TEST_MAIN_JOB_TLS").is_ok_and(|v| v == "1")
}

static DEMO: OnceCell<Arc<TestDemo>> = OnceCell::const_new();
static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Runtime::new().expect("test runtime"));

fn run<F: Future<Output = ()>>(test: impl FnOnce(Arc<TestDemo>) -> F) {
    RUNTIME.block_on(async move { test(demo().await).await })
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn demo() -> Arc<TestDemo> {
    DEMO.get_or_init(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = DemoOptions::in_repo(&repo(), dir.path().join("data"));
        options.portal_port = 0;
        options.requester_port = 0;
        options.provider_port = 0;
        assert!(
            options.plugin.exists(),
            "{} is missing: run scripts/build-plugins.sh first (scripts/test.sh does)",
            options.plugin.display()
        );
        let mut databases = Vec::new();
        if let Some((urls, dbs)) = postgres_databases().await {
            eprintln!("main job on PostgreSQL");
            options.databases = Some(urls);
            databases = dbs;
        }
        options.tls = tls_run();
        let demo = demo::start(options).await.expect("demo starts");
        let http = renkei::tls::client_builder(demo.info.ca_file.as_deref())
            .expect("the demo's CA certificate")
            .build()
            .expect("HTTP client");
        Arc::new(TestDemo {
            demo,
            http,
            _dir: dir,
            _databases: databases,
        })
    })
    .await
    .clone()
}

impl TestDemo {
    async fn jizen(&self, form: &str) -> (u16, Value) {
        let info = &self.demo.info;
        let response = self
            .http
            .post(format!("{}/v1/reception_jizen", info.requester_node_url))
            .basic_auth(
                &info.requester_basic_user,
                Some(&info.requester_basic_password),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .expect("requester node answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn corporation(&self, number: &str) -> (u16, Value) {
        let client = &self.demo.info.provider_client_id;
        self.jizen(&format!(
            "call_api=/v1/corporations/{number}&client_id={client}&method=GET&scope=basic+x-nta"
        ))
        .await
    }

    /// Calls the provider node directly with a token of our making.
    async fn direct(&self, number: &str, bearer: Option<String>) -> (u16, Value) {
        let mut request = self.http.get(format!(
            "{}/v1/corporations/{number}",
            self.demo.info.provider_node_url
        ));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("provider node answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }
}

fn error_code(body: &Value) -> &str {
    body.pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("<none>")
}

#[test]
fn the_main_job_returns_the_standard_data_with_provenance() {
    run(|t| async move {
        let (status, body) = t.corporation("1010001072706").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], expected_1010001072706(), "standard data");
        let meta = &body["meta"];
        assert_eq!(meta["provider"], "nta-provider");
        assert_eq!(meta["requester"], "grant-requester");
        assert_eq!(meta["scopes"], json!(["basic", "x-nta"]));
        assert_eq!(meta["provenance"]["dataset"], "nta-corporations");
        assert_eq!(
            meta["provenance"]["source_file"],
            "nta_sabun_20210714.utf8.csv"
        );
        assert_eq!(meta["provenance"]["source_line"], 1);
        assert_eq!(
            meta["provenance"]["source_sha256"],
            "cfbf6bc122d41c5e1b74155c2e881ce7c9df3c2a120875c95972e7b1fb27d5bf"
        );
        assert_eq!(
            meta["provenance"]["plugin_digest"],
            json!(t.demo.info.plugin_digest)
        );
        assert!(meta["timestamp"].as_str().unwrap().ends_with("+09:00"));
    });
}

#[test]
fn the_current_row_answers_and_history_does_not() {
    run(|t| async move {
        // Lines 40-41 of the UTF-8 file: the same number, `latest=0` (old name) then `latest=1` (new name).
        let (status, body) = t.corporation("1011002022162").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["Basic"]["Destination"]["Corporate name"],
            "ＹＫユニット有限会社"
        );
        assert_eq!(body["data"]["x-nta"]["latest"], "1");
        assert_eq!(
            body["data"]["x-nta"]["process"],
            json!({"code": "11", "label": "商号又は名称の変更"})
        );
        assert_eq!(body["meta"]["provenance"]["source_line"], 41);
    });
}

#[test]
fn a_withdrawn_number_is_visible_as_withdrawn() {
    run(|t| async move {
        // Line 434 of the Shift_JIS Web-API file: `433,3100001008599,99,,2017-01-04,,,...` (削除).
        let (status, body) = t.corporation("3100001008599").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["Basic"],
            json!({"Destination": {"Corporate number": "3100001008599"}})
        );
        assert_eq!(
            body["data"]["x-nta"],
            json!({
                "sequenceNumber": "433",
                "process": {"code": "99", "label": "削除"},
                "updateDate": "2017-01-04",
                "withdrawn": true
            })
        );
        assert_eq!(
            body["meta"]["provenance"]["source_file"],
            "nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv"
        );
        assert_eq!(body["meta"]["provenance"]["source_line"], 434);
        assert_eq!(body["meta"]["provenance"]["as_of"], "2017-06-06");
    });
}

#[test]
fn odd_paths_are_client_errors_not_auth_failures() {
    run(|t| async move {
        // Full-width digits travel percent-encoded; the provider decodes them and names the problem.
        let (status, body) = t.corporation("１０１０００１０７２７０６").await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_corporate_number"),
            "{body}"
        );
        let long = "1".repeat(5000);
        let (status, body) = t.corporation(&long).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_call_api"),
            "{body}"
        );
        assert!(
            body.to_string().len() < 1000,
            "the message must not echo the whole input"
        );

        // A NUL (sent as `%00` in the form) is refused, not stripped into another path.
        let (status, body) = t.corporation("%00").await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_call_api"),
            "{body}"
        );

        // A path the provider serves no API at is the caller's mistake (404), not a bad gateway.
        let client = &t.demo.info.provider_client_id;
        for path in [
            "/v1/nothing/1010001072706",
            "/v1/corporations/1010001072706/extra",
        ] {
            let (status, body) = t
                .jizen(&format!(
                    "call_api={path}&client_id={client}&method=GET&scope=basic"
                ))
                .await;
            assert_eq!(
                (status, error_code(&body)),
                (404, "api_path_unknown"),
                "{path}: {body}"
            );
            assert_eq!(
                body["error"]["message"],
                format!("Not Found: provider node {client} serves no API at {path}")
            );
        }

        // Errors that axum produces itself are JSON too.
        let response = t
            .http
            .get(format!(
                "{}/v1/reception_jizen",
                t.demo.info.requester_node_url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "method_not_allowed");
    });
}

#[test]
fn a_file_without_records_never_replaces_the_active_dataset() {
    run(|t| async move {
        let db = &t.demo.provider.db;
        let before = renkei::dataset::active(db, demo::DATASET)
            .await
            .unwrap()
            .unwrap();
        let wasm =
            std::fs::read(repo().join("target/wasm32-wasip2/release/nta_corporate_number.wasm"))
                .unwrap();
        let host = renkei::plugin_host::PluginHost::new(Default::default()).unwrap();
        let plugin = host.load(&wasm).unwrap();
        let junk = repo().join("README.md");
        let error = renkei::dataset::load(db, &plugin, demo::DATASET, &[junk])
            .await
            .unwrap_err();
        assert!(
            matches!(error, renkei::dataset::DatasetError::NothingConverted { rejects, .. } if rejects > 0),
            "{error}"
        );
        let after = renkei::dataset::active(db, demo::DATASET)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.id, before.id, "the active version is unchanged");
        let (status, _) = t.corporation("1010001072706").await;
        assert_eq!(status, 200);
        let bad_name = renkei::dataset::load(db, &plugin, "weird name/../x", &[])
            .await
            .unwrap_err();
        assert!(matches!(
            bad_name,
            renkei::dataset::DatasetError::BadName(_)
        ));
    });
}

#[test]
fn malformed_and_unknown_numbers_are_clear_client_errors() {
    run(|t| async move {
        let (status, body) = t.corporation("1010001072707").await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_corporate_number"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("check digit"),
            "{body}"
        );
        let (status, body) = t.corporation("12345").await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_corporate_number"),
            "{body}"
        );
        // 7123456789012 has a valid check digit (NTA's own example) but is not in the data.
        let (status, body) = t.corporation("7123456789012").await;
        assert_eq!(
            (status, error_code(&body)),
            (404, "corporation_not_found"),
            "{body}"
        );
    });
}

#[test]
fn the_requester_node_keeps_gbizconnect_errors() {
    run(|t| async move {
        let (status, body) = t.jizen("").await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (400, Some("No Request Body."))
        );
        let (status, body) = t.jizen("method=GET").await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (400, Some("This parameter[call_api] is missing."))
        );
        let (status, body) = t
            .jizen("call_api=/v1/corporations/1010001072706&client_id=nobody&method=GET")
            .await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (
                400,
                Some(
                    "This parameter[client_id] is not included in Config File(authorized_server_list)."
                )
            )
        );
        let (status, body) = t.jizen("methodGET").await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (
                400,
                Some("This parameter[methodGET] does not contain equals.")
            )
        );

        let wrong = t
            .http
            .post(format!(
                "{}/v1/reception_jizen",
                t.demo.info.requester_node_url
            ))
            .basic_auth(&t.demo.info.requester_basic_user, Some("wrong password"))
            .body("call_api=/v1/corporations/1010001072706&method=GET")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 401);
    });
}

#[test]
fn the_provider_node_refuses_bad_tokens() {
    run(|t| async move {
        let number = "1010001072706";
        let path = format!("/v1/corporations/{number}");
        let scopes = vec!["basic".to_owned()];
        let request = |audience: &'static str| TokenRequest {
            audience,
            request_id: "test",
            method: "GET",
            path: Box::leak(path.clone().into_boxed_str()),
            scopes: Box::leak(scopes.clone().into_boxed_slice()),
            body: b"",
            consent_ref: None,
        };
        let requester_key = NodeKey::load_or_generate(&t.demo.requester.config.key_file).unwrap();

        let (status, body) = t.direct(number, None).await;
        assert_eq!((status, error_code(&body)), (401, "token_missing"));

        let forger = NodeKey::generate();
        let forged = token::sign(&forger, "grant-requester", &request("nta-provider"), 30);
        let (status, body) = t.direct(number, Some(forged)).await;
        assert_eq!((status, error_code(&body)), (401, "token_signature"));

        let genuine = token::sign(
            &requester_key,
            "grant-requester",
            &request("nta-provider"),
            30,
        );
        let mut claims: RequestClaims =
            serde_json::from_slice(&base64_url(genuine.split('.').nth(1).unwrap())).unwrap();
        claims.iat -= 300;
        claims.nbf -= 300;
        claims.exp = claims.iat + 30;
        let (status, body) = t
            .direct(number, Some(token::sign_claims(&requester_key, &claims)))
            .await;
        assert_eq!((status, error_code(&body)), (401, "token_expired"));

        let misdirected = token::sign(
            &requester_key,
            "grant-requester",
            &request("some-other-node"),
            30,
        );
        let (status, body) = t.direct(number, Some(misdirected)).await;
        assert_eq!((status, error_code(&body)), (403, "token_audience"));

        let (status, body) = t.direct(number, Some(genuine.clone())).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = t.direct(number, Some(genuine)).await;
        assert_eq!((status, error_code(&body)), (401, "token_replayed"));

        let for_other_number = token::sign(
            &requester_key,
            "grant-requester",
            &request("nta-provider"),
            30,
        );
        let (status, body) = t.direct("1180301018771", Some(for_other_number)).await;
        assert_eq!((status, error_code(&body)), (401, "token_request_mismatch"));
    });
}

#[test]
fn both_nodes_log_the_exchange_and_the_portal_collects_it() {
    run(|t| async move {
        let number = t.demo.info.corporate_numbers[0].clone();
        let (status, body) = t.corporation(&number).await;
        assert_eq!(status, 200, "{body}");
        let request_id = body["meta"]["request_id"]
            .as_str()
            .expect("request id")
            .to_owned();

        let requester_side = t.demo.requester.log.recent(50).await.unwrap();
        let provider_side = t.demo.provider.log.recent(50).await.unwrap();
        let mine = |records: &[renkei::storage::entity::exchange_record::Model]| {
            records
                .iter()
                .find(|r| r.request_id == request_id)
                .cloned()
                .expect("record with the request id")
        };
        let (req, prov) = (mine(&requester_side), mine(&provider_side));
        assert_eq!(
            (req.role.as_str(), prov.role.as_str()),
            ("requester", "provider")
        );
        for r in [&req, &prov] {
            assert_eq!(r.requester, "grant-requester");
            assert_eq!(r.provider, "nta-provider");
            assert_eq!(r.path, format!("/v1/corporations/{number}"));
            assert_eq!(r.status, 200);
            assert!(r.time.ends_with("+09:00"), "{}", r.time);
        }
        assert_eq!(prov.corporate_number.as_deref(), Some(number.as_str()));

        // The shippers deliver both records to the portal within a few polls.
        let portal = renkei::portal::data::DbPortalData {
            db: t.demo.portal.db.clone(),
        };
        let mut seen = Vec::new();
        for _ in 0..50 {
            use renkei_app::model::PortalData;
            seen = portal.recent_exchanges(200).await.unwrap();
            if seen.iter().filter(|e| e.request_id == request_id).count() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut roles: Vec<_> = seen
            .iter()
            .filter(|e| e.request_id == request_id)
            .map(|e| e.role.clone())
            .collect();
        roles.sort();
        assert_eq!(roles, vec!["provider", "requester"]);
    });
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Line 1 of nta_sabun_20210714.utf8.csv, as standard data (mapping in docs/nta-plugin.md):
/// `1,1010001072706,01,1,2021-07-14,2015-10-05,"東京増田医療器株式会社",,301,"東京都","文京区",
/// "湯島２丁目６番２号",,13,105,1130034,,,,,,,2015-10-05,1,,,,,"トウキョウマスダイリョウキ",0`
fn expected_1010001072706() -> Value {
    json!({
        "Basic": {
            "Destination": {
                "Corporate number": "1010001072706",
                "Corporate name": "東京増田医療器株式会社",
                "Corporate name Kana": "トウキョウマスダイリョウキ",
                "Head office address1": "東京都",
                "Head office address2": "文京区湯島",
                "Head office address3": "2-6-2"
            }
        },
        "x-nta": {
            "sequenceNumber": "1",
            "process": { "code": "01", "label": "新規" },
            "correct": "1",
            "updateDate": "2021-07-14",
            "changeDate": "2015-10-05",
            "kind": { "code": "301", "label": "株式会社" },
            "prefectureName": "東京都",
            "cityName": "文京区",
            "streetNumber": "湯島２丁目６番２号",
            "prefectureCode": "13",
            "cityCode": "105",
            "postCode": "1130034",
            "assignmentDate": "2015-10-05",
            "latest": "1",
            "hihyoji": "0"
        }
    })
}

/// The value of the sample whose line starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn the_components_report_health_and_metrics_of_the_exchange() {
    run(|t| async move {
        let (status, body) = t.corporation("1010001072706").await;
        assert_eq!(status, 200, "{body}");
        let info = &t.demo.info;
        // The nodes are ready with a valid bundle and an exchange log that is not full.
        let node_ready = json!({"status": "ready", "checks": {"database": "ok", "bundle": "ok", "log_backlog": "ok"}});
        for (base, ready) in [
            (
                &info.portal_url,
                json!({"status": "ready", "checks": {"database": "ok"}}),
            ),
            (&info.requester_node_url, node_ready.clone()),
            (&info.provider_node_url, node_ready),
        ] {
            for (path, expected) in [("/healthz", json!({"status": "ok"})), ("/readyz", ready)] {
                let response = t.http.get(format!("{base}{path}")).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 200, "{base}{path}");
                assert_eq!(response.json::<Value>().await.unwrap(), expected);
            }
        }
        let metrics = |base: String| {
            let http = t.http.clone();
            async move {
                http.get(format!("{base}/metrics"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        let provider = metrics(info.provider_node_url.clone()).await;
        let served = sample(
            &provider,
            r#"renkei_http_requests_total{component="node",instance_id="nta-provider",route="/v1/corporations/{number}",method="GET",status="200"}"#,
        );
        assert!(served.is_some_and(|n| n >= 1.0), "{provider}");
        // The demo's load converted both NTA files (4772 records) on this process's provider node.
        let records = sample(
            &provider,
            r#"renkei_plugin_records_total{component="node",instance_id="nta-provider"}"#,
        );
        assert!(records.is_some_and(|n| n >= 4772.0), "{provider}");
        // Both nodes run on a bundle the portal issued moments ago (it exists: not the -1 of none).
        let age = sample(
            &provider,
            r#"renkei_bundle_age_seconds{component="node",instance_id="nta-provider"}"#,
        );
        assert!(
            age.is_some_and(|a| (0.0..3600.0).contains(&a)),
            "{provider}"
        );
        let requester = metrics(info.requester_node_url.clone()).await;
        let asked = sample(
            &requester,
            r#"renkei_http_requests_total{component="node",instance_id="grant-requester",route="/v1/reception_jizen",method="POST",status="200"}"#,
        );
        assert!(asked.is_some_and(|n| n >= 1.0), "{requester}");
        assert!(
            sample(
                &requester,
                r#"renkei_exchange_log_backlog_records{component="node",instance_id="grant-requester"}"#
            )
            .is_some(),
            "{requester}"
        );
    });
}

#[test]
fn the_portal_hardens_its_answers_and_sends_hsts_only_over_tls() {
    run(|t| async move {
        let info = &t.demo.info;
        let response = t
            .http
            .get(format!("{}/", info.portal_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers();
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert!(
            header("content-security-policy").is_some_and(|v| v.contains("frame-ancestors 'none'"))
        );
        if tls_run() {
            assert_eq!(
                header("strict-transport-security").as_deref(),
                Some("max-age=31536000")
            );
        } else {
            assert_eq!(header("strict-transport-security"), None);
        }
    });
}

#[test]
fn over_tls_every_component_speaks_only_https() {
    run(|t| async move {
        let info = &t.demo.info;
        let urls = [
            &info.portal_url,
            &info.requester_node_url,
            &info.provider_node_url,
        ];
        if !tls_run() {
            assert!(urls.iter().all(|u| u.starts_with("http://")), "{urls:?}");
            assert_eq!(info.ca_file, None);
            return;
        }
        for url in urls {
            assert!(url.starts_with("https://"), "{url}");
            // Plain HTTP to a TLS listener gets no HTTP answer.
            let plain = url.replacen("https://", "http://", 1);
            let answer = renkei::tls::http_client()
                .get(format!("{plain}/healthz"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            assert!(
                answer.as_ref().map_or(true, |r| !r.status().is_success()),
                "{plain}: {answer:?}"
            );
            // A client that does not trust the demo's CA refuses the certificate.
            let untrusting = renkei::tls::client_builder(None).unwrap().build().unwrap();
            let refused = untrusting.get(format!("{url}/healthz")).send().await;
            assert!(refused.is_err(), "{url} was trusted without the demo CA");
        }
        // The main job itself ran node to node over TLS (the provider's endpoint in the bundle is https).
        let (status, body) = t.corporation("1010001072706").await;
        assert_eq!(status, 200, "{body}");
    });
}
