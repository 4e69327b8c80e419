//! Uptime monitoring: the portal probes every registered node's `/healthz` on a schedule, confirms
//! a change of state over several probes (so one lost packet is not an outage), records outages, and
//! mails the people concerned:
//!
//! - when a node is confirmed down, its organisation's admins (what is down, what to check) and the
//!   admins of every requester organisation with an approved application to an API on it (which
//!   system, which APIs);
//! - when it is confirmed up again, the same people, with how long it was down.
//!
//! A node that flaps is mailed about at most once per cooldown: the outages are still recorded, and
//! the "available again" mail goes only to those who were told it was down.

use super::PortalState;
use crate::{
    accounts::{Role, mail::Letter},
    storage::entity::{
        account, portal_api, portal_api_application, portal_node, portal_system, uptime_outage,
        uptime_probe, uptime_state,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// What a probe (or a confirmed state) says about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Up,
    /// Answered, but slower than [`UptimePolicy::degraded_ms`] or with its readiness failing.
    Degraded,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<Health> {
        match s {
            "up" => Some(Health::Up),
            "degraded" => Some(Health::Degraded),
            "down" => Some(Health::Down),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct UptimePolicy {
    pub interval: Duration,
    pub timeout: Duration,
    /// An answer slower than this is `degraded`.
    pub degraded_ms: f64,
    /// Failed probes in a row before a node is confirmed down.
    pub down_after: i32,
    /// Successful probes in a row before a down node is confirmed up.
    pub up_after: i32,
    /// A node confirmed down again within this time of the last "down" mail is not mailed again.
    pub mail_cooldown: chrono::Duration,
}

impl Default for UptimePolicy {
    fn default() -> Self {
        UptimePolicy {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            degraded_ms: 2000.0,
            down_after: 3,
            up_after: 2,
            mail_cooldown: chrono::Duration::minutes(30),
        }
    }
}

impl UptimePolicy {
    /// The default policy with `RENKEI_UPTIME_INTERVAL_SECS` (0 turns probing off: `None`).
    pub fn from_env() -> Option<UptimePolicy> {
        let mut policy = UptimePolicy::default();
        if let Ok(v) = std::env::var("RENKEI_UPTIME_INTERVAL_SECS") {
            match v.trim().parse::<u64>() {
                Ok(0) => return None,
                Ok(secs) => policy.interval = Duration::from_secs(secs),
                Err(_) => tracing::warn!(
                    value = %v,
                    "RENKEI_UPTIME_INTERVAL_SECS is not a whole number of seconds; using 60"
                ),
            }
        }
        Some(policy)
    }
}

/// What a probe result does to the confirmed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to tell anyone.
    None,
    WentDown,
    CameBack,
}

/// The state machine, apart from the database: `(confirmed, bad_streak, good_streak)` and a probe
/// give the new triple and what happened.
pub fn step(
    policy: &UptimePolicy,
    confirmed: Health,
    bad: i32,
    good: i32,
    probe: Health,
) -> (Health, i32, i32, Transition) {
    match (confirmed, probe) {
        (Health::Down, Health::Down) => (Health::Down, 0, 0, Transition::None),
        (Health::Down, ok) => {
            let good = good + 1;
            if good >= policy.up_after {
                (ok, 0, 0, Transition::CameBack)
            } else {
                (Health::Down, 0, good, Transition::None)
            }
        }
        (_, Health::Down) => {
            let bad = bad + 1;
            if bad >= policy.down_after {
                (Health::Down, 0, 0, Transition::WentDown)
            } else {
                (confirmed, bad, 0, Transition::None)
            }
        }
        (_, ok) => (ok, 0, 0, Transition::None),
    }
}

/// Probes one node: `GET {endpoint}/healthz`, then `/readyz` (a node without a database or a valid
/// bundle answers, but cannot serve: degraded).
pub async fn probe(
    http: &reqwest::Client,
    policy: &UptimePolicy,
    endpoint: &str,
) -> (Health, f64, String) {
    let base = endpoint.trim_end_matches('/');
    let started = Instant::now();
    let answer = http
        .get(format!("{base}/healthz"))
        .timeout(policy.timeout)
        .send()
        .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match answer {
        Err(e) if e.is_timeout() => (
            Health::Down,
            ms,
            format!(
                "{} ms 以内に応答なし / no answer within {} ms",
                policy.timeout.as_millis(),
                policy.timeout.as_millis()
            ),
        ),
        Err(e) if e.is_connect() => (
            Health::Down,
            ms,
            "接続できません / connection refused or unreachable".to_owned(),
        ),
        Err(e) => (Health::Down, ms, format!("request failed: {e}")),
        Ok(r) if !r.status().is_success() => (
            Health::Down,
            ms,
            format!(
                "/healthz が {} を返しました / /healthz answered {}",
                r.status().as_u16(),
                r.status().as_u16()
            ),
        ),
        Ok(_) => {
            let ready = http
                .get(format!("{base}/readyz"))
                .timeout(policy.timeout)
                .send()
                .await;
            match ready {
                Ok(r) if r.status().is_success() => {
                    if ms > policy.degraded_ms {
                        (
                            Health::Degraded,
                            ms,
                            format!("応答が遅い ({ms:.0} ms) / slow answer ({ms:.0} ms)"),
                        )
                    } else {
                        (Health::Up, ms, String::new())
                    }
                }
                Ok(r) => (
                    Health::Degraded,
                    ms,
                    format!(
                        "/readyz が {} を返しました / /readyz answered {}",
                        r.status().as_u16(),
                        r.status().as_u16()
                    ),
                ),
                Err(e) => (Health::Degraded, ms, format!("/readyz failed: {e}")),
            }
        }
    }
}

/// One round: probes every registered node and applies the results. Returns the transitions.
pub async fn run_once(
    state: &PortalState,
    http: &reqwest::Client,
    policy: &UptimePolicy,
) -> Result<Vec<(String, Transition)>, DbErr> {
    let nodes = portal_node::Entity::find()
        .order_by_asc(portal_node::Column::ClientId)
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for node in nodes {
        let (health, ms, detail) = probe(http, policy, &node.endpoint).await;
        let t = record(state, policy, &node, health, ms, &detail).await?;
        out.push((node.client_id, t));
    }
    Ok(out)
}

/// Stores one probe result, moves the state machine, and mails on a confirmed change.
pub async fn record(
    state: &PortalState,
    policy: &UptimePolicy,
    node: &portal_node::Model,
    health: Health,
    ms: f64,
    detail: &str,
) -> Result<Transition, DbErr> {
    let db = &state.db;
    let now = crate::jst::now_rfc3339();
    uptime_probe::ActiveModel {
        id: Default::default(),
        client_id: Set(node.client_id.clone()),
        time: Set(now.clone()),
        health: Set(health.as_str().into()),
        response_ms: Set(ms),
        detail: Set(detail.into()),
    }
    .insert(db)
    .await?;
    let current = uptime_state::Entity::find_by_id(node.client_id.clone())
        .one(db)
        .await?;
    let Some(current) = current else {
        // The first probe of a node: a failure still needs confirming, like any other.
        let (health, bad) = match health {
            Health::Down if policy.down_after > 1 => (Health::Up, 1),
            h => (h, 0),
        };
        uptime_state::ActiveModel {
            client_id: Set(node.client_id.clone()),
            health: Set(health.as_str().into()),
            since: Set(now.clone()),
            bad_streak: Set(bad),
            good_streak: Set(0),
            last_check: Set(now.clone()),
            last_down_mail_at: Set(None),
        }
        .insert(db)
        .await?;
        if health == Health::Down {
            open_outage(state, policy, node, &now, detail, None).await?;
            return Ok(Transition::WentDown);
        }
        return Ok(Transition::None);
    };
    let confirmed = Health::parse(&current.health).unwrap_or(Health::Up);
    let (next, bad, good, transition) = step(
        policy,
        confirmed,
        current.bad_streak,
        current.good_streak,
        health,
    );
    let mut active: uptime_state::ActiveModel = current.clone().into();
    active.bad_streak = Set(bad);
    active.good_streak = Set(good);
    active.last_check = Set(now.clone());
    if next != confirmed {
        active.health = Set(next.as_str().into());
        active.since = Set(now.clone());
    }
    match transition {
        Transition::WentDown => {
            let mailed = open_outage(
                state,
                policy,
                node,
                &now,
                detail,
                current.last_down_mail_at.as_deref(),
            )
            .await?;
            if mailed {
                active.last_down_mail_at = Set(Some(now.clone()));
            }
        }
        Transition::CameBack => close_outage(state, node, &now).await?,
        Transition::None => {}
    }
    active.update(db).await?;
    Ok(transition)
}

/// Records the outage and mails it unless a "down" mail went out within the cooldown. True when mailed.
async fn open_outage(
    state: &PortalState,
    policy: &UptimePolicy,
    node: &portal_node::Model,
    now: &str,
    detail: &str,
    last_mail: Option<&str>,
) -> Result<bool, DbErr> {
    let within_cooldown = last_mail
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| crate::jst::now() - t < policy.mail_cooldown);
    let mailed = !within_cooldown;
    uptime_outage::ActiveModel {
        id: Default::default(),
        client_id: Set(node.client_id.clone()),
        started_at: Set(now.into()),
        ended_at: Set(None),
        detail: Set(detail.into()),
        mailed: Set(mailed),
    }
    .insert(&state.db)
    .await?;
    tracing::warn!(node = %node.client_id, %detail, mailed, "node confirmed down");
    if mailed {
        mail_down(state, node, now, detail).await?;
    }
    Ok(mailed)
}

async fn close_outage(
    state: &PortalState,
    node: &portal_node::Model,
    now: &str,
) -> Result<(), DbErr> {
    let open = uptime_outage::Entity::find()
        .filter(uptime_outage::Column::ClientId.eq(&node.client_id))
        .filter(uptime_outage::Column::EndedAt.is_null())
        .order_by_desc(uptime_outage::Column::Id)
        .one(&state.db)
        .await?;
    let Some(outage) = open else {
        return Ok(());
    };
    let mut active: uptime_outage::ActiveModel = outage.clone().into();
    active.ended_at = Set(Some(now.into()));
    active.update(&state.db).await?;
    tracing::info!(node = %node.client_id, since = %outage.started_at, "node available again");
    if outage.mailed {
        mail_back(state, node, &outage.started_at, now).await?;
    }
    Ok(())
}

/// Who to tell about a node: its organisation's admins, and per requester organisation with an
/// approved application to one of its APIs, the admins and the API names.
struct Audience {
    system_name: String,
    provider_admins: Vec<String>,
    requesters: Vec<(Vec<String>, Vec<String>)>,
}

async fn admins_of(db: &DatabaseConnection, org: i64) -> Result<Vec<String>, DbErr> {
    Ok(account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org))
        .filter(account::Column::Role.eq(Role::OrgAdmin.as_str()))
        .order_by_asc(account::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.email)
        .collect())
}

async fn audience(db: &DatabaseConnection, node: &portal_node::Model) -> Result<Audience, DbErr> {
    let system = portal_system::Entity::find_by_id(node.client_id.clone())
        .one(db)
        .await?;
    let provider_admins = match &system {
        Some(s) => admins_of(db, s.organisation_id).await?,
        None => Vec::new(),
    };
    let apis = portal_api::Entity::find()
        .filter(portal_api::Column::ProviderClientId.eq(&node.client_id))
        .all(db)
        .await?;
    let mut by_org: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for api in &apis {
        let approved = portal_api_application::Entity::find()
            .filter(portal_api_application::Column::ApiId.eq(api.id))
            .filter(portal_api_application::Column::Status.eq("approved"))
            .all(db)
            .await?;
        for a in approved {
            let names = by_org.entry(a.requester_org_id).or_default();
            let name = format!("{}（{}）", api.name, api.slug);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut requesters = Vec::new();
    for (org, names) in by_org {
        requesters.push((admins_of(db, org).await?, names));
    }
    Ok(Audience {
        system_name: system
            .map(|s| s.name)
            .unwrap_or_else(|| node.organisation.clone()),
        provider_admins,
        requesters,
    })
}

async fn send_all(state: &PortalState, to: &[String], letter: &Letter) {
    for address in to {
        if let Err(e) = state.accounts.send(address, letter.clone()).await {
            tracing::error!(to = %address, error = %e, "uptime mail not sent");
        }
    }
}

async fn mail_down(
    state: &PortalState,
    node: &portal_node::Model,
    since: &str,
    detail: &str,
) -> Result<(), DbErr> {
    let who = audience(&state.db, node).await?;
    let (id, name) = (&node.client_id, &who.system_name);
    let provider = Letter {
        subject_ja: format!("システムの停止を検知しました：{name}（{id}）"),
        subject_en: format!("Your system is down: {name} ({id})"),
        body_ja: format!(
            "ポータルからの死活監視で、貴組織のシステムが応答していません。\n\nシステム：{name}（{id}）\nエンドポイント：{}\n検知時刻：{since}\n状況：{detail}\n\n確認していただきたいこと：\n・ノードのプロセスが動いているか（systemctl status renkei-node など）\n・{}/healthz と /readyz に応答するか\n・TLS 証明書の期限、ファイアウォール、ネットワーク経路\n・/admin/status で構成バンドルが有効か\n\nこのシステムの API を利用している組織にも停止をお知らせしました。",
            node.endpoint,
            node.endpoint.trim_end_matches('/'),
        ),
        body_en: format!(
            "The portal's uptime monitor gets no healthy answer from your system.\n\nSystem: {name} ({id})\nEndpoint: {}\nDetected: {since}\nWhat happened: {detail}\n\nPlease check:\n- that the node process runs (e.g. systemctl status renkei-node)\n- that {}/healthz and /readyz answer\n- the TLS certificate's expiry, the firewall and the network path\n- at /admin/status, that the configuration bundle is valid\n\nThe organisations that use this system's APIs were told too.",
            node.endpoint,
            node.endpoint.trim_end_matches('/'),
        ),
    };
    send_all(state, &who.provider_admins, &provider).await;
    for (admins, apis) in &who.requesters {
        let list = apis.join("\n・");
        let letter = Letter {
            subject_ja: format!("利用中の API の提供システムが停止しています：{name}"),
            subject_en: format!("A system whose APIs you use is down: {name}"),
            body_ja: format!(
                "貴組織が利用承認を受けている API を提供するシステムが応答していません。\n\nシステム：{name}（{id}）\n検知時刻：{since}\n影響を受ける API：\n・{list}\n\n復旧したら改めてお知らせします。"
            ),
            body_en: format!(
                "A system that provides APIs your organisation is approved to use does not answer.\n\nSystem: {name} ({id})\nDetected: {since}\nAffected APIs:\n- {}\n\nYou will be told when it is available again.",
                apis.join("\n- ")
            ),
        };
        send_all(state, admins, &letter).await;
    }
    Ok(())
}

async fn mail_back(
    state: &PortalState,
    node: &portal_node::Model,
    started: &str,
    now: &str,
) -> Result<(), DbErr> {
    let who = audience(&state.db, node).await?;
    let (id, name) = (&node.client_id, &who.system_name);
    let minutes = match (
        chrono::DateTime::parse_from_rfc3339(started),
        chrono::DateTime::parse_from_rfc3339(now),
    ) {
        (Ok(a), Ok(b)) => (b - a).num_minutes().max(0),
        _ => 0,
    };
    let letter = Letter {
        subject_ja: format!("システムが復旧しました：{name}（{id}）"),
        subject_en: format!("Available again: {name} ({id})"),
        body_ja: format!(
            "停止をお知らせしたシステムが再び応答しています。\n\nシステム：{name}（{id}）\n停止：{started} から {now} まで（約 {minutes} 分）"
        ),
        body_en: format!(
            "The system we reported down answers again.\n\nSystem: {name} ({id})\nDown: from {started} to {now} (about {minutes} min)"
        ),
    };
    let mut to = who.provider_admins.clone();
    for (admins, _) in &who.requesters {
        for a in admins {
            if !to.contains(a) {
                to.push(a.clone());
            }
        }
    }
    send_all(state, &to, &letter).await;
    Ok(())
}

/// Probes on a schedule until the portal stops.
/// `ca_file`: extra CA certificates for nodes whose TLS certificates a private CA signed.
pub fn spawn(state: Arc<PortalState>, policy: UptimePolicy, ca_file: Option<&std::path::Path>) {
    let http = match crate::tls::client_builder(ca_file)
        .map(|b| b.redirect(reqwest::redirect::Policy::none()).build())
    {
        Ok(Ok(http)) => http,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "uptime monitor not started");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "uptime monitor not started");
            return;
        }
    };
    let stop = state.stop.asked();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {
                    if let Err(e) = run_once(&state, &http, &policy).await {
                        tracing::error!(error = %e, "uptime round failed");
                    }
                }
            }
        }
    });
}

// ---- HTTP: what the uptime pages read --------------------------------------------------------

use super::workflow::{SafeJson, WorkflowError, org_caller};
use axum::extract::{Path, RawQuery, State};
use sea_orm::PaginatorTrait;
use serde_json::json;

const READ_ROLES: &[Role] = &[Role::Operator, Role::OrgAdmin, Role::OrgMember];

/// Percentage of probes in the window that were not `down`; `None` without probes.
async fn availability(
    db: &DatabaseConnection,
    client_id: &str,
    since: &str,
) -> Result<Option<f64>, DbErr> {
    let all = uptime_probe::Entity::find()
        .filter(uptime_probe::Column::ClientId.eq(client_id))
        .filter(uptime_probe::Column::Time.gte(since))
        .count(db)
        .await?;
    if all == 0 {
        return Ok(None);
    }
    let down = uptime_probe::Entity::find()
        .filter(uptime_probe::Column::ClientId.eq(client_id))
        .filter(uptime_probe::Column::Time.gte(since))
        .filter(uptime_probe::Column::Health.eq("down"))
        .count(db)
        .await?;
    Ok(Some(
        ((all - down) as f64 * 1000.0 / all as f64).round() / 10.0,
    ))
}

fn ago(days: i64) -> String {
    (crate::jst::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// `GET /api/v1/uptime`: every registered node's state and availability over 24 h, 7 d and 30 d.
#[utoipa::path(
    get,
    path = "/api/v1/uptime",
    tag = "uptime",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Every registered node: state (up, degraded, down, unknown), since when, last response time, availability over 24 h / 7 d / 30 d", body = Object),
        (status = 401, description = "Not logged in", body = crate::api_error::ErrorBody),
    ),
)]
pub async fn overview(
    State(state): State<Arc<PortalState>>,
    session: tower_sessions::Session,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    org_caller(&state, &session, READ_ROLES, "/api/v1/uptime").await?;
    let db = &state.db;
    let nodes = portal_node::Entity::find()
        .order_by_asc(portal_node::Column::ClientId)
        .all(db)
        .await?;
    let (day, week, month) = (ago(1), ago(7), ago(30));
    let mut systems = Vec::new();
    for node in nodes {
        let st = uptime_state::Entity::find_by_id(node.client_id.clone())
            .one(db)
            .await?;
        let name = portal_system::Entity::find_by_id(node.client_id.clone())
            .one(db)
            .await?
            .map(|s| s.name);
        let last = uptime_probe::Entity::find()
            .filter(uptime_probe::Column::ClientId.eq(&node.client_id))
            .order_by_desc(uptime_probe::Column::Id)
            .one(db)
            .await?;
        systems.push(json!({
            "client_id": node.client_id,
            "name": name.unwrap_or_else(|| node.client_id.clone()),
            "organisation": node.organisation,
            "health": st.as_ref().map(|s| s.health.clone()).unwrap_or_else(|| "unknown".into()),
            "since": st.as_ref().map(|s| s.since.clone()),
            "last_check": st.as_ref().map(|s| s.last_check.clone()),
            "response_ms": last.as_ref().map(|p| p.response_ms),
            "availability": {
                "24h": availability(db, &node.client_id, &day).await?,
                "7d": availability(db, &node.client_id, &week).await?,
                "30d": availability(db, &node.client_id, &month).await?,
            },
        }));
    }
    Ok(SafeJson(json!({ "systems": systems })))
}

/// `GET /api/v1/uptime/{client_id}?days=1|7|30`: the history (per hour for a day, per day
/// otherwise) and the outages of one node.
#[utoipa::path(
    get,
    path = "/api/v1/uptime/{client_id}",
    tag = "uptime",
    params(
        ("client_id" = String, Path, description = "The node's client id"),
        ("days" = Option<u32>, Query, description = "1 (per hour, default), 7 or 30 (per day)"),
    ),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The node's probe history and its outages (newest first)", body = Object),
        (status = 400, description = "days is not 1, 7 or 30", body = crate::api_error::ErrorBody),
        (status = 404, description = "No such node", body = crate::api_error::ErrorBody),
    ),
)]
pub async fn history(
    State(state): State<Arc<PortalState>>,
    session: tower_sessions::Session,
    Path(client_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<SafeJson<serde_json::Value>, WorkflowError> {
    org_caller(&state, &session, READ_ROLES, "/api/v1/uptime/{client_id}").await?;
    let mut days = 1;
    for (key, value) in form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()) {
        if key == "days" {
            days = match value.as_ref() {
                "1" => 1,
                "7" => 7,
                "30" => 30,
                _ => {
                    return Err(WorkflowError::field(
                        "invalid_days",
                        "days",
                        "1、7、30 のいずれか / One of 1, 7, 30.",
                    ));
                }
            }
        }
    }
    let db = &state.db;
    let Some(node) = portal_node::Entity::find_by_id(client_id.clone())
        .one(db)
        .await?
    else {
        return Err(WorkflowError::not_found("system"));
    };
    let since = ago(days);
    let probes = uptime_probe::Entity::find()
        .filter(uptime_probe::Column::ClientId.eq(&client_id))
        .filter(uptime_probe::Column::Time.gte(since.clone()))
        .order_by_asc(uptime_probe::Column::Time)
        .all(db)
        .await?;
    let key_len = if days == 1 { 13 } else { 10 };
    let mut buckets: std::collections::BTreeMap<String, (u64, u64, f64)> = Default::default();
    for p in &probes {
        let Some(key) = p.time.get(..key_len) else {
            continue;
        };
        let b = buckets.entry(key.to_owned()).or_default();
        b.0 += 1;
        if p.health == "down" {
            b.1 += 1;
        }
        b.2 += p.response_ms;
    }
    let series: Vec<_> = buckets
        .into_iter()
        .map(|(key, (n, down, total_ms))| {
            json!({
                "start": if key_len == 13 { format!("{key}:00") } else { key },
                "probes": n,
                "down": down,
                "availability": ((n - down) as f64 * 1000.0 / n as f64).round() / 10.0,
                "avg_ms": (total_ms / n as f64 * 10.0).round() / 10.0,
            })
        })
        .collect();
    let outages: Vec<_> = uptime_outage::Entity::find()
        .filter(uptime_outage::Column::ClientId.eq(&client_id))
        .order_by_desc(uptime_outage::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .take(100)
        .map(|o| {
            json!({
                "started_at": o.started_at,
                "ended_at": o.ended_at,
                "detail": o.detail,
                "mailed": o.mailed,
            })
        })
        .collect();
    let st = uptime_state::Entity::find_by_id(client_id.clone())
        .one(db)
        .await?;
    Ok(SafeJson(json!({
        "client_id": client_id,
        "organisation": node.organisation,
        "health": st.as_ref().map(|s| s.health.clone()).unwrap_or_else(|| "unknown".into()),
        "since": st.map(|s| s.since),
        "days": days,
        "series": series,
        "outages": outages,
    })))
}

/// The uptime routes (behind the accounts' session layer).
pub fn router(state: Arc<PortalState>) -> axum::Router {
    use axum::routing::get;
    let routes = axum::Router::new()
        .route("/api/v1/uptime", get(overview))
        .route("/api/v1/uptime/{client_id}", get(history))
        .with_state(state.clone());
    crate::accounts::routes::with_sessions(routes, state.accounts.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_needs_confirming_and_up_down_is_hysteretic() {
        let p = UptimePolicy::default();
        // Two failures are not an outage; the third is.
        let s = step(&p, Health::Up, 0, 0, Health::Down);
        assert_eq!(s, (Health::Up, 1, 0, Transition::None));
        let s = step(&p, Health::Up, 1, 0, Health::Down);
        assert_eq!(s, (Health::Up, 2, 0, Transition::None));
        let s = step(&p, Health::Up, 2, 0, Health::Down);
        assert_eq!(s, (Health::Down, 0, 0, Transition::WentDown));
        // A success in between starts the count again.
        assert_eq!(
            step(&p, Health::Up, 2, 0, Health::Up),
            (Health::Up, 0, 0, Transition::None)
        );
        // Back up after two successes; one success and a failure keep it down.
        assert_eq!(
            step(&p, Health::Down, 0, 0, Health::Up),
            (Health::Down, 0, 1, Transition::None)
        );
        assert_eq!(
            step(&p, Health::Down, 0, 1, Health::Down),
            (Health::Down, 0, 0, Transition::None)
        );
        assert_eq!(
            step(&p, Health::Down, 0, 1, Health::Degraded),
            (Health::Degraded, 0, 0, Transition::CameBack)
        );
        // Degraded and up move freely, without mail.
        assert_eq!(
            step(&p, Health::Up, 0, 0, Health::Degraded),
            (Health::Degraded, 0, 0, Transition::None)
        );
    }
}
