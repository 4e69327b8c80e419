//! renkei's own OpenAPI documents, against a real portal and a real node (provider, requester and
//! ConnectBox roles at once) on 127.0.0.1:0: `GET /openapi.json` is served without login, passes the
//! catalogue's document check, lists the key routes, and every operation it documents is routed (the
//! request is counted under exactly the documented route template, and the method is allowed). Both
//! documents are listed in the catalogue.

use renkei::{
    accounts::AccountsConfig,
    node::{self, NodeConfig, NodeState, ProvidedApi, ProviderConfig, RequesterConfig},
    portal::{self, PortalConfig, PortalState, openapi_doc},
    storage,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

struct Running {
    url: String,
    _dir: tempfile::TempDir,
}

async fn start_portal() -> (Running, Arc<PortalState>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = PortalState::open(PortalConfig {
        listen: "127.0.0.1:0".into(),
        database_url: storage::sqlite_url(&dir.path().join("portal.db")),
        key_file: dir.path().join("portal.key.pem"),
        site_root: dir.path().join("site"),
        bundle_lifetime_secs: portal::DEFAULT_BUNDLE_LIFETIME_SECS,
        accounts: AccountsConfig::default(),
        tls: None,
        log_retention_months: 12,
    })
    .await
    .expect("portal opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = portal::serve_listener(state.clone(), listener)
        .await
        .unwrap();
    (
        Running {
            url: format!("http://{addr}"),
            _dir: dir,
        },
        state,
    )
}

/// A node with every role, so that every route of the node document exists.
async fn start_node() -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = NodeConfig {
        client_id: "node-openapi".into(),
        organisation: "文書検査株式会社".into(),
        listen: "127.0.0.1:0".into(),
        database_url: storage::sqlite_url(&dir.path().join("node.db")),
        key_file: dir.path().join("node.key.pem"),
        portal_url: None,
        portal_public_key: None,
        bundle_file: None,
        bundle_poll_ms: 60_000,
        admin_password_hash: Some(renkei::password::hash("admin-password-for-tests")),
        trusted_proxies: vec![],
        provider: Some(ProviderConfig {
            api: ProvidedApi {
                name: "nta-corporations".into(),
                dataset: "nta".into(),
                scopes: vec!["basic".into()],
            },
            clients: vec![],
        }),
        requester: Some(RequesterConfig {
            systems: vec![],
            providers: vec![],
            consent: None,
            cors_origins: vec![],
        }),
        connectbox: Some(renkei::connectbox::ConnectBoxConfig {
            data_dir: dir.path().join("connectbox"),
            max_upload_bytes: 1024 * 1024,
            datasets: vec![],
            uploaders: vec![],
        }),
        tls: None,
        peer_ca_file: None,
        log: Default::default(),
    };
    let state = NodeState::open(config).await.expect("node opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = node::serve_listener(state, listener).expect("node serves");
    Running {
        url: format!("http://{addr}"),
        _dir: dir,
    }
}

fn http() -> reqwest::Client {
    renkei::tls::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET /openapi.json` without credentials: 200, JSON, OpenAPI 3.1, accepted by the catalogue's check.
async fn served_document(url: &str, title: &str) -> Value {
    let response = http()
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let text = response.text().await.unwrap();
    let checked = openapi_doc::check_text(&text).unwrap_or_else(|e| panic!("{title}: {e}"));
    assert_eq!(checked.title, title);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    doc
}

/// Every `(METHOD, path template)` the document describes.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn assert_documented(doc: &Value, wanted: &[(&str, &str)]) {
    let ops = operations(doc);
    for (method, path) in wanted {
        assert!(
            ops.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is not in the document ({} operations)",
            ops.len()
        );
    }
}

/// Sends every documented operation with placeholder path parameters and no credentials, then reads
/// `/metrics`: each one must have been counted under its own route template (so it was routed there,
/// not to a catch-all or the fallback), and none may be a 404 / 405 of the router.
async fn assert_every_operation_is_routed(url: &str, doc: &Value) {
    let client = http();
    let ops = operations(doc);
    let mut statuses = Vec::new();
    for (method, template) in &ops {
        let path = placeholders(template);
        let response = client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{url}{path}"),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        let code = response
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: the method is not routed"
        );
        assert_ne!(
            code.as_deref(),
            Some("method_not_allowed"),
            "{method} {path}"
        );
        statuses.push((method, template, path, status));
    }
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (method, template, path, status) in statuses {
        let line = format!(
            "route=\"{template}\",method=\"{method}\",status=\"{}\"}}",
            status.as_u16()
        );
        assert!(
            metrics.contains(&line),
            "{method} {path} ({status}) was not routed to {template}: no {line} in /metrics:\n{}",
            metrics
                .lines()
                .filter(|l| l.contains("requests_total"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn placeholders(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("closing brace") + open;
        out.push_str(match &rest[open + 1..close] {
            "number" => "1010001072706",
            "id" => "1",
            _ => "placeholder-1",
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_portal_serves_its_document_and_every_operation_in_it_is_routed() {
    let (portal, _state) = start_portal().await;
    let doc = served_document(&portal.url, "renkei portal API").await;
    assert_documented(
        &doc,
        &[
            ("GET", "/api/v1/session"),
            ("POST", "/api/v1/login"),
            ("POST", "/api/v1/signup"),
            ("GET", "/api/v1/catalogue"),
            ("GET", "/api/v1/catalogue/{slug}"),
            ("GET", "/api/v1/catalogue/categories"),
            ("GET", "/api/v1/systems"),
            ("POST", "/api/v1/systems"),
            ("PUT", "/api/v1/systems/{client_id}"),
            ("POST", "/api/v1/published-apis"),
            ("POST", "/api/v1/published-apis/{slug}/versions"),
            ("POST", "/api/v1/applications"),
            ("POST", "/api/v1/applications/{id}/approve"),
            ("GET", "/api/v1/applications/{id}/history"),
            ("GET", "/api/v1/consents"),
            ("POST", "/api/v1/consents/{id}/revoke"),
            ("GET", "/.well-known/openid-configuration"),
            ("GET", "/oidc/jwks"),
            ("GET", "/oidc/authorize"),
            ("POST", "/oidc/token"),
            ("POST", "/api/v1/exchange-records"),
            ("GET", "/api/v1/nodes/{client_id}/bundle"),
            ("GET", "/api/v1/operator/audit"),
            ("POST", "/api/v1/operator/accounts/{id}/suspend"),
            ("POST", "/api/v1/org/members/{id}/role"),
            ("GET", "/api/v1/exchanges"),
            ("GET", "/api/v1/exchanges.csv"),
            ("GET", "/api/v1/exchanges/stats"),
            ("GET", "/api/v1/uptime"),
            ("GET", "/api/v1/uptime/{client_id}"),
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
        ],
    );
    // How to get in, and what an error looks like.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["session_cookie"],
        serde_json::json!({"type": "apiKey", "in": "cookie", "name": "renkei_session", "description": "The portal session, set by POST /api/v1/login"})
    );
    assert_eq!(schemes["csrf_token"]["in"], "header");
    assert_eq!(schemes["csrf_token"]["name"], "x-csrf-token");
    assert_eq!(schemes["node_jws"]["scheme"], "bearer");
    let login = &doc["paths"]["/api/v1/login"]["post"];
    assert_eq!(
        login["security"],
        serde_json::json!([{"session_cookie": [], "csrf_token": []}])
    );
    assert_eq!(
        login["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Login"
    );
    assert_eq!(
        doc["paths"]["/api/v1/exchange-records"]["post"]["security"],
        serde_json::json!([{"node_jws": []}])
    );
    assert_eq!(
        login["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let error = &doc["components"]["schemas"]["ErrorDetail"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]));
    assert!(
        error["properties"]["code"]["description"]
            .as_str()
            .unwrap()
            .contains("`token_replayed`"),
        "{error}"
    );
    // The catalogue's search answer is described by its own schema.
    assert_eq!(
        doc["paths"]["/api/v1/catalogue"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/SearchPage"
    );
    assert_every_operation_is_routed(&portal.url, &doc).await;
}

#[tokio::test]
async fn a_node_serves_its_document_and_every_operation_in_it_is_routed() {
    let node = start_node().await;
    let doc = served_document(&node.url, "renkei node API").await;
    assert_documented(
        &doc,
        &[
            ("POST", "/v1/reception_jizen"),
            ("POST", "/v1/reception_tsudo"),
            ("POST", "/v1/requests"),
            ("GET", "/v1/consent"),
            ("GET", "/v1/auth"),
            ("GET", "/v1/auth/redirect_uri"),
            ("GET", "/v1/corporations/{number}"),
            ("GET", "/v1/corporations/{number}/status"),
            ("GET", "/v1/corporations"),
            ("POST", "/connectbox/datasets/{name}/uploads"),
            ("GET", "/connectbox/uploads/{id}"),
            ("POST", "/admin/bundle"),
            ("GET", "/admin/status"),
            ("GET", "/healthcheck"),
            ("GET", "/healthz"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
        ],
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["system_basic"]["scheme"], "basic");
    assert_eq!(schemes["node_jws"]["bearerFormat"], "JWS");
    assert_eq!(
        doc["paths"]["/v1/reception_jizen"]["post"]["security"],
        serde_json::json!([{"system_basic": []}])
    );
    assert_eq!(
        doc["paths"]["/v1/corporations/{number}"]["get"]["security"],
        serde_json::json!([{"node_jws": []}])
    );
    assert_eq!(
        doc["paths"]["/v1/requests"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/JsonRequest"
    );
    // The portal's routes are not in the node's document, and the other way round.
    assert!(doc["paths"].get("/api/v1/login").is_none());
    assert_every_operation_is_routed(&node.url, &doc).await;
}

#[tokio::test]
async fn both_documents_are_listed_in_the_catalogue() {
    let (portal, state) = start_portal().await;
    state.publish_own_apis().await.expect("own APIs published");
    // Again at the next start: updated by slug, not duplicated.
    state.publish_own_apis().await.expect("published again");
    let client = http();
    let page: Value = client
        .get(format!("{}/api/v1/catalogue?category=renkei", portal.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2, "{page}");
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap())
        .collect();
    let mut sorted = slugs.clone();
    sorted.sort();
    assert_eq!(sorted, ["renkei-node-api", "renkei-portal-api"]);
    for (slug, title) in [
        ("renkei-portal-api", "renkei portal API"),
        ("renkei-node-api", "renkei node API"),
    ] {
        assert!(slugs.contains(&slug), "{slug} not in {slugs:?}");
        let item = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["slug"] == slug)
            .unwrap();
        assert_eq!(
            item["categories"],
            serde_json::json!(["renkei", "platform"])
        );
        let detail: Value = client
            .get(format!("{}/api/v1/catalogue/{slug}", portal.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(detail["openapi"]["info"]["title"], title);
        assert_eq!(detail["versions"].as_array().unwrap().len(), 1, "{detail}");
    }
    // The portal's entry is exactly the document it serves.
    let served: Value = client
        .get(format!("{}/openapi.json", portal.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let detail: Value = client
        .get(format!("{}/api/v1/catalogue/renkei-portal-api", portal.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["openapi"], served);
    // The other category also finds them.
    let page: Value = client
        .get(format!("{}/api/v1/catalogue?category=platform", portal.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2, "{page}");
}
