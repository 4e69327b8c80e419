//! The uptime page (稼働状況): every registered node's current state and availability over 24 h,
//! 7 d and 30 d, as the portal's probes saw it; `?system=ID&days=1|7|30` adds that node's history
//! chart and its outages. Logged-in people only.

use super::PageTitle;
use super::forms::{Gate, jst};
use crate::i18n::{M, t};
use crate::rest;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Overview {
    pub systems: Vec<SystemState>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SystemState {
    pub client_id: String,
    pub name: String,
    pub organisation: String,
    pub health: String,
    pub since: Option<String>,
    pub last_check: Option<String>,
    pub response_ms: Option<f64>,
    pub availability: Availability,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Availability {
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    #[serde(rename = "30d")]
    pub month: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct History {
    pub client_id: String,
    pub health: String,
    pub days: u32,
    pub series: Vec<Slot>,
    pub outages: Vec<Outage>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Slot {
    pub start: String,
    pub probes: u64,
    pub down: u64,
    pub availability: f64,
    pub avg_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Outage {
    pub started_at: String,
    pub ended_at: Option<String>,
    pub detail: String,
}

fn health_label(health: &str) -> &'static str {
    match health {
        "up" => t(M::UptimeUp),
        "degraded" => t(M::UptimeDegraded),
        "down" => t(M::UptimeDown),
        _ => t(M::UptimeUnknown),
    }
}

/// `99.5 %`, or `—` without probes (no float formatting code: it is large in the bundle).
fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) => {
            let tenths = (v * 10.0).round() as i64;
            format!("{}.{} %", tenths / 10, tenths % 10)
        }
        None => "—".to_owned(),
    }
}

fn whole_ms(value: Option<f64>) -> String {
    value
        .map(|v| format!("{} ms", v.round() as i64))
        .unwrap_or_else(|| "—".to_owned())
}

#[component]
pub fn UptimePage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::UptimeTitle) />
        <section class="uptime" data-testid="uptime-page">
            <h1>{t(M::UptimeTitle)}</h1>
            <p class="hint">{t(M::UptimeIntro)}</p>
            <Gate roles=&[]>
                <UptimeBody />
            </Gate>
        </section>
    }
}

#[component]
fn UptimeBody() -> impl IntoView {
    let query = use_query_map();
    let selected = Memo::new(move |_| {
        query.with(|q| {
            let days = match q.get("days").as_deref() {
                Some("7") => 7,
                Some("30") => 30,
                _ => 1,
            };
            q.get("system").filter(|s| !s.is_empty()).map(|s| (s, days))
        })
    });
    let overview = LocalResource::new(|| rest::get::<Overview>("/api/v1/uptime"));
    let history = LocalResource::new(move || {
        let selected = selected.get();
        async move {
            match selected {
                Some((id, days)) => {
                    let id: String = id
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                        .collect();
                    rest::get::<History>(&format!("/api/v1/uptime/{id}?days={days}"))
                        .await
                        .map(Some)
                }
                None => Ok(None),
            }
        }
    });
    view! {
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Err(failure) => Either::Left(view! { <LoadError failure /> }),
                    Ok(o) => Either::Right(view! { <SystemTable systems=o.systems /> }),
                }
            })}
        </Suspense>
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                match history.await {
                    Err(failure) => Either::Left(view! { <LoadError failure /> }),
                    Ok(None) => Either::Right(Either::Left(())),
                    Ok(Some(h)) => Either::Right(Either::Right(view! { <SystemHistory history=h /> })),
                }
            })}
        </Suspense>
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
fn SystemTable(systems: Vec<SystemState>) -> impl IntoView {
    if systems.is_empty() {
        return Either::Left(view! { <p class="empty">{t(M::UptimeNone)}</p> });
    }
    Either::Right(view! {
        <div class="table-wrap">
            <table class="rows uptime-table">
                <thead>
                    <tr>
                        <th>{t(M::UptimeSystem)}</th>
                        <th>{t(M::UptimeState)}</th>
                        <th>{t(M::UptimeSince)}</th>
                        <th>{t(M::UptimeResponse)}</th>
                        <th>"24h"</th>
                        <th>"7d"</th>
                        <th>"30d"</th>
                    </tr>
                </thead>
                <tbody>
                    {systems
                        .into_iter()
                        .map(|s| {
                            let href = format!("/uptime?system={}", s.client_id);
                            let (row_id, row_health) = (s.client_id.clone(), s.health.clone());
                            view! {
                                <tr data-testid="uptime-row" data-system=row_id data-health=row_health>
                                    <td data-label=t(M::UptimeSystem)>
                                        <a href=href>{s.name}</a>
                                        <br />
                                        <small>
                                            <code>{s.client_id}</code>
                                            " · "
                                            {s.organisation}
                                        </small>
                                    </td>
                                    <td data-label=t(M::UptimeState)>
                                        <span class=format!("badge health-{}", s.health)>
                                            {health_label(&s.health)}
                                        </span>
                                    </td>
                                    <td data-label=t(M::UptimeSince)>
                                        {s.since.as_deref().map(jst).unwrap_or_default()}
                                    </td>
                                    <td class="num" data-label=t(M::UptimeResponse)>
                                        {whole_ms(s.response_ms)}
                                    </td>
                                    <td class="num" data-label="24h" data-testid="availability-24h">
                                        {percent(s.availability.day)}
                                    </td>
                                    <td class="num" data-label="7d">{percent(s.availability.week)}</td>
                                    <td class="num" data-label="30d">{percent(s.availability.month)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    })
}

const W: f64 = 600.0;
const H: f64 = 100.0;

#[component]
fn SystemHistory(history: History) -> impl IntoView {
    let id = history.client_id.clone();
    let range = |days: u32, label: M| {
        let href = format!("/uptime?system={id}&days={days}");
        let current = (history.days == days).then_some("page");
        view! { <a href=href aria-current=current>{t(label)}</a> }
    };
    let n = history.series.len().max(1) as f64;
    let slot = W / n;
    let bars = history
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let h = s.availability / 100.0 * H;
            let class = if s.down == 0 { "bar" } else { "bar-error" };
            let title = format!(
                "{}: {} ({} / {}), {}",
                s.start,
                percent(Some(s.availability)),
                s.probes - s.down,
                s.probes,
                whole_ms(Some(s.avg_ms))
            );
            view! {
                <rect class=class x=i as f64 * slot + slot * 0.1 y=H - h width=slot * 0.8 height=h.max(1.0)>
                    <title>{title}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <section class="uptime-history" data-testid="uptime-history" data-system=history.client_id.clone()>
            <h2>
                <code>{history.client_id.clone()}</code>
                " "
                <span class=format!("badge health-{}", history.health)>{health_label(&history.health)}</span>
            </h2>
            <nav class="ranges">
                {range(1, M::UptimeDay)}
                {range(7, M::UptimeWeek)}
                {range(30, M::UptimeMonth)}
            </nav>
            <figure class="charts">
                <figcaption>{t(M::UptimeChart)}</figcaption>
                <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=t(M::UptimeChart) class="chart">
                    {bars}
                </svg>
            </figure>
            <h3>{t(M::UptimeOutages)}</h3>
            {if history.outages.is_empty() {
                Either::Left(view! { <p class="empty">{t(M::UptimeNoOutages)}</p> })
            } else {
                Either::Right(view! {
                    <ul class="outages">
                        {history
                            .outages
                            .into_iter()
                            .map(|o| {
                                let end = o
                                    .ended_at
                                    .as_deref()
                                    .map(jst)
                                    .unwrap_or_else(|| t(M::UptimeOngoing).to_owned());
                                view! {
                                    <li data-testid="outage" data-open=o.ended_at.is_none().to_string()>
                                        {jst(&o.started_at)} " → " {end} <br /> <small>{o.detail}</small>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                })
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_times_are_short() {
        assert_eq!(percent(Some(99.95)), "100.0 %");
        assert_eq!(percent(Some(66.7)), "66.7 %");
        assert_eq!(percent(None), "—");
        assert_eq!(whole_ms(Some(12.6)), "13 ms");
    }
}
