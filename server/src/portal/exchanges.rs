//! The exchange log as the portal shows it: search, paging, CSV export and chart series, each limited
//! to what the caller may see.
//!
//! - An operator sees every record.
//! - An organisation's people see the exchanges in which one of its systems took part (as requester
//!   or provider), and the exchanges about the organisation itself (its corporate number was asked
//!   for): a corporation sees who obtained its data.
//! - Anyone else gets 401.
//!
//! `GET /api/v1/exchanges` answers a page of records, `GET /api/v1/exchanges.csv` the same search as a
//! CSV file, and `GET /api/v1/exchanges/stats` the series the log page draws (exchanges, errors and
//! latency percentiles per hour or day, and the top APIs and partners).

use super::{
    PortalState,
    workflow::{SafeJson, WorkflowError, org_caller},
};
use crate::{
    accounts::{Role, routes::Caller},
    storage::entity::{portal_exchange, portal_system},
};
use axum::{
    extract::{RawQuery, State},
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::json;
use std::{collections::BTreeMap, sync::Arc};
use tower_sessions::Session;

pub(super) const READ_ROLES: &[Role] = &[Role::Operator, Role::OrgAdmin, Role::OrgMember];
/// Records per page unless the caller asks for fewer or more (at most [`MAX_PER_PAGE`]).
pub const DEFAULT_PER_PAGE: u64 = 50;
pub const MAX_PER_PAGE: u64 = 200;
/// A CSV export or a chart covers at most this many records (the newest of the search).
pub const MAX_EXPORT: u64 = 100_000;

/// What the caller asked for; every field optional. Parsed from the query string by [`parse`], which
/// names the field of any value it cannot use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    /// Inclusive lower bound, JST.
    pub from: Option<DateTime<FixedOffset>>,
    /// Exclusive upper bound, JST.
    pub to: Option<DateTime<FixedOffset>>,
    pub requester: Option<String>,
    pub provider: Option<String>,
    pub api: Option<String>,
    pub status: Option<StatusClass>,
    pub corporate_number: Option<String>,
    pub request_id: Option<String>,
    /// Only the exchanges about the caller's own organisation (its corporate number).
    pub about_us: bool,
    pub page: u64,
    pub per_page: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    ClientError,
    ServerError,
    /// Anything not 2xx.
    Failed,
}

impl StatusClass {
    fn parse(value: &str) -> Option<StatusClass> {
        match value {
            "2xx" | "ok" => Some(StatusClass::Success),
            "4xx" => Some(StatusClass::ClientError),
            "5xx" => Some(StatusClass::ServerError),
            "error" => Some(StatusClass::Failed),
            _ => None,
        }
    }

    fn condition(self) -> Condition {
        let status = portal_exchange::Column::Status;
        match self {
            StatusClass::Success => Condition::all().add(status.between(200, 299)),
            StatusClass::ClientError => Condition::all().add(status.between(400, 499)),
            StatusClass::ServerError => Condition::all().add(status.between(500, 599)),
            StatusClass::Failed => Condition::any().add(status.lt(200)).add(status.gt(299)),
        }
    }
}

/// A time bound: `YYYY-MM-DD` (midnight JST), `YYYY-MM-DDTHH:MM[:SS]` (JST), or RFC 3339 with any
/// offset (converted to JST). Years outside 1000–9999 (in JST) are refused: the stored times compare
/// as text, which holds only for four-digit years.
fn parse_time(value: &str) -> Option<DateTime<FixedOffset>> {
    use chrono::Datelike;
    parse_any_time(value).filter(|t| (1000..=9999).contains(&t.year()))
}

fn parse_any_time(value: &str) -> Option<DateTime<FixedOffset>> {
    let jst = crate::jst::offset();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&jst));
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    naive.and_local_timezone(jst).single()
}

/// The record times are written by the nodes as RFC 3339 JST with milliseconds; bounds in the same
/// form compare as strings.
fn stored_form(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&crate::jst::offset())
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn bad(field: &str, message: &str) -> WorkflowError {
    WorkflowError::field(&format!("invalid_{field}"), field, message)
}

/// Reads the query string; unknown keys are ignored (a page may carry its own), known ones must parse.
pub fn parse(raw: Option<&str>) -> Result<Search, WorkflowError> {
    let mut s = Search {
        page: 1,
        per_page: DEFAULT_PER_PAGE,
        ..Search::default()
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let text = |max: usize, field: &str| -> Result<Option<String>, WorkflowError> {
            if value.chars().count() > max || value.chars().any(char::is_control) {
                return Err(bad(
                    field,
                    &format!("{max} 文字以内 / At most {max} characters, no control characters."),
                ));
            }
            Ok(Some(value.to_owned()))
        };
        match key.as_ref() {
            "from" | "to" => {
                let t = parse_time(value).ok_or_else(|| {
                    bad(
                        &key,
                        "YYYY-MM-DD、YYYY-MM-DDTHH:MM (JST) または RFC 3339 (1000〜9999 年) / \
                         YYYY-MM-DD, YYYY-MM-DDTHH:MM (JST) or RFC 3339 (years 1000 to 9999).",
                    )
                })?;
                if key == "from" {
                    s.from = Some(t);
                } else {
                    s.to = Some(t);
                }
            }
            "requester" => s.requester = text(128, "requester")?,
            "provider" => s.provider = text(128, "provider")?,
            "api" => s.api = text(128, "api")?,
            "request_id" => s.request_id = text(128, "request_id")?,
            "status" => {
                s.status = Some(StatusClass::parse(value).ok_or_else(|| {
                    bad(
                        "status",
                        "2xx, 4xx, 5xx, error のいずれか / One of 2xx, 4xx, 5xx, error.",
                    )
                })?)
            }
            "corporate_number" => {
                if !(value.len() == 13 && value.bytes().all(|b| b.is_ascii_digit())) {
                    return Err(bad("corporate_number", "13 桁の数字 / 13 digits."));
                }
                s.corporate_number = Some(value.to_owned());
            }
            "about" => match value {
                "us" => s.about_us = true,
                _ => return Err(bad("about", "us のみ / Only `us`.")),
            },
            "page" => {
                s.page = value
                    .parse()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| bad("page", "1 以上の整数 / A whole number from 1."))?
            }
            "per_page" => {
                s.per_page = value
                    .parse()
                    .ok()
                    .filter(|p| (1..=MAX_PER_PAGE).contains(p))
                    .ok_or_else(|| {
                        bad(
                            "per_page",
                            &format!("1〜{MAX_PER_PAGE} / From 1 to {MAX_PER_PAGE}."),
                        )
                    })?
            }
            _ => {}
        }
    }
    if let (Some(from), Some(to)) = (&s.from, &s.to)
        && from >= to
    {
        return Err(bad("to", "from より後 / Must be after `from`."));
    }
    Ok(s)
}

/// Who may see which records: `None` for an operator (everything), else the condition.
pub(super) async fn visibility(
    db: &DatabaseConnection,
    c: &Caller,
    about_us: bool,
) -> Result<Option<Condition>, WorkflowError> {
    if c.role == Role::Operator && !about_us {
        return Ok(None);
    }
    let Some(org) = &c.organisation else {
        // An operator asking for "about us" has no organisation: nothing is about it.
        return Ok(Some(
            Condition::all().add(portal_exchange::Column::Id.lt(0)),
        ));
    };
    let about = portal_exchange::Column::CorporateNumber.eq(org.corporate_number.clone());
    if about_us {
        return Ok(Some(Condition::all().add(about)));
    }
    let systems: Vec<String> = portal_system::Entity::find()
        .filter(portal_system::Column::OrganisationId.eq(org.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.client_id)
        .collect();
    Ok(Some(
        Condition::any()
            .add(portal_exchange::Column::Requester.is_in(systems.clone()))
            .add(portal_exchange::Column::Provider.is_in(systems))
            .add(about),
    ))
}

fn conditions(s: &Search) -> Condition {
    use portal_exchange::Column as C;
    let mut all = Condition::all();
    if let Some(from) = &s.from {
        all = all.add(C::Time.gte(stored_form(from)));
    }
    if let Some(to) = &s.to {
        all = all.add(C::Time.lt(stored_form(to)));
    }
    for (column, value) in [
        (C::Requester, &s.requester),
        (C::Provider, &s.provider),
        (C::Api, &s.api),
        (C::RequestId, &s.request_id),
        (C::CorporateNumber, &s.corporate_number),
    ] {
        if let Some(v) = value {
            all = all.add(column.eq(v.clone()));
        }
    }
    if let Some(class) = s.status {
        all = all.add(class.condition());
    }
    all
}

async fn select(
    state: &PortalState,
    session: &Session,
    raw: Option<String>,
    what: &str,
) -> Result<(Search, sea_orm::Select<portal_exchange::Entity>), WorkflowError> {
    let c = org_caller(state, session, READ_ROLES, what).await?;
    let search = parse(raw.as_deref())?;
    let mut query = portal_exchange::Entity::find().filter(conditions(&search));
    if let Some(visible) = visibility(&state.db, &c, search.about_us).await? {
        query = query.filter(visible);
    }
    Ok((
        search,
        query
            .order_by_desc(portal_exchange::Column::Time)
            .order_by_desc(portal_exchange::Column::Id),
    ))
}

/// One record as the viewer sees it.
#[derive(Serialize)]
pub struct Row {
    pub request_id: String,
    pub time: String,
    pub node: String,
    pub role: String,
    pub requester: String,
    pub provider: String,
    pub api: String,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub latency_ms: f64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub scopes: String,
    pub corporate_number: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    /// `prior:<id>` or `tsudo:<jti>`: the consent that allowed the exchange.
    pub consent_ref: Option<String>,
}

impl From<portal_exchange::Model> for Row {
    fn from(m: portal_exchange::Model) -> Row {
        Row {
            request_id: m.request_id,
            time: m.time,
            node: m.node,
            role: m.role,
            requester: m.requester,
            provider: m.provider,
            api: m.api,
            method: m.method,
            path: m.path,
            status: m.status,
            latency_ms: m.latency_ms,
            bytes_in: m.bytes_in,
            bytes_out: m.bytes_out,
            scopes: m.scopes,
            corporate_number: m.corporate_number,
            outcome: m.outcome,
            error_code: m.error_code,
            consent_ref: m.consent_ref,
        }
    }
}

/// `GET /api/v1/exchanges?from=&to=&requester=&provider=&api=&status=&corporate_number=&request_id=&about=us&page=&per_page=`
#[utoipa::path(
    get,
    path = "/api/v1/exchanges",
    tag = "exchange-log",
    params(
        ("from" = Option<String>, Query, description = "From (inclusive): YYYY-MM-DD or YYYY-MM-DDTHH:MM in JST, or RFC 3339"),
        ("to" = Option<String>, Query, description = "To (exclusive), same forms"),
        ("requester" = Option<String>, Query, description = "Requester node client id"),
        ("provider" = Option<String>, Query, description = "Provider node client id"),
        ("api" = Option<String>, Query, description = "API name"),
        ("status" = Option<String>, Query, description = "2xx, 4xx, 5xx or error"),
        ("corporate_number" = Option<String>, Query, description = "13 digits"),
        ("request_id" = Option<String>, Query, description = "One exchange"),
        ("about" = Option<String>, Query, description = "`us`: only the exchanges about the caller's own corporate number"),
        ("page" = Option<u64>, Query, description = "From 1"),
        ("per_page" = Option<u64>, Query, description = "1 to 200, default 50"),
    ),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "A page of the records the caller may see, newest first (`total`, `page`, `per_page`, `exchanges`)", body = Object),
        (status = 400, description = "A value that cannot be used; the code names the field (invalid_from, invalid_status, …)", body = crate::api_error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::api_error::ErrorBody),
    ),
)]
pub async fn list(
    State(state): State<Arc<PortalState>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    let (search, query) = select(&state, &session, raw, "/api/v1/exchanges").await?;
    let paginator = query.paginate(&state.db, search.per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(search.page - 1).await?;
    let rows: Vec<Row> = rows.into_iter().map(Row::from).collect();
    Ok(SafeJson(json!({
        "total": total,
        "page": search.page,
        "per_page": search.per_page,
        "exchanges": rows,
    })))
}

/// A CSV cell that a spreadsheet would run as a formula gets a leading `'`.
fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

pub const CSV_HEADER: [&str; 18] = [
    "time",
    "request_id",
    "node",
    "role",
    "requester",
    "provider",
    "api",
    "method",
    "path",
    "status",
    "latency_ms",
    "bytes_in",
    "bytes_out",
    "scopes",
    "corporate_number",
    "outcome",
    "error_code",
    "consent_ref",
];

/// `GET /api/v1/exchanges.csv?…`: the same search, every matching record (newest first, at most
/// [`MAX_EXPORT`]), as UTF-8 CSV with a BOM so that spreadsheet programs read the Japanese correctly.
#[utoipa::path(
    get,
    path = "/api/v1/exchanges.csv",
    tag = "exchange-log",
    params(
        ("from" = Option<String>, Query, description = "From (inclusive): YYYY-MM-DD or YYYY-MM-DDTHH:MM in JST, or RFC 3339"),
        ("to" = Option<String>, Query, description = "To (exclusive), same forms"),
        ("requester" = Option<String>, Query, description = "Requester node client id"),
        ("provider" = Option<String>, Query, description = "Provider node client id"),
        ("api" = Option<String>, Query, description = "API name"),
        ("status" = Option<String>, Query, description = "2xx, 4xx, 5xx or error"),
        ("corporate_number" = Option<String>, Query, description = "13 digits"),
        ("request_id" = Option<String>, Query, description = "One exchange"),
        ("about" = Option<String>, Query, description = "`us`: only the exchanges about the caller's own corporate number"),
    ),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The same search as UTF-8 CSV with a BOM (newest 100,000 records at most)", body = String, content_type = "text/csv"),
        (status = 400, description = "A value that cannot be used; the code names the field (invalid_from, invalid_status, …)", body = crate::api_error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::api_error::ErrorBody),
    ),
)]
pub async fn export_csv(
    State(state): State<Arc<PortalState>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Result<Response, WorkflowError> {
    let (_, query) = select(&state, &session, raw, "/api/v1/exchanges.csv").await?;
    let rows = query.limit(MAX_EXPORT).all(&state.db).await?;
    let mut out = csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
    let csv_error = |e: csv::Error| WorkflowError(crate::api_error::ApiError::internal(e));
    out.write_record(CSV_HEADER).map_err(csv_error)?;
    for m in rows {
        out.write_record([
            cell(&m.time),
            cell(&m.request_id),
            cell(&m.node),
            cell(&m.role),
            cell(&m.requester),
            cell(&m.provider),
            cell(&m.api),
            cell(&m.method),
            cell(&m.path),
            m.status.to_string(),
            format!("{:.1}", m.latency_ms),
            m.bytes_in.to_string(),
            m.bytes_out.to_string(),
            cell(&m.scopes),
            m.corporate_number.as_deref().map(cell).unwrap_or_default(),
            cell(&m.outcome),
            m.error_code.as_deref().map(cell).unwrap_or_default(),
            m.consent_ref.as_deref().map(cell).unwrap_or_default(),
        ])
        .map_err(csv_error)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| WorkflowError(crate::api_error::ApiError::internal(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"renkei-exchanges.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// One bucket of the chart series.
#[derive(Serialize, Debug, PartialEq)]
pub struct Bucket {
    /// Start of the bucket, JST (`YYYY-MM-DDTHH:00` or `YYYY-MM-DD`).
    pub start: String,
    pub exchanges: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Groups records into buckets by the first `key_len` characters of their JST time (13 = hour,
/// 10 = day); buckets come out oldest first.
pub fn buckets<'a>(
    records: impl Iterator<Item = (&'a str, i32, f64)>,
    key_len: usize,
) -> Vec<Bucket> {
    let mut groups: BTreeMap<String, (u64, u64, Vec<f64>)> = BTreeMap::new();
    for (time, status, latency) in records {
        let Some(key) = time.get(..key_len) else {
            continue;
        };
        let entry = groups.entry(key.to_owned()).or_default();
        entry.0 += 1;
        if !(200..300).contains(&status) {
            entry.1 += 1;
        }
        entry.2.push(latency);
    }
    groups
        .into_iter()
        .map(|(key, (exchanges, errors, mut latencies))| {
            latencies.sort_by(f64::total_cmp);
            Bucket {
                start: if key_len == 13 {
                    format!("{key}:00")
                } else {
                    key
                },
                exchanges,
                errors,
                p50_ms: percentile(&latencies, 50.0),
                p95_ms: percentile(&latencies, 95.0),
                p99_ms: percentile(&latencies, 99.0),
            }
        })
        .collect()
}

fn top(counts: BTreeMap<String, u64>, n: usize) -> Vec<serde_json::Value> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter()
        .take(n)
        .map(|(name, count)| json!({ "name": name, "exchanges": count }))
        .collect()
}

/// `GET /api/v1/exchanges/stats?…&bucket=hour|day`: chart series over the same search. Only the
/// provider's record of each exchange counts (each exchange is logged by both nodes); when the
/// provider's record is not visible, the requester's does.
#[utoipa::path(
    get,
    path = "/api/v1/exchanges/stats",
    tag = "exchange-log",
    params(
        ("from" = Option<String>, Query, description = "From (inclusive): YYYY-MM-DD or YYYY-MM-DDTHH:MM in JST, or RFC 3339"),
        ("to" = Option<String>, Query, description = "To (exclusive), same forms"),
        ("requester" = Option<String>, Query, description = "Requester node client id"),
        ("provider" = Option<String>, Query, description = "Provider node client id"),
        ("api" = Option<String>, Query, description = "API name"),
        ("status" = Option<String>, Query, description = "2xx, 4xx, 5xx or error"),
        ("corporate_number" = Option<String>, Query, description = "13 digits"),
        ("request_id" = Option<String>, Query, description = "One exchange"),
        ("about" = Option<String>, Query, description = "`us`: only the exchanges about the caller's own corporate number"),
        ("bucket" = Option<String>, Query, description = "hour (default) or day"),
    ),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Series per hour or day (exchanges, errors, latency p50 / p95 / p99) and the top APIs and partners", body = Object),
        (status = 400, description = "A value that cannot be used; the code names the field (invalid_from, invalid_status, …)", body = crate::api_error::ErrorBody),
        (status = 401, description = "Not logged in", body = crate::api_error::ErrorBody),
    ),
)]
pub async fn stats(
    State(state): State<Arc<PortalState>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    let mut key_len = 13;
    for (key, value) in form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()) {
        if key == "bucket" {
            key_len = match value.as_ref() {
                "hour" => 13,
                "day" => 10,
                _ => return Err(bad("bucket", "hour または day / hour or day.")),
            };
        }
    }
    let (_, query) = select(&state, &session, raw, "/api/v1/exchanges/stats").await?;
    let rows = query.limit(MAX_EXPORT).all(&state.db).await?;
    // One record per exchange: the provider's when visible, else the requester's.
    let mut by_request: BTreeMap<&str, &portal_exchange::Model> = BTreeMap::new();
    for r in &rows {
        match by_request.get(r.request_id.as_str()) {
            Some(kept) if kept.role == "provider" => {}
            _ => {
                by_request.insert(r.request_id.as_str(), r);
            }
        }
    }
    let mut apis: BTreeMap<String, u64> = BTreeMap::new();
    let mut partners: BTreeMap<String, u64> = BTreeMap::new();
    for r in by_request.values() {
        *apis.entry(r.api.clone()).or_default() += 1;
        *partners
            .entry(format!("{} → {}", r.requester, r.provider))
            .or_default() += 1;
    }
    let series = buckets(
        by_request
            .values()
            .map(|r| (r.time.as_str(), r.status, r.latency_ms)),
        key_len,
    );
    Ok(SafeJson(json!({
        "bucket": if key_len == 13 { "hour" } else { "day" },
        "exchanges": by_request.len(),
        "series": series,
        "top_apis": top(apis, 5),
        "top_partners": top(partners, 5),
    })))
}

/// The log routes (behind the accounts' session layer).
pub fn router(state: Arc<PortalState>) -> axum::Router {
    use axum::routing::get;
    let routes = axum::Router::new()
        .route("/api/v1/exchanges", get(list))
        .route("/api/v1/exchanges.csv", get(export_csv))
        .route("/api/v1/exchanges/stats", get(stats))
        .route("/api/v1/exchanges/heads", get(super::chain_heads::heads))
        .with_state(state.clone());
    crate::accounts::routes::with_sessions(routes, state.accounts.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_read_as_jst_and_checked() {
        let s = parse(Some(
            "from=2026-12-01&to=2026-12-02T09:30&status=4xx&page=2",
        ))
        .unwrap();
        assert_eq!(
            stored_form(s.from.as_ref().unwrap()),
            "2026-12-01T00:00:00.000+09:00"
        );
        assert_eq!(
            stored_form(s.to.as_ref().unwrap()),
            "2026-12-02T09:30:00.000+09:00"
        );
        assert_eq!(s.status, Some(StatusClass::ClientError));
        assert_eq!(s.page, 2);
        // An RFC 3339 time in UTC becomes the same instant in JST.
        let s = parse(Some("from=2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(
            stored_form(s.from.as_ref().unwrap()),
            "2026-12-01T09:00:00.000+09:00"
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        for (query, code) in [
            ("from=yesterday", "invalid_from"),
            ("to=2026-13-01", "invalid_to"),
            // Year 10000 in JST: as text it would sort before every stored time.
            ("from=9999-12-31T23:59:59-12:00", "invalid_from"),
            ("to=0999-01-01", "invalid_to"),
            ("from=2026-12-02&to=2026-12-01", "invalid_to"),
            ("status=3xx", "invalid_status"),
            ("corporate_number=123", "invalid_corporate_number"),
            ("per_page=1000", "invalid_per_page"),
            ("page=0", "invalid_page"),
            ("about=them", "invalid_about"),
        ] {
            let e = parse(Some(query)).unwrap_err();
            assert_eq!(e.0.code, code, "{query}");
        }
    }

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("/v1/corporations/1"), "/v1/corporations/1");
    }

    #[test]
    fn buckets_count_errors_and_percentiles() {
        let records = [
            ("2026-12-04T10:01:00.000+09:00", 200, 10.0),
            ("2026-12-04T10:59:00.000+09:00", 404, 30.0),
            ("2026-12-04T10:30:00.000+09:00", 200, 20.0),
            ("2026-12-04T11:00:00.000+09:00", 500, 5.0),
        ];
        let b = buckets(records.iter().map(|(t, s, l)| (*t, *s, *l)), 13);
        assert_eq!(
            b,
            vec![
                Bucket {
                    start: "2026-12-04T10:00".into(),
                    exchanges: 3,
                    errors: 1,
                    p50_ms: 20.0,
                    p95_ms: 30.0,
                    p99_ms: 30.0
                },
                Bucket {
                    start: "2026-12-04T11:00".into(),
                    exchanges: 1,
                    errors: 1,
                    p50_ms: 5.0,
                    p95_ms: 5.0,
                    p99_ms: 5.0
                },
            ]
        );
        let days = buckets(records.iter().map(|(t, s, l)| (*t, *s, *l)), 10);
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].start, "2026-12-04");
        assert_eq!(days[0].exchanges, 4);
    }
}
