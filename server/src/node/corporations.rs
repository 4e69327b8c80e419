//! Provider APIs beside the lookup: existence / status check (実在性確認) and the filtered, paged list.
//!
//! Both go through the same authorisation as `GET /v1/corporations/{number}` (`provider::authorize`),
//! filter by scope, carry provenance in `meta` and write an exchange-log record.

use super::{
    NodeState,
    edge::ClientAddr,
    provider::{Authorized, authorize, serve_exchange},
};
use crate::{
    api_error::{ApiError, clip},
    dataset::{self, Found, ListFilter},
    jst,
};
use axum::{
    Extension,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::Response,
};
use renkei_standard::CorporateNumber;
use serde_json::{Value, json};
use std::sync::Arc;

const DEFAULT_PER_PAGE: u64 = 20;
const MAX_PER_PAGE: u64 = 100;

/// `GET /v1/corporations/{number}/status`: active, closed (date, cause), merged (successor) or withdrawn.
#[utoipa::path(
    get,
    path = "/v1/corporations/{number}/status",
    tag = "provider",
    params(("number" = String, Path, description = "Corporate number (13 digits)")),
    security(("node_jws" = [])),
    responses(
        (status = 200, description = "Active, closed, merged or withdrawn", body = Object),
    ),
)]
pub async fn corporation_status(
    State(state): State<Arc<NodeState>>,
    Path(number): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
) -> Response {
    serve_exchange(
        &state,
        &uri,
        &headers,
        client,
        async |state, bearer, path, entry| {
            let provider = provider(state)?;
            let authorized = authorize(state, bearer, path, entry)?;
            let number = parse_number(&number)?;
            entry.corporate_number = Some(number.as_str().to_owned());
            entry.consent_ref = authorized.check_consent(state, &number)?;
            let Authorized { claims, scopes, .. } = authorized;
            let found = dataset::find(&state.db, &provider.api.dataset, number.as_str())
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| not_found(&number, &provider.api.dataset))?;
            let mut data = status_of(number.as_str(), &found.document);
            // The name is Basic data: only for callers granted `basic`.
            if scopes.iter().any(|s| s == "basic")
                && let Some(name) = found
                    .document
                    .pointer("/Basic/Destination/Corporate name")
                    .cloned()
            {
                data["name"] = name;
            }
            Ok(json!({
                "meta": meta(state, &claims, &scopes, Some(provenance(&found))),
                "data": data,
            }))
        },
    )
    .await
}

/// `GET /v1/corporations?name_prefix=&prefecture=&changed_since=&page=&per_page=`: the current record of
/// each matching number, in corporate-number order, one page at a time.
#[utoipa::path(
    get,
    path = "/v1/corporations",
    tag = "provider",
    params(("name_prefix" = Option<String>, Query, description = "Start of the name"), ("prefecture" = Option<String>, Query, description = "Prefecture name or code 01-47"), ("changed_since" = Option<String>, Query, description = "YYYY-MM-DD"), ("page" = Option<u64>, Query, description = "Page, from 1"), ("per_page" = Option<u64>, Query, description = "1-100")),
    security(("node_jws" = [])),
    responses(
        (status = 200, description = "A page of corporations", body = Object),
    ),
)]
pub async fn list_corporations(
    State(state): State<Arc<NodeState>>,
    uri: Uri,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
) -> Response {
    serve_exchange(&state, &uri, &headers, client, async |state, bearer, path, entry| {
        let provider = provider(state)?;
        let authorized = authorize(state, bearer, path, entry)?;
        if authorized.consent_required() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "consent_required",
                format!(
                    "{} answers only with a corporation's consent, one corporation at a time: it has no list",
                    provider.api.name
                ),
            ));
        }
        let Authorized { claims, scopes, .. } = authorized;
        let query = ListQuery::parse(uri.query())?;
        let listed = dataset::list(
            &state.db,
            &provider.api.dataset,
            &query.filter,
            query.page,
            query.per_page,
        )
        .await
        .map_err(ApiError::internal)?;
        let (version, total, items) = match listed {
            Some(l) => (Some(l.dataset), l.total, l.items),
            None => (None, 0, Vec::new()),
        };
        let data: Vec<Value> = items
            .iter()
            .map(|found| {
                json!({
                    "corporate_number": found
                        .document
                        .pointer("/Basic/Destination/Corporate number")
                        .cloned()
                        .unwrap_or(Value::Null),
                    "provenance": {
                        "source_file": found.source.file_name,
                        "source_sha256": found.source.sha256,
                        "source_line": found.line,
                        "as_of": found.source.as_of,
                    },
                    "data": renkei_standard::filter_by_scopes(&found.document, &scopes),
                })
            })
            .collect();
        let mut meta = meta(
            state,
            &claims,
            &scopes,
            version.map(|v| {
                json!({
                    "dataset": v.name,
                    "dataset_version": v.id,
                    "published_at": v.published_at,
                    "plugin_digest": v.plugin_digest,
                })
            }),
        );
        meta["page"] = json!(query.page);
        meta["per_page"] = json!(query.per_page);
        meta["total"] = json!(total);
        meta["filters"] = json!({
            "name_prefix": query.filter.name_prefix,
            "prefecture": query.filter.prefecture,
            "changed_since": query.filter.changed_since,
        });
        Ok(json!({ "meta": meta, "data": data }))
    })
    .await
}

/// The status facts of a record, read from the NTA extension block (`x-nta`).
fn status_of(number: &str, document: &Value) -> Value {
    let nta = document.get("x-nta").cloned().unwrap_or(json!({}));
    let text = |key: &str| nta.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut data = json!({ "corporate_number": number });
    let status = if nta.get("withdrawn") == Some(&Value::Bool(true)) {
        "withdrawn"
    } else if text("closeDate").is_some() || nta.get("closeCause").is_some() {
        let merged = text("successorCorporateNumber").is_some()
            || nta.pointer("/closeCause/code").and_then(Value::as_str) == Some("11");
        data["closed"] = json!({
            "date": text("closeDate"),
            "cause": nta.get("closeCause").cloned().unwrap_or(Value::Null),
        });
        if let Some(successor) = text("successorCorporateNumber") {
            data["successor_corporate_number"] = json!(successor);
        }
        if merged { "merged" } else { "closed" }
    } else {
        "active"
    };
    data["status"] = json!(status);
    if let Some(process) = nta.get("process") {
        data["process"] = process.clone();
    }
    if let Some(date) = text("updateDate") {
        data["update_date"] = json!(date);
    }
    if let Some(cause) = text("changeCause") {
        data["change_cause"] = json!(cause);
    }
    data
}

struct ListQuery {
    filter: ListFilter,
    page: u64,
    per_page: u64,
}

impl ListQuery {
    fn parse(query: Option<&str>) -> Result<ListQuery, ApiError> {
        let bad = |field: &str, message: String| {
            ApiError::bad_request("invalid_parameter", format!("{field}: {message}"))
        };
        let mut parsed = ListQuery {
            filter: ListFilter::default(),
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        };
        let number = |field: &str, value: &str, max: u64| -> Result<u64, ApiError> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    bad(
                        field,
                        format!("{:?} is not a whole number from 1 to {max}", clip(value)),
                    )
                })
        };
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.trim();
            match key.as_ref() {
                "name_prefix" if !value.is_empty() => {
                    if value.chars().count() > 100 {
                        return Err(bad("name_prefix", "at most 100 characters".to_owned()));
                    }
                    parsed.filter.name_prefix = Some(value.to_owned());
                }
                "prefecture" if !value.is_empty() => {
                    parsed.filter.prefecture = Some(prefecture(value).ok_or_else(|| {
                        bad(
                            "prefecture",
                            format!(
                                "{:?} is neither a prefecture name (東京都) nor a code 01-47",
                                clip(value)
                            ),
                        )
                    })?);
                }
                "changed_since" if !value.is_empty() => {
                    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                        bad(
                            "changed_since",
                            format!("{:?} is not a date YYYY-MM-DD", clip(value)),
                        )
                    })?;
                    parsed.filter.changed_since = Some(value.to_owned());
                }
                "page" => parsed.page = number("page", value, 1_000_000)?,
                "per_page" => parsed.per_page = number("per_page", value, MAX_PER_PAGE)?,
                "name_prefix" | "prefecture" | "changed_since" => {}
                other => {
                    return Err(bad(
                        &clip(other),
                        "unknown parameter (use name_prefix, prefecture, changed_since, page, per_page)"
                            .to_owned(),
                    ));
                }
            }
        }
        Ok(parsed)
    }
}

/// A prefecture by name or by its JIS X 0401 code (`13` or `1`… `47`), as its name.
fn prefecture(value: &str) -> Option<String> {
    let names = renkei_standard::PREFECTURES;
    if names.contains(&value) {
        return Some(value.to_owned());
    }
    let code: usize = value.parse().ok().filter(|_| value.len() <= 2)?;
    names
        .get(code.checked_sub(1)?)
        .map(|name| (*name).to_owned())
}

fn provider(state: &NodeState) -> Result<&super::ProviderConfig, ApiError> {
    state
        .config
        .provider
        .as_ref()
        .ok_or_else(|| ApiError::internal("not a provider"))
}

fn parse_number(number: &str) -> Result<CorporateNumber, ApiError> {
    CorporateNumber::parse(number).map_err(|e| {
        ApiError::bad_request(
            "invalid_corporate_number",
            format!("corporate number {:?}: {e}", clip(number)),
        )
    })
}

fn not_found(number: &CorporateNumber, dataset: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "corporation_not_found",
        format!("corporate number {number} is not in dataset {dataset}"),
    )
}

fn provenance(found: &Found) -> Value {
    json!({
        "dataset": found.dataset.name,
        "dataset_version": found.dataset.id,
        "published_at": found.dataset.published_at,
        "source_file": found.source.file_name,
        "source_sha256": found.source.sha256,
        "source_line": found.line,
        "as_of": found.source.as_of,
        "plugin_digest": found.dataset.plugin_digest,
    })
}

fn meta(
    state: &NodeState,
    claims: &crate::token::RequestClaims,
    scopes: &[String],
    provenance: Option<Value>,
) -> Value {
    let api = state
        .config
        .provider
        .as_ref()
        .map(|p| p.api.name.clone())
        .unwrap_or_default();
    json!({
        "request_id": claims.rid,
        "provider": state.config.client_id,
        "requester": claims.iss,
        "api": api,
        "scopes": scopes,
        "timestamp": jst::now_rfc3339(),
        "provenance": provenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_closure_merger_and_withdrawal() {
        let merged = json!({"x-nta": {"closeDate": "2021-07-01", "closeCause": {"code": "11", "label": "合併による解散等"},
            "successorCorporateNumber": "9140001022640", "updateDate": "2021-07-14"}});
        let data = status_of("1010001072706", &merged);
        assert_eq!(data["status"], "merged");
        assert_eq!(data["successor_corporate_number"], "9140001022640");
        assert_eq!(data["closed"]["date"], "2021-07-01");
        let closed = json!({"x-nta": {"closeDate": "2021-07-01", "closeCause": {"code": "01", "label": "清算の結了等"}}});
        assert_eq!(status_of("1", &closed)["status"], "closed");
        let withdrawn = json!({"x-nta": {"withdrawn": true, "updateDate": "2017-01-04"}});
        assert_eq!(status_of("1", &withdrawn)["status"], "withdrawn");
        assert_eq!(status_of("1", &json!({"x-nta": {}}))["status"], "active");
    }

    #[test]
    fn list_parameters_are_checked_and_named() {
        let q = ListQuery::parse(Some(
            "name_prefix=%E6%A0%AA&prefecture=13&page=2&per_page=5",
        ))
        .unwrap();
        assert_eq!(q.filter.name_prefix.as_deref(), Some("株"));
        assert_eq!(q.filter.prefecture.as_deref(), Some("東京都"));
        assert_eq!((q.page, q.per_page), (2, 5));
        for (query, field) in [
            ("per_page=101", "per_page"),
            ("page=0", "page"),
            ("prefecture=48", "prefecture"),
            ("changed_since=2021-13-01", "changed_since"),
            ("sort=name", "sort"),
        ] {
            let e = ListQuery::parse(Some(query)).err().unwrap();
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (400, "invalid_parameter")
            );
            assert!(e.message.starts_with(field), "{query}: {}", e.message);
        }
    }
}
