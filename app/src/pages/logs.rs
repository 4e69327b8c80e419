//! The exchange log (通信ログ): search the records the portal collected from the nodes, page through
//! them, download them as CSV, and see them as charts. Logged-in people only: the portal's
//! `/api/v1/exchanges*` answers each viewer with what it may see (operators everything, an
//! organisation its own exchanges and those about itself).
//!
//! The search lives in the URL (`/logs?from=…&status=4xx&page=2`): a plain GET form sets it, so a
//! search can be bookmarked, reloaded and shared, and works before the page is hydrated.

use super::PageTitle;
use super::forms::Gate;
use crate::i18n::{M, fill, t};
use crate::rest;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::Deserialize;

/// The query keys the page passes on to the API; anything else in the URL is ignored.
const KEYS: [&str; 10] = [
    "from",
    "to",
    "requester",
    "provider",
    "api",
    "status",
    "corporate_number",
    "request_id",
    "about",
    "page",
];

/// `GET /api/v1/exchanges`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ExchangePage {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub exchanges: Vec<ExchangeRow>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ExchangeRow {
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
    pub outcome: String,
    pub error_code: Option<String>,
}

/// `GET /api/v1/exchanges/heads`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Heads {
    pub heads: Vec<ChainHead>,
}

/// A node's newest signed chain head and whether the records the portal holds still hash up to it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ChainHead {
    pub node: String,
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    pub verified: bool,
    pub records_checked: u64,
    pub problem: Option<String>,
}

/// `GET /api/v1/exchanges/stats`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Stats {
    pub exchanges: u64,
    pub series: Vec<Bucket>,
    pub top_apis: Vec<Top>,
    pub top_partners: Vec<Top>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Bucket {
    pub start: String,
    pub exchanges: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Top {
    pub name: String,
    pub exchanges: u64,
}

/// `key=value&…` with each value percent-encoded (UTF-8), in the order given.
fn encode(pairs: &[(&'static str, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        for b in value.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    out.push('%');
                    out.push(HEX[(b >> 4) as usize] as char);
                    out.push(HEX[(b & 15) as usize] as char);
                }
            }
        }
    }
    out
}

/// The same search on another page.
fn with_page(search: &[(&'static str, String)], page: u64) -> String {
    let mut pairs: Vec<(&'static str, String)> = search
        .iter()
        .filter(|(k, _)| *k != "page")
        .cloned()
        .collect();
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    encode(&pairs)
}

#[component]
pub fn LogsPage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::LogsTitle) />
        <section class="logs" data-testid="logs-page">
            <h1>{t(M::LogsTitle)}</h1>
            <p class="hint">{t(M::LogsIntro)}</p>
            <Gate roles=&[]>
                <LogSearch />
            </Gate>
        </section>
    }
}

#[component]
fn LogSearch() -> impl IntoView {
    let query = use_query_map();
    let search = Memo::new(move |_| {
        query.with(|q| {
            KEYS.iter()
                .filter_map(|k| {
                    q.get(k)
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .map(|v| (*k, v))
                })
                .collect::<Vec<(&'static str, String)>>()
        })
    });
    let value_of = move |key: &'static str| {
        search.with(|s| {
            s.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
    };
    let page = LocalResource::new(move || {
        let q = encode(&search.get());
        async move { rest::get::<ExchangePage>(&format!("/api/v1/exchanges?{q}")).await }
    });
    let stats = LocalResource::new(move || {
        let pairs: Vec<_> = search
            .get()
            .into_iter()
            .filter(|(k, _)| *k != "page")
            .collect();
        let q = encode(&pairs);
        async move { rest::get::<Stats>(&format!("/api/v1/exchanges/stats?{q}")).await }
    });
    let csv_href = move || {
        let pairs: Vec<_> = search
            .get()
            .into_iter()
            .filter(|(k, _)| *k != "page")
            .collect();
        format!("/api/v1/exchanges.csv?{}", encode(&pairs))
    };
    let status = value_of("status");
    let option = move |value: &'static str, label: M| {
        view! {
            <option value=value selected=status == value>
                {t(label)}
            </option>
        }
    };
    view! {
        <form class="log-search" method="get" action="/logs" data-testid="log-search">
            <label>
                <span>{t(M::LogsFrom)}</span>
                <input type="datetime-local" name="from" value=value_of("from") />
            </label>
            <label>
                <span>{t(M::LogsTo)}</span>
                <input type="datetime-local" name="to" value=value_of("to") />
            </label>
            <label>
                <span>{t(M::LogsRequester)}</span>
                <input name="requester" value=value_of("requester") autocomplete="off" />
            </label>
            <label>
                <span>{t(M::LogsProvider)}</span>
                <input name="provider" value=value_of("provider") autocomplete="off" />
            </label>
            <label>
                <span>{t(M::LogsApi)}</span>
                <input name="api" value=value_of("api") autocomplete="off" />
            </label>
            <label>
                <span>{t(M::LogsStatusClass)}</span>
                <select name="status" data-testid="log-status-filter">
                    {option("", M::LogsFilterAll)}
                    {option("2xx", M::LogsFilterOk)}
                    {option("4xx", M::LogsFilter4xx)}
                    {option("5xx", M::LogsFilter5xx)}
                    {option("error", M::LogsFilterErrors)}
                </select>
            </label>
            <label>
                <span>{t(M::LogsCorporateNumber)}</span>
                <input
                    name="corporate_number"
                    value=value_of("corporate_number")
                    inputmode="numeric"
                    pattern="[0-9]{13}"
                    maxlength="13"
                    autocomplete="off"
                />
            </label>
            <label>
                <span>{t(M::LogsRequestId)}</span>
                <input name="request_id" value=value_of("request_id") autocomplete="off" />
            </label>
            <label class="check">
                <input type="checkbox" name="about" value="us" checked=value_of("about") == "us" />
                <span>{t(M::LogsAboutUs)}</span>
            </label>
            <div class="actions">
                <button type="submit" class="button" data-testid="log-search-submit">
                    {t(M::LogsSearch)}
                </button>
                <a href="/logs">{t(M::LogsClear)}</a>
                <a href=csv_href download="renkei-exchanges.csv" data-testid="log-csv">
                    {t(M::LogsCsv)}
                </a>
                <button
                    type="button"
                    data-testid="log-refresh"
                    on:click=move |_| {
                        page.refetch();
                        stats.refetch();
                    }
                >
                    {t(M::LogsRefresh)}
                </button>
            </div>
        </form>
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                match stats.await {
                    Err(failure) => Either::Left(view! { <LoadError failure /> }),
                    Ok(stats) => Either::Right(view! { <Charts stats /> }),
                }
            })}
        </Suspense>
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Err(failure) => Either::Left(view! { <LoadError failure /> }),
                    Ok(result) => Either::Right(view! { <LogTable result search=search.get_untracked() /> }),
                }
            })}
        </Suspense>
        <ChainHeads />
    }
}

/// Each visible node's signed chain head, re-verified by the portal against the records it holds.
#[component]
fn ChainHeads() -> impl IntoView {
    let heads =
        LocalResource::new(|| async { rest::get::<Heads>("/api/v1/exchanges/heads").await });
    view! {
        <section class="chain-heads" data-testid="chain-heads">
            <h2>{t(M::LogsHeadsTitle)}</h2>
            <p class="hint">{t(M::LogsHeadsIntro)}</p>
            <Suspense fallback=super::Loading>
                {move || Suspend::new(async move {
                    match heads.await {
                        Err(failure) => Either::Left(view! { <LoadError failure /> }),
                        Ok(Heads { heads }) if heads.is_empty() => Either::Right(Either::Left(view! {
                            <p class="empty" data-testid="chain-heads-empty">{t(M::LogsHeadsEmpty)}</p>
                        })),
                        Ok(Heads { heads }) => Either::Right(Either::Right(view! {
                            <div class="table-wrap">
                                <table class="rows">
                                    <thead>
                                        <tr>
                                            <th>{t(M::LogsColNode)}</th>
                                            <th>{t(M::LogsHeadsSeq)}</th>
                                            <th>{t(M::LogsHeadsSignedAt)}</th>
                                            <th>{t(M::LogsHeadsChecked)}</th>
                                            <th>{t(M::LogsHeadsState)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {heads.into_iter().map(|h| view! { <HeadRow h /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        })),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn HeadRow(h: ChainHead) -> impl IntoView {
    let state = if h.verified {
        t(M::LogsHeadsVerified).to_string()
    } else {
        format!(
            "{} {}",
            t(M::LogsHeadsBroken),
            h.problem.unwrap_or_default()
        )
    };
    let class = if h.verified { "ok" } else { "error" };
    let short_hash = h.hash.chars().take(12).collect::<String>();
    let node = h.node.clone();
    view! {
        <tr data-testid="chain-head" data-node=node data-verified=h.verified.to_string()>
            <td>{h.node}</td>
            <td title=h.hash>{h.seq}" ("<code>{short_hash}"…"</code>")"</td>
            <td>{display_time(&h.signed_at)}</td>
            <td>{h.records_checked}</td>
            <td class=class>{state}</td>
        </tr>
    }
}

#[component]
fn LoadError(failure: rest::Failure) -> impl IntoView {
    view! {
        <div class="notice notice-error" role="alert" data-testid="error">
            <p>{failure.text(crate::i18n::use_lang())}</p>
        </div>
    }
}

#[component]
fn LogTable(result: ExchangePage, search: Vec<(&'static str, String)>) -> impl IntoView {
    let first = (result.page - 1) * result.per_page + 1;
    let last = first + result.exchanges.len() as u64 - 1;
    let pages = result.total.div_ceil(result.per_page.max(1));
    let count = fill(
        t(M::LogsCount),
        &[
            ("n", &result.total.to_string()),
            ("first", &first.min(result.total).to_string()),
            ("last", &last.to_string()),
        ],
    );
    let prev = (result.page > 1).then(|| format!("/logs?{}", with_page(&search, result.page - 1)));
    let next =
        (result.page < pages).then(|| format!("/logs?{}", with_page(&search, result.page + 1)));
    if result.exchanges.is_empty() {
        return Either::Left(view! {
            <p class="empty" data-testid="log-empty">{t(M::LogsEmpty)}</p>
        });
    }
    Either::Right(view! {
        <p class="count" data-testid="log-count" aria-live="polite">{count}</p>
        <div class="table-wrap">
            <table class="log-table rows">
                <thead>
                    <tr>
                        <th>{t(M::LogsColTime)}</th>
                        <th>{t(M::LogsColNode)}</th>
                        <th>{t(M::LogsColRole)}</th>
                        <th>{t(M::LogsColRequestId)}</th>
                        <th>{t(M::LogsColParties)}</th>
                        <th>{t(M::LogsColMethodPath)}</th>
                        <th>{t(M::LogsColStatus)}</th>
                        <th>{t(M::LogsColLatency)}</th>
                        <th>{t(M::LogsColOutcome)}</th>
                    </tr>
                </thead>
                <tbody>
                    {result
                        .exchanges
                        .into_iter()
                        .map(|record| view! { <LogRow record /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label=t(M::LogsTitle)>
            {prev.map(|href| view! { <a href=href rel="prev" data-testid="log-prev">{t(M::LogsPrev)}</a> })}
            {next.map(|href| view! { <a href=href rel="next" data-testid="log-next">{t(M::LogsNext)}</a> })}
        </nav>
    })
}

#[component]
fn LogRow(record: ExchangeRow) -> impl IntoView {
    let ok = (200..300).contains(&record.status);
    let outcome = match (&record.error_code, ok) {
        (_, true) => t(M::LogsOutcomeOk).to_string(),
        (Some(code), false) => format!("{}: {code}", t(M::LogsOutcomeError)),
        (None, false) => format!("{}: {}", t(M::LogsOutcomeError), record.outcome),
    };
    let role = match record.role.as_str() {
        "requester" => t(M::LogsRoleRequester).to_string(),
        "provider" => t(M::LogsRoleProvider).to_string(),
        other => other.to_string(),
    };
    let (request_id, role_value, outcome_value, time) = (
        record.request_id.clone(),
        record.role.clone(),
        record.outcome.clone(),
        record.time.clone(),
    );
    view! {
        <tr
            data-testid="log-row"
            data-request-id=request_id
            data-role=role_value
            data-outcome=outcome_value
            class=if ok { "row-ok" } else { "row-error" }
        >
            <td class="nowrap" data-label=t(M::LogsColTime)>
                <time datetime=time>{display_time(&record.time)}</time>
            </td>
            <td data-label=t(M::LogsColNode)>
                <code>{record.node}</code>
            </td>
            <td data-label=t(M::LogsColRole)>{role}</td>
            <td data-label=t(M::LogsColRequestId)>
                <code class="request-id" title=record.request_id.clone()>
                    {short_id(&record.request_id)}
                </code>
            </td>
            <td data-label=t(M::LogsColParties)>
                {format!("{} → {}", record.requester, record.provider)}
            </td>
            <td data-label=t(M::LogsColMethodPath)>
                <code class="path" title=record.api>
                    {format!("{} {}", record.method, record.path)}
                </code>
            </td>
            <td class="num" data-label=t(M::LogsColStatus)>{record.status}</td>
            <td class="num nowrap" data-label=t(M::LogsColLatency)>
                {display_latency(record.latency_ms)}
            </td>
            <td class=if ok { "outcome-ok" } else { "outcome-error" } data-label=t(M::LogsColOutcome)>
                {outcome}
            </td>
        </tr>
    }
}

/// Chart geometry: a fixed view box that the CSS scales to the page's width (phones included).
const W: f64 = 600.0;
const H: f64 = 140.0;

/// Bars of exchanges per bucket with their errors over them, and three latency lines.
#[component]
fn Charts(stats: Stats) -> impl IntoView {
    if stats.series.is_empty() {
        return Either::Left(());
    }
    let n = stats.series.len() as f64;
    let slot = W / n;
    let most = stats
        .series
        .iter()
        .map(|b| b.exchanges)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let slowest = stats
        .series
        .iter()
        .map(|b| b.p99_ms)
        .fold(0.0_f64, f64::max)
        .max(0.001);
    let bars = stats
        .series
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as f64 * slot + slot * 0.1;
            let w = slot * 0.8;
            let h = b.exchanges as f64 / most * H;
            let e = b.errors as f64 / most * H;
            let label = format!(
                "{}: {} {}, {} {}",
                b.start,
                b.exchanges,
                t(M::LogsExchanges),
                b.errors,
                t(M::LogsErrors)
            );
            view! {
                <g data-testid="chart-bucket" data-exchanges=b.exchanges data-errors=b.errors>
                    <title>{label}</title>
                    <rect class="bar" x=x y=H - h width=w height=h />
                    <rect class="bar-error" x=x y=H - e width=w height=e />
                </g>
            }
        })
        .collect_view();
    let line = |pick: fn(&Bucket) -> f64| {
        stats
            .series
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let x = i as f64 * slot + slot / 2.0;
                let y = H - pick(b) / slowest * H;
                format!("{},{}", x.round(), y.round())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (first, last) = (
        stats
            .series
            .first()
            .map(|b| b.start.clone())
            .unwrap_or_default(),
        stats
            .series
            .last()
            .map(|b| b.start.clone())
            .unwrap_or_default(),
    );
    let view_box = format!("0 0 {W} {}", H + 16.0);
    let axis = move || {
        view! {
            <text class="axis" x="0" y=H + 13.0>{first.clone()}</text>
            <text class="axis" x=W y=H + 13.0 text-anchor="end">{last.clone()}</text>
        }
    };
    let tops = |title: M, list: Vec<Top>, id: &'static str| {
        view! {
            <div class="top-list" data-testid=id>
                <h3>{t(title)}</h3>
                <ol>
                    {list
                        .into_iter()
                        .map(|top| view! { <li><span>{top.name}</span>" "<b>{top.exchanges}</b></li> })
                        .collect_view()}
                </ol>
            </div>
        }
    };
    Either::Right(view! {
        <div class="charts" data-testid="log-charts" data-exchanges=stats.exchanges>
            <figure>
                <figcaption>
                    {t(M::LogsChartVolume)} " (" {stats.exchanges} ")"
                </figcaption>
                <svg viewBox=view_box.clone() role="img" aria-label=t(M::LogsChartVolume) class="chart">
                    {bars}
                    {axis()}
                </svg>
            </figure>
            <figure>
                <figcaption>
                    {t(M::LogsChartLatency)} " ≤ " {display_latency(slowest)}
                </figcaption>
                <svg viewBox=view_box role="img" aria-label=t(M::LogsChartLatency) class="chart">
                    <polyline class="p99" points=line(|b| b.p99_ms) />
                    <polyline class="p95" points=line(|b| b.p95_ms) />
                    <polyline class="p50" points=line(|b| b.p50_ms) />
                    {axis()}
                </svg>
            </figure>
            {tops(M::LogsTopApis, stats.top_apis, "top-apis")}
            {tops(M::LogsTopPartners, stats.top_partners, "top-partners")}
            <p class="hint">{t(M::LogsChartNote)}</p>
        </div>
    })
}

/// The table shows the tail of a request id (UUIDv7 heads are timestamps, alike within a second); the
/// whole id is in the cell's title and the row's `data-request-id`.
fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 12 {
        return id.to_string();
    }
    let tail: String = chars[chars.len() - 12..].iter().collect();
    format!("…{tail}")
}

/// `2025-06-01T10:20:30.123+09:00` → `2025-06-01 10:20:30` (the log is already in JST).
fn display_time(rfc3339: &str) -> String {
    match rfc3339.get(..19) {
        Some(head) if head.as_bytes().get(10) == Some(&b'T') => head.replacen('T', " ", 1),
        _ => rfc3339.to_string(),
    }
}

/// One decimal, without `{:.1}`: float formatting would pull ~20 KB of code into the bundle.
fn display_latency(ms: f64) -> String {
    let tenths = (ms * 10.0).round() as i64;
    format!("{}.{} ms", tenths / 10, (tenths % 10).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_shortened_to_their_tail() {
        assert_eq!(
            short_id("01a23d75-1c4a-74dd-9b29-c242656e172a"),
            "…c242656e172a"
        );
        assert_eq!(short_id("r1"), "r1");
    }

    #[test]
    fn display_time_drops_fraction_and_offset() {
        assert_eq!(
            display_time("2025-06-01T10:20:30.123+09:00"),
            "2025-06-01 10:20:30"
        );
        assert_eq!(display_time("yesterday"), "yesterday");
    }

    #[test]
    fn display_latency_rounds_to_one_decimal() {
        assert_eq!(display_latency(12.345), "12.3 ms");
        assert_eq!(display_latency(0.06), "0.1 ms");
        assert_eq!(display_latency(1500.0), "1500.0 ms");
    }

    #[test]
    fn searches_are_encoded_and_paged() {
        let search = vec![
            ("from", "2026-12-04T09:00".to_owned()),
            ("api", "法人 API&x".to_owned()),
            ("page", "3".to_owned()),
        ];
        assert_eq!(
            encode(&search),
            "from=2026-12-04T09%3A00&api=%E6%B3%95%E4%BA%BA%20API%26x&page=3"
        );
        assert_eq!(
            with_page(&search, 4),
            "from=2026-12-04T09%3A00&api=%E6%B3%95%E4%BA%BA%20API%26x&page=4"
        );
        assert_eq!(
            with_page(&search, 1),
            "from=2026-12-04T09%3A00&api=%E6%B3%95%E4%BA%BA%20API%26x"
        );
    }
}
