//! renkei's own HTTP APIs as OpenAPI 3.1 documents, generated from the handlers' `#[utoipa::path]`
//! attributes and the request / response types' `ToSchema`: one for the portal, one for the nodes.
//! Each is served at `GET /openapi.json` (no login) and listed in the portal's catalogue like any
//! provider API (slugs [`PORTAL_API_SLUG`] and [`NODE_API_SLUG`]).

use crate::{
    accounts::routes as accounts,
    api_error::{ErrorBody, ErrorDetail},
    connectbox::http as connectbox,
    consent::{oidc, prior, tsudo},
    node::{admin, corporations, provider, requester},
    portal::{applications, bundle, catalogue, data, ingest, systems},
    storage::entity::portal_api,
};
use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use std::sync::LazyLock;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

/// Where every portal and node serves its own document.
pub const DOCUMENT_PATH: &str = "/openapi.json";
/// The catalogue entries of the two documents.
pub const PORTAL_API_SLUG: &str = "renkei-portal-api";
pub const NODE_API_SLUG: &str = "renkei-node-api";

// ---- operations without a handler function of their own (closures in the routers) -------------

/// gBizConnect's health check: an empty 200.
#[utoipa::path(
    get,
    path = "/healthcheck",
    tag = "operations",
    responses((status = 200, description = "Up (empty body)", body = String, content_type = "text/plain")),
)]
#[allow(dead_code)]
fn healthcheck() {}

/// Ready when the database answers (503 with the reason otherwise).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "Not ready: the failing check is named", body = ErrorBody),
    ),
)]
#[allow(dead_code)]
fn readyz() {}

/// Prometheus / OpenMetrics text: requests by route template, method and status, errors by code.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Metrics", body = String, content_type = "application/openmetrics-text")),
)]
#[allow(dead_code)]
fn metrics() {}

/// This document (OpenAPI 3.1, JSON).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The portal's OpenAPI document", body = Object)),
)]
pub async fn portal_document() -> Response {
    json_document(&PORTAL_JSON)
}

/// This document (OpenAPI 3.1, JSON).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The node's OpenAPI document", body = Object)),
)]
pub async fn node_document() -> Response {
    json_document(&NODE_JSON)
}

fn json_document(text: &'static str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response()
}

static PORTAL_JSON: LazyLock<String> = LazyLock::new(|| {
    PortalApi::openapi()
        .to_json()
        .expect("the portal's OpenAPI document serialises")
});
static NODE_JSON: LazyLock<String> = LazyLock::new(|| {
    NodeApi::openapi()
        .to_json()
        .expect("the node's OpenAPI document serialises")
});

/// The portal's document as JSON text.
pub fn portal_json() -> &'static str {
    &PORTAL_JSON
}

/// The nodes' document as JSON text.
pub fn node_json() -> &'static str {
    &NODE_JSON
}

// ---- the documents -----------------------------------------------------------------------------

#[derive(OpenApi)]
#[openapi(
    info(
        title = "renkei portal API",
        description = "The portal's REST API: accounts and sessions, the public catalogue, systems, API \
            publication, API-use applications, prior consents, the OpenID provider that stands in for \
            gBizID, log ingest and signed node bundles, health and metrics. Session routes need the \
            `renkei_session` cookie; every POST / PUT under a session also needs the `x-csrf-token` header \
            (from `GET /api/v1/session`). Errors are `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        accounts::session_info,
        accounts::sign_up,
        accounts::login,
        accounts::logout,
        accounts::me,
        accounts::request_email_change,
        accounts::confirm_email_change,
        accounts::request_password_reset,
        accounts::confirm_password_reset,
        accounts::accept_invitation,
        accounts::own_organisation,
        accounts::list_members,
        accounts::invite_member,
        accounts::list_notices,
        accounts::list_organisations,
        accounts::approve_organisation,
        accounts::reject_organisation,
        accounts::list_accounts,
        accounts::list_audit,
        accounts::list_outbox,
        accounts::publish_notice,
        crate::accounts::admin::operator_suspend,
        crate::accounts::admin::operator_reactivate,
        crate::accounts::admin::operator_role,
        crate::accounts::admin::admin_deactivate,
        crate::accounts::admin::admin_reactivate,
        crate::accounts::admin::admin_role,
        crate::portal::exchanges::list,
        crate::portal::exchanges::export_csv,
        crate::portal::exchanges::stats,
        crate::portal::chain_heads::heads,
        crate::portal::uptime::overview,
        crate::portal::uptime::history,
        catalogue::search_json,
        catalogue::categories_json,
        catalogue::detail_json,
        data::list_apis_json,
        systems::list_systems,
        systems::register_system,
        systems::get_system,
        systems::update_system,
        systems::list_own_apis,
        systems::publish,
        systems::get_own_api,
        systems::update_api,
        systems::add_version,
        systems::unpublish,
        systems::republish,
        applications::list,
        applications::submit,
        applications::get_one,
        applications::history,
        applications::approve,
        applications::reject,
        applications::withdraw,
        applications::revoke,
        prior::list,
        prior::grant,
        prior::revoke,
        oidc::discovery,
        oidc::jwks,
        oidc::authorize_page,
        oidc::authorize_decision,
        oidc::token,
        ingest::receive_exchange_records,
        bundle::get_node_bundle,
        healthcheck,
        crate::observability::healthz,
        readyz,
        metrics,
        portal_document,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes, &ErrorResponses),
    tags(
        (name = "accounts", description = "Sign-up, login, sessions, one-time links"),
        (name = "organisation", description = "The caller's organisation and its members"),
        (name = "operator", description = "Operators: review, accounts, audit log, outbox, notices"),
        (name = "catalogue", description = "The public catalogue (no login)"),
        (name = "systems", description = "An organisation's systems (nodes)"),
        (name = "published-apis", description = "API publication: listing, versions, unpublish"),
        (name = "applications", description = "API-use applications and their decisions"),
        (name = "consents", description = "Prior consent (事前同意) by a corporation's representative"),
        (name = "oidc", description = "The portal as OpenID provider (per-request consent, 都度同意)"),
        (name = "exchange-log", description = "The exchange log as each viewer may see it: search, CSV, chart series"),
        (name = "uptime", description = "The portal's probes of every node: state, availability, outages"),
        (name = "nodes", description = "Node-to-portal: signed log batches and configuration bundles"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    ),
)]
pub struct PortalApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "renkei node API",
        description = "A renkei node's HTTP API. Requester role: the organisation's own systems call \
            `/v1/reception_jizen` (gBizConnect form), `/v1/reception_tsudo` (with per-request consent) or \
            `/v1/requests` (JSON) with HTTP Basic, and the node calls the provider with a signed request \
            token. Provider role: `/v1/corporations…` answer only a bearer JWS (EdDSA) from an approved \
            node. ConnectBox uploads and the admin API take HTTP Basic. A node serves the routes of the \
            roles it is configured for. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        requester::reception_jizen,
        requester::reception_tsudo,
        requester::send_request,
        tsudo::consent_page,
        tsudo::start,
        tsudo::callback,
        provider::get_corporation,
        corporations::corporation_status,
        corporations::list_corporations,
        connectbox::show_dataset,
        connectbox::upload_file,
        connectbox::show_upload,
        connectbox::download_rejects,
        admin::install_bundle,
        admin::status,
        healthcheck,
        crate::observability::healthz,
        readyz,
        metrics,
        node_document,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes, &ErrorResponses),
    tags(
        (name = "requester", description = "The organisation's systems ask for data through their node"),
        (name = "consent", description = "Per-request consent (都度同意) pages at the requester node"),
        (name = "provider", description = "Provider APIs, called node to node"),
        (name = "connectbox", description = "Uploads that become datasets"),
        (name = "admin", description = "Node administration"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    ),
)]
pub struct NodeApi;

/// The ways in: session cookie + CSRF header (portal), HTTP Basic (systems, admin, uploaders), bearer
/// JWS (node to node).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let basic = |what: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(what.to_owned()))
                    .build(),
            )
        };
        let schemes = [
            (
                "session_cookie",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    crate::accounts::gate::SESSION_COOKIE,
                    "The portal session, set by POST /api/v1/login",
                ))),
            ),
            (
                "csrf_token",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    crate::accounts::gate::CSRF_HEADER,
                    "The session's CSRF token (GET /api/v1/session), on every POST / PUT",
                ))),
            ),
            (
                "system_basic",
                basic("An organisation's own system, configured at its requester node"),
            ),
            (
                "admin_basic",
                basic("The node's `admin` user (admin_password_hash in the node configuration)"),
            ),
            (
                "uploader_basic",
                basic("A ConnectBox uploader of the node's [connectbox] configuration"),
            ),
            (
                "node_jws",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWS")
                        .description(Some(
                            "A request token signed by the calling node's Ed25519 key (EdDSA): \
                             audience, method, path, scopes, body hash, jti, at most 60 s"
                                .to_owned(),
                        ))
                        .build(),
                ),
            ),
        ];
        for (name, scheme) in schemes {
            components.add_security_scheme(name, scheme);
        }
    }
}

/// Every operation can answer the JSON error body; added as the `default` response where the
/// operation does not describe its own.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = ResponseBuilder::new()
            .description(
                "Error: `{\"error\": {\"code\", \"message\"}}` (see ErrorDetail for the codes)",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                op.responses
                    .responses
                    .entry("default".to_owned())
                    .or_insert_with(|| RefOr::T(error.clone()));
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

// ---- the catalogue entries ---------------------------------------------------------------------

fn own_entry(
    slug: &str,
    name: &str,
    summary: &str,
    client_id: &str,
    path_template: &str,
    document: &str,
) -> portal_api::Model {
    portal_api::Model {
        id: 0,
        slug: slug.to_owned(),
        name: name.to_owned(),
        summary: summary.to_owned(),
        description: format!(
            "Generated from renkei's handlers (utoipa) and served by every instance at `GET {DOCUMENT_PATH}`."
        ),
        provider: "renkei".to_owned(),
        provider_client_id: client_id.to_owned(),
        categories: serde_json::json!(["renkei", "platform"]).to_string(),
        scopes: "[]".to_owned(),
        consent_required: false,
        path_template: path_template.to_owned(),
        openapi: document.to_owned(),
        organisation_id: None,
        terms: String::new(),
        status: crate::portal::catalogue::PUBLISHED.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        updated_at: String::new(),
    }
}

/// The two catalogue entries of renkei's own APIs, with their generated documents.
pub fn catalogue_entries() -> [portal_api::Model; 2] {
    [
        own_entry(
            PORTAL_API_SLUG,
            "renkei ポータル API / renkei portal API",
            "ポータルの REST API（アカウント、カタログ、システム、API 公開、利用申請、事前同意、OIDC、ログ収集、バンドル）。The portal's REST API.",
            "renkei-portal",
            "/api/v1/catalogue",
            portal_json(),
        ),
        own_entry(
            NODE_API_SLUG,
            "renkei ノード API / renkei node API",
            "ノードの HTTP API（要求側、提供側、ConnectBox、管理）。A node's HTTP API: requester, provider, ConnectBox, admin.",
            "renkei-node",
            "/v1/corporations/{number}",
            node_json(),
        ),
    ]
}
