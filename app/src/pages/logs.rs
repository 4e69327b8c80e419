//! The exchange log (通信ログ): the newest records the portal collected from the nodes.

use super::{ErrorNotice, Loading, PageTitle};
use crate::api::{LOG_LIMIT, recent_exchanges};
use crate::i18n::{M, fill, t};
use crate::model::ExchangeView;
use leptos::either::Either;
use leptos::prelude::*;

/// Which records the status filter keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatusFilter {
    All,
    Ok,
    Errors,
}

impl StatusFilter {
    fn from_value(value: &str) -> Self {
        match value {
            "ok" => Self::Ok,
            "errors" => Self::Errors,
            _ => Self::All,
        }
    }

    fn keeps(self, record: &ExchangeView) -> bool {
        match self {
            Self::All => true,
            Self::Ok => record.outcome == "ok",
            Self::Errors => record.outcome != "ok",
        }
    }
}

#[component]
pub fn LogsPage() -> impl IntoView {
    let logs = Resource::new(|| (), |_| recent_exchanges(LOG_LIMIT));
    let (status, set_status) = signal(StatusFilter::All);
    let (refreshing, set_refreshing) = signal(false);

    view! {
        <PageTitle text=t(M::LogsTitle) />
        <section class="logs" data-testid="logs-page">
            <h1>{t(M::LogsTitle)}</h1>
            <p class="hint">{fill(t(M::LogsIntro), &[("n", &LOG_LIMIT.to_string())])}</p>
            <div class="toolbar">
                <label>
                    <span>{t(M::Status)}</span>
                    <select
                        data-testid="log-status-filter"
                        on:change=move |ev| {
                            set_status.set(StatusFilter::from_value(&event_target_value(&ev)))
                        }
                    >
                        <option value="all" selected>
                            {t(M::LogsFilterAll)}
                        </option>
                        <option value="ok">{t(M::LogsFilterOk)}</option>
                        <option value="errors">{t(M::LogsFilterErrors)}</option>
                    </select>
                </label>
                <button
                    type="button"
                    class="button"
                    data-testid="log-refresh"
                    prop:disabled=refreshing
                    on:click=move |_| logs.refetch()
                >
                    {move || {
                        if refreshing.get() { t(M::LogsRefreshing) } else { t(M::LogsRefresh) }
                    }}
                </button>
            </div>
            <Transition fallback=Loading set_pending=set_refreshing>
                {move || Suspend::new(async move {
                    match logs.await {
                        Ok(records) => Either::Left(view! { <LogTable records status /> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error /> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LogTable(records: Vec<ExchangeView>, status: ReadSignal<StatusFilter>) -> impl IntoView {
    let total = records.len();
    let (count_text, filtered_text) = (t(M::LogsCount), t(M::LogsCountFiltered));
    let records = StoredValue::new(records);
    let shown = Memo::new(move |_| {
        let filter = status.get();
        records.with_value(|all| {
            all.iter()
                .filter(|r| filter.keeps(r))
                .cloned()
                .collect::<Vec<_>>()
        })
    });

    let empty_text = t(M::LogsEmpty);
    view! {
        <p class="count" data-testid="log-count" aria-live="polite">
            {move || {
                let n = shown.read().len();
                let (n, all) = (n.to_string(), total.to_string());
                if n == all {
                    fill(count_text, &[("n", &n)])
                } else {
                    fill(filtered_text, &[("n", &n), ("total", &all)])
                }
            }}
        </p>
        <div class="table-wrap">
            <table class="log-table">
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
                    {move || {
                        shown
                            .get()
                            .into_iter()
                            .map(|record| view! { <LogRow record /> })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </div>
        {move || {
            shown
                .read()
                .is_empty()
                .then(|| {
                    view! { <p class="empty">{empty_text}</p> }
                })
        }}
    }
}

#[component]
fn LogRow(record: ExchangeView) -> impl IntoView {
    let ok = record.outcome == "ok";
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
            <td class="nowrap">
                <time datetime=time>{display_time(&record.time)}</time>
            </td>
            <td>
                <code>{record.node}</code>
            </td>
            <td>{role}</td>
            <td>
                <code class="request-id" title=record.request_id.clone()>
                    {short_id(&record.request_id)}
                </code>
            </td>
            <td>{format!("{} → {}", record.requester, record.provider)}</td>
            <td>
                <code class="path">{format!("{} {}", record.method, record.path)}</code>
            </td>
            <td class="num">{record.status}</td>
            <td class="num nowrap">{display_latency(record.latency_ms)}</td>
            <td class=if ok { "outcome-ok" } else { "outcome-error" }>{outcome}</td>
        </tr>
    }
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
        assert_eq!(
            display_time("2025-06-01T10:20:30+09:00"),
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
    fn status_filter_splits_ok_from_errors() {
        let mut record = ExchangeView {
            node: "req".into(),
            seq: 1,
            request_id: "r1".into(),
            time: "2025-06-01T10:20:30+09:00".into(),
            role: "requester".into(),
            requester: "req".into(),
            provider: "prov".into(),
            method: "GET".into(),
            path: "/v1/corporations/1".into(),
            status: 200,
            latency_ms: 3.0,
            outcome: "ok".into(),
            error_code: None,
        };
        assert!(StatusFilter::from_value("ok").keeps(&record));
        assert!(!StatusFilter::from_value("errors").keeps(&record));
        record.outcome = "error".into();
        assert!(StatusFilter::from_value("errors").keeps(&record));
        assert!(StatusFilter::from_value("anything").keeps(&record));
    }
}
