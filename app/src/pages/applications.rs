//! API-use applications: the lists for both sides (`/applications`, as requester / as provider,
//! filtered by status), applying for an API (`/applications/new?api={slug}`) and one application
//! with its full history and the actions the viewer may take (`/applications/{id}`).
//!
//! The lists and the application are `Resource`s read through [`Loader`]: the server renders them
//! with the logged-in user's data, the browser hydrates and later refetches. Every user-typed
//! text (comments, purposes) is rendered as text, never as markup, with its newlines kept by CSS.

use super::PageTitle;
use super::forms::{Field, FormError, Submit, jst, use_hydrated};
use crate::i18n::{M, t, use_lang};
use crate::rest::{self, Failure, Loader, encode};
use crate::workflow::{
    ApiDetailView, ApplicationChange, ApplicationDetail, ApplicationView, Applications,
    DEFAULT_RATE_LIMIT, EventView, STATUSES, Systems,
};
use leptos::either::{Either, EitherOf3};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde_json::json;

// ---- pieces the workflow pages share ----------------------------------------------------------

/// A load that failed: a login prompt when not logged in, else the API's message. A missing
/// application is a 404 page on the server.
#[component]
pub fn LoadFailure(failure: Failure) -> impl IntoView {
    let lang = use_lang();
    #[cfg(feature = "ssr")]
    if failure.status == 404
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    if failure.is_unauthenticated() {
        Either::Left(view! {
            <div class="notice" data-testid="need-login">
                <p>{t(M::NeedLogin)}</p>
                <p>
                    <a class="button" href="/login">
                        {t(M::NavLogin)}
                    </a>
                </p>
            </div>
        })
    } else {
        Either::Right(view! {
            <div class="notice notice-error" role="alert" data-testid="error" data-code=failure.code.clone()>
                <p>{failure.text(lang)}</p>
            </div>
        })
    }
}

/// A success message from the catalogue.
#[component]
pub fn Notice(text: RwSignal<Option<M>>) -> impl IntoView {
    move || {
        text.get().map(|m| {
            view! {
                <div class="notice notice-ok" role="status" data-testid="done">
                    <p>{t(m)}</p>
                </div>
            }
        })
    }
}

/// A failure made on the page (before sending) for `field`, in the page's language.
pub fn local_failure(field: &str, code: &str, text: M) -> Failure {
    Failure {
        status: 400,
        code: code.to_owned(),
        message: format!("{field}: {}", t(text)),
    }
}

/// A whole number from 1 to 100,000 typed into `field`.
pub fn parse_rate(field: &str, text: &str) -> Result<u32, Failure> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=100_000).contains(n))
        .ok_or_else(|| local_failure(field, "invalid_rate_limit", M::WfRateLimitInvalid))
}

/// Checkboxes for a list of scopes; the chosen ones in `selected`. Shows the API's message when
/// it names `name`.
#[component]
pub fn ScopeChecks(
    name: &'static str,
    label: M,
    options: Vec<(String, String)>,
    selected: RwSignal<Vec<String>>,
    error: RwSignal<Option<Failure>>,
) -> impl IntoView {
    let lang = use_lang();
    let message = move || {
        error
            .read()
            .as_ref()
            .filter(|f| f.field() == Some(name))
            .map(|f| f.text(lang))
    };
    let boxes = options
        .into_iter()
        .map(|(scope, block)| {
            let id = format!("{name}-{scope}");
            let value = scope.clone();
            let is_on = {
                let scope = scope.clone();
                move || selected.read().contains(&scope)
            };
            let toggle = {
                let scope = scope.clone();
                move |ev: leptos::ev::Event| {
                    let on = event_target_checked(&ev);
                    selected.update(|list| {
                        list.retain(|s| s != &scope);
                        if on {
                            list.push(scope.clone());
                        }
                    });
                }
            };
            let shown = if block.is_empty() || block == scope {
                scope.clone()
            } else {
                format!("{scope} ({block})")
            };
            let for_id = id.clone();
            view! {
                <label class="check" for=for_id>
                    <input
                        type="checkbox"
                        id=id
                        name=name
                        value=value
                        data-testid=format!("{name}-{scope}")
                        checked=is_on.clone()
                        prop:checked=is_on
                        on:change=toggle
                    />
                    <span>{shown}</span>
                </label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="field checks" class:field-invalid=move || message().is_some()>
            <legend>{label.text(lang)}</legend>
            <div class="check-list">{boxes}</div>
            {move || {
                message()
                    .map(|m| {
                        view! {
                            <p class="field-error" role="alert" data-testid=format!("error-{name}")>
                                {m}
                            </p>
                        }
                    })
            }}
        </fieldset>
    }
}

/// A `<select>` over `(value, label)` pairs bound to `value`.
#[component]
pub fn Choice(
    name: &'static str,
    label: M,
    options: Vec<(String, String)>,
    value: RwSignal<String>,
    error: RwSignal<Option<Failure>>,
) -> impl IntoView {
    let lang = use_lang();
    let id = format!("field-{name}");
    let message = move || {
        error
            .read()
            .as_ref()
            .filter(|f| f.field() == Some(name))
            .map(|f| f.text(lang))
    };
    let choices = options
        .into_iter()
        .map(|(v, text)| {
            let selected = v == value.get_untracked();
            view! {
                <option value=v selected=selected>
                    {text}
                </option>
            }
        })
        .collect_view();
    view! {
        <div class="field" class:field-invalid=move || message().is_some()>
            <label for=id.clone()>{label.text(lang)}</label>
            <select
                id=id
                name=name
                data-testid=format!("input-{name}")
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {choices}
            </select>
            {move || {
                message()
                    .map(|m| {
                        view! {
                            <p class="field-error" role="alert" data-testid=format!("error-{name}")>
                                {m}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The status's name for people.
pub fn application_status(status: &str) -> &'static str {
    match status {
        "pending" => t(M::WfStatusPending),
        "approved" => t(M::WfStatusApproved),
        "rejected" => t(M::WfStatusRejected),
        "withdrawn" => t(M::WfStatusWithdrawn),
        "revoked" => t(M::WfStatusRevoked),
        _ => t(M::WfStatusUnknown),
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "submitted" => t(M::WfActionSubmitted),
        "approved" => t(M::WfActionApproved),
        "rejected" => t(M::WfActionRejected),
        "withdrawn" => t(M::WfActionWithdrawn),
        "revoked" => t(M::WfActionRevoked),
        _ => t(M::WfStatusUnknown),
    }
}

#[component]
fn StatusBadge(status: String) -> impl IntoView {
    let label = application_status(&status);
    view! {
        <span class=format!("badge badge-{status}") data-testid="status" data-status=status.clone()>
            {label}
        </span>
    }
}

// ---- lists ------------------------------------------------------------------------------------

/// `/applications?side=requester|provider&status=…`.
#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let query = use_query_map();
    let side = move || match query.read().get("side").as_deref() {
        Some("provider") => "provider",
        _ => "requester",
    };
    let status = move || {
        query
            .read()
            .get("status")
            .filter(|s| STATUSES.contains(&s.as_str()))
            .unwrap_or_default()
    };
    let loader = Loader::new();
    let list = Resource::new(
        move || (side(), status()),
        move |(side, status)| {
            let mut path = format!("/api/v1/applications?side={side}");
            if !status.is_empty() {
                path.push_str(&format!("&status={status}"));
            }
            loader.get::<Applications>(path)
        },
    );
    let tab = move |name: &'static str, label: M| {
        view! {
            <a
                href=move || {
                    let status = status();
                    if status.is_empty() {
                        format!("/applications?side={name}")
                    } else {
                        format!("/applications?side={name}&status={status}")
                    }
                }
                class="tab"
                data-testid=format!("tab-{name}")
                aria-current=move || (side() == name).then_some("page")
            >
                {t(label)}
            </a>
        }
    };
    let options = STATUSES
        .into_iter()
        .map(|s: &'static str| {
            view! {
                <option value=s selected=move || status() == s>
                    {application_status(s)}
                </option>
            }
        })
        .collect_view();
    view! {
        <PageTitle text=t(M::WfApplicationsTitle) />
        <section class="workflow" data-testid="applications-page">
            <h1>{t(M::WfApplicationsTitle)}</h1>
            <nav class="tabs" aria-label=t(M::WfSide)>
                {tab("requester", M::WfAsRequester)}
                {tab("provider", M::WfAsProvider)}
            </nav>
            <form class="toolbar" method="get" action="/applications">
                <input type="hidden" name="side" value=side />
                <label for="status-filter">{t(M::Status)}</label>
                <select id="status-filter" name="status" data-testid="status-filter">
                    <option value="" selected=move || status().is_empty()>
                        {t(M::WfAllStatuses)}
                    </option>
                    {options}
                </select>
                <button type="submit" class="button button-small" data-testid="filter-submit">
                    {t(M::WfFilter)}
                </button>
            </form>
            <Transition fallback=super::Loading>
                {move || Suspend::new(async move {
                    let side = side();
                    let filtered = !status().is_empty();
                    match list.await {
                        Err(failure) => EitherOf3::A(view! { <LoadFailure failure /> }),
                        Ok(list) if list.applications.is_empty() => {
                            EitherOf3::B(view! { <EmptyApplications side filtered /> })
                        }
                        Ok(list) => {
                            EitherOf3::C(
                                view! { <ApplicationTable side applications=list.applications /> },
                            )
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EmptyApplications(side: &'static str, filtered: bool) -> impl IntoView {
    let (title, hint) = match (filtered, side) {
        (true, _) => (M::WfEmptyFiltered, M::WfEmptyFilteredHint),
        (false, "provider") => (M::WfEmptyProvider, M::WfEmptyProviderHint),
        (false, _) => (M::WfEmptyRequester, M::WfEmptyRequesterHint),
    };
    let link = match (filtered, side) {
        (true, _) => (format!("/applications?side={side}"), M::WfClearFilter),
        (false, "provider") => ("/org/apis".to_owned(), M::WfNavApis),
        (false, _) => ("/catalogue".to_owned(), M::WfFindApi),
    };
    view! {
        <div class="empty-state" data-testid="empty-state">
            <p class="empty-title">{t(title)}</p>
            <p>{t(hint)}</p>
            <p>
                <a class="button" href=link.0>
                    {t(link.1)}
                </a>
            </p>
        </div>
    }
}

#[component]
fn ApplicationTable(side: &'static str, applications: Vec<ApplicationView>) -> impl IntoView {
    let other = if side == "provider" {
        M::WfRequester
    } else {
        M::WfProvider
    };
    let rows = applications
        .into_iter()
        .map(|a| {
            let href = format!("/applications/{}", a.id);
            let party = if side == "provider" {
                a.requester.organisation.clone()
            } else {
                a.provider.organisation.clone()
            };
            let api_name = if a.api.name.is_empty() {
                a.api.slug.clone()
            } else {
                a.api.name.clone()
            };
            view! {
                <tr data-testid="application-row" data-id=a.id data-status=a.status.clone()>
                    <td data-label=t(M::WfNumber)>
                        <a href=href.clone()>{format!("#{}", a.id)}</a>
                    </td>
                    <td data-label=t(M::WfApi)>
                        <a href=href>{api_name}</a>
                    </td>
                    <td data-label=t(other)>{party}</td>
                    <td data-label=t(M::WfSystem)>
                        <code>{a.system.clone()}</code>
                    </td>
                    <td data-label=t(M::Status)>
                        <StatusBadge status=a.status.clone() />
                    </td>
                    <td data-label=t(M::WfUpdatedAt)>{jst(&a.updated_at)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="rows" data-testid="applications">
            <thead>
                <tr>
                    <th>{t(M::WfNumber)}</th>
                    <th>{t(M::WfApi)}</th>
                    <th>{t(other)}</th>
                    <th>{t(M::WfSystem)}</th>
                    <th>{t(M::Status)}</th>
                    <th>{t(M::WfUpdatedAt)}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

// ---- apply ------------------------------------------------------------------------------------

/// `/applications/new?api={slug}`: one of my systems applies for the API.
#[component]
pub fn ApplyPage() -> impl IntoView {
    let query = use_query_map();
    let slug = move || query.read().get("api").unwrap_or_default();
    let loader = Loader::new();
    let api = Resource::new(slug, {
        let loader = loader.clone();
        move |slug: String| {
            let path = format!("/api/v1/catalogue/{}", encode(slug.trim()));
            loader.get::<ApiDetailView>(path)
        }
    });
    let systems = Resource::new(
        || (),
        move |_| loader.get::<Systems>("/api/v1/systems".to_owned()),
    );
    view! {
        <PageTitle text=t(M::WfApplyTitle) />
        <section class="form-page workflow" data-testid="apply-page">
            <h1>{t(M::WfApplyTitle)}</h1>
            <Transition fallback=super::Loading>
                {move || Suspend::new(async move {
                    if slug().trim().is_empty() {
                        return EitherOf3::A(
                            view! {
                                <div class="notice" data-testid="no-api">
                                    <p>{t(M::WfNoApiChosen)}</p>
                                    <p>
                                        <a class="button" href="/catalogue">
                                            {t(M::WfFindApi)}
                                        </a>
                                    </p>
                                </div>
                            },
                        );
                    }
                    let (api, systems) = (api.await, systems.await);
                    match (api, systems) {
                        (Err(failure), _) | (_, Err(failure)) => {
                            EitherOf3::B(view! { <LoadFailure failure /> })
                        }
                        (Ok(api), Ok(systems)) => {
                            EitherOf3::C(view! { <ApplyForm api systems=systems.systems /> })
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ApplyForm(api: ApiDetailView, systems: Vec<crate::workflow::SystemView>) -> impl IntoView {
    const FIELDS: &[&str] = &[
        "system",
        "scopes",
        "purpose",
        "rate_limit_per_minute",
        "comment",
    ];
    let slug = api.api.slug.clone();
    let system = RwSignal::new(
        systems
            .first()
            .map(|s| s.client_id.clone())
            .unwrap_or_default(),
    );
    let scopes = RwSignal::new(api.api.scopes.clone());
    let purpose = RwSignal::new(String::new());
    let rate = RwSignal::new(DEFAULT_RATE_LIMIT.to_string());
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let no_systems = systems.is_empty();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        let rate = match parse_rate("rate_limit_per_minute", &rate.get_untracked()) {
            Ok(r) => r,
            Err(f) => return error.set(Some(f)),
        };
        // Keep the API's order of scopes whatever order they were ticked in.
        let body = json!({
            "api": slug,
            "system": system.get_untracked(),
            "scopes": scopes.get_untracked(),
            "purpose": purpose.get_untracked(),
            "rate_limit_per_minute": rate,
            "comment": comment.get_untracked(),
        });
        busy.set(true);
        spawn_local(async move {
            let result =
                rest::send::<ApplicationChange>("POST", "/api/v1/applications", body).await;
            busy.set(false);
            match result {
                Ok(done) => rest::go(&format!("/applications/{}", done.application.id)),
                Err(f) => error.set(Some(f)),
            }
        });
    };
    let scope_options = api
        .api
        .scopes
        .iter()
        .map(|s| (s.clone(), String::new()))
        .collect::<Vec<_>>();
    let system_options = systems
        .iter()
        .map(|s| (s.client_id.clone(), format!("{} ({})", s.name, s.client_id)))
        .collect::<Vec<_>>();
    let terms = (!api.terms.trim().is_empty()).then(|| {
        view! {
            <dt>{t(M::WfTerms)}</dt>
            <dd class="user-text">{api.terms.clone()}</dd>
        }
    });
    view! {
        <dl class="facts" data-testid="apply-api">
            <dt>{t(M::WfApi)}</dt>
            <dd>
                <a href=format!("/apis/{}", api.api.slug)>{api.api.name.clone()}</a>
            </dd>
            <dt>{t(M::WfProvider)}</dt>
            <dd>{api.api.provider.clone()}</dd>
            {terms}
        </dl>
        {no_systems
            .then(|| {
                view! {
                    <div class="notice" data-testid="no-systems">
                        <p>{t(M::WfNeedSystem)}</p>
                        <p>
                            <a class="button" href="/org/systems">
                                {t(M::WfNavSystems)}
                            </a>
                        </p>
                    </div>
                }
            })}
        <form method="post" class="form" on:submit=on_submit novalidate>
            <FormError error fields=FIELDS />
            <Choice name="system" label=M::WfSystem options=system_options value=system error />
            <ScopeChecks
                name="scopes"
                label=M::WfScopes
                options=scope_options
                selected=scopes
                error
            />
            <Field name="purpose" label=M::WfPurpose value=purpose error multiline=true />
            <Field
                name="rate_limit_per_minute"
                label=M::WfRequestedRateLimit
                value=rate
                error
                kind="number"
                hint=M::WfRateLimitHint
            />
            <Field
                name="comment"
                label=M::FieldComment
                value=comment
                error
                multiline=true
                hint=M::WfCommentHint
            />
            <Submit label=M::WfApplySubmit busy />
        </form>
    }
}

// ---- one application --------------------------------------------------------------------------

/// `/applications/{id}`: the application, its history, and the viewer's actions.
#[component]
pub fn ApplicationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let loader = Loader::new();
    let detail = Resource::new(id, move |id: String| {
        loader.get::<ApplicationDetail>(format!("/api/v1/applications/{}", encode(&id)))
    });
    let notice = RwSignal::new(None::<M>);
    view! {
        <PageTitle text=t(M::WfApplicationTitle) />
        <section class="workflow" data-testid="application-page">
            <p class="breadcrumb">
                <a href="/applications">{t(M::WfApplicationsTitle)}</a>
            </p>
            <Notice text=notice />
            <Transition fallback=super::Loading>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(failure) => {
                            Either::Left(
                                view! {
                                    <h1>{t(M::WfApplicationTitle)}</h1>
                                    <LoadFailure failure />
                                },
                            )
                        }
                        Ok(d) => {
                            let on_done = move |m: M| {
                                notice.set(Some(m));
                                detail.refetch();
                            };
                            Either::Right(
                                view! {
                                    <ApplicationFacts application=d.application.clone() />
                                    <Actions application=d.application on_done />
                                    <History events=d.history />
                                },
                            )
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

fn scope_list(scopes: &[String]) -> impl IntoView + use<> {
    let items = scopes
        .iter()
        .map(|s| view! { <li class="scope">{s.clone()}</li> })
        .collect_view();
    view! { <ul class="tags">{items}</ul> }
}

#[component]
fn ApplicationFacts(application: ApplicationView) -> impl IntoView {
    let a = application;
    let api_name = if a.api.name.is_empty() {
        a.api.slug.clone()
    } else {
        a.api.name.clone()
    };
    let granted = a.granted_scopes.clone().map(|g| {
        view! {
            <dt>{t(M::WfGrantedScopes)}</dt>
            <dd data-testid="granted-scopes">{scope_list(&g)}</dd>
        }
    });
    let granted_rate = a.granted_rate_limit_per_minute.map(|r| {
        view! {
            <dt>{t(M::WfGrantedRateLimit)}</dt>
            <dd data-testid="granted-rate">{format!("{r} {}", t(M::WfPerMinute))}</dd>
        }
    });
    view! {
        <h1>
            {t(M::WfApplicationTitle)} {format!(" #{}", a.id)} <StatusBadge status=a.status.clone() />
        </h1>
        <dl class="facts" data-testid="application-facts">
            <dt>{t(M::WfApi)}</dt>
            <dd>
                <a href=format!("/apis/{}", a.api.slug)>{api_name}</a>
            </dd>
            <dt>{t(M::WfRequester)}</dt>
            <dd>{a.requester.organisation.clone()}</dd>
            <dt>{t(M::WfSystem)}</dt>
            <dd>
                <code>{a.system.clone()}</code>
            </dd>
            <dt>{t(M::WfProvider)}</dt>
            <dd>{a.provider.organisation.clone()}</dd>
            <dt>{t(M::WfRequestedScopes)}</dt>
            <dd data-testid="requested-scopes">{scope_list(&a.requested_scopes)}</dd>
            {granted}
            <dt>{t(M::WfRequestedRateLimit)}</dt>
            <dd>{format!("{} {}", a.requested_rate_limit_per_minute, t(M::WfPerMinute))}</dd>
            {granted_rate}
            <dt>{t(M::WfPurpose)}</dt>
            <dd class="user-text" data-testid="application-purpose">
                {a.purpose.clone()}
            </dd>
            <dt>{t(M::FieldComment)}</dt>
            <dd class="user-text" data-testid="application-comment">
                {a.comment.clone()}
            </dd>
            <dt>{t(M::AppliedAt)}</dt>
            <dd>{jst(&a.created_at)}</dd>
        </dl>
    }
}

#[component]
fn History(events: Vec<EventView>) -> impl IntoView {
    let items = events
        .into_iter()
        .map(|e| {
            let change = match &e.from_status {
                Some(from) => {
                    format!(
                        "{} → {}",
                        application_status(from),
                        application_status(&e.to_status)
                    )
                }
                None => application_status(&e.to_status).to_owned(),
            };
            let scopes = e.scopes().map(|s| {
                view! {
                    <span class="history-terms">
                        {t(M::WfScopes)} ": " {s.join(", ")}
                    </span>
                }
            });
            let rate = e.rate_limit().map(|r| {
                view! {
                    <span class="history-terms">
                        {t(M::WfRateLimit)} ": " {format!("{r} {}", t(M::WfPerMinute))}
                    </span>
                }
            });
            let comment = (!e.comment.is_empty()).then(|| {
                view! {
                    <p class="user-text history-comment" data-testid="history-comment">
                        {e.comment.clone()}
                    </p>
                }
            });
            view! {
                <li class="history-item" data-testid="history-item" data-action=e.action.clone()>
                    <p class="history-head">
                        <time datetime=e.time.clone()>{jst(&e.time)}</time>
                        <strong>{action_label(&e.action)}</strong>
                        <span class="history-actor" data-testid="history-actor">
                            {e.actor.clone()}
                        </span>
                    </p>
                    <p class="history-change">{change} {scopes} {rate}</p>
                    {comment}
                </li>
            }
        })
        .collect_view();
    view! {
        <h2>{t(M::WfHistory)}</h2>
        <ol class="history" data-testid="history">
            {items}
        </ol>
    }
}

/// The transitions the viewer's side may make from the application's state. The server decides
/// (a stale page may offer one that is no longer possible: the 409's reason is shown then).
#[component]
fn Actions(
    application: ApplicationView,
    on_done: impl Fn(M) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let a = application;
    let pending = a.status == "pending";
    let approved = a.status == "approved";
    let decide = (a.viewer_provides() && pending).then(|| {
        view! {
            <Decide
                id=a.id
                requested=a.requested_scopes.clone()
                rate=a.requested_rate_limit_per_minute
                on_done
            />
        }
    });
    let revoke = (a.viewer_provides() && approved).then(|| {
        view! {
            <CommentAction
                id=a.id
                action="revoke"
                title=M::WfRevokeTitle
                button=M::WfRevoke
                done=M::WfRevoked
                danger=true
                on_done
            />
        }
    });
    let withdraw = (a.viewer_requests() && pending).then(|| {
        view! {
            <CommentAction
                id=a.id
                action="withdraw"
                title=M::WfWithdrawTitle
                button=M::WfWithdraw
                done=M::WfWithdrawn
                danger=false
                on_done
            />
        }
    });
    let any = decide.is_some() || revoke.is_some() || withdraw.is_some();
    any.then(|| {
        view! {
            <div class="actions" data-testid="actions">
                {decide}
                {revoke}
                {withdraw}
            </div>
        }
    })
}

/// After a 409 (the application moved on meanwhile): a button that loads its current state.
#[component]
fn Stale(
    error: RwSignal<Option<Failure>>,
    on_done: impl Fn(M) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        error.read().as_ref().filter(|f| f.status == 409).map(|_| {
            view! {
                <button
                    type="button"
                    class="button button-small"
                    data-testid="reload"
                    on:click=move |_| on_done(M::WfReloaded)
                >
                    {t(M::WfShowCurrent)}
                </button>
            }
        })
    }
}

/// Sends `POST /api/v1/applications/{id}/{action}`; the failure (409 reason, field) into `error`.
fn transition(
    id: i64,
    action: &'static str,
    body: serde_json::Value,
    busy: RwSignal<bool>,
    error: RwSignal<Option<Failure>>,
    on_ok: impl FnOnce() + 'static,
) {
    if busy.get_untracked() {
        return;
    }
    busy.set(true);
    error.set(None);
    spawn_local(async move {
        let path = format!("/api/v1/applications/{id}/{action}");
        let result = rest::send::<ApplicationChange>("POST", &path, body).await;
        busy.set(false);
        match result {
            Ok(_) => on_ok(),
            Err(f) => error.set(Some(f)),
        }
    });
}

/// The provider's decision: approve (scopes narrowed, rate limit set) or reject, with a comment.
#[component]
fn Decide(
    id: i64,
    requested: Vec<String>,
    rate: i32,
    on_done: impl Fn(M) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    const FIELDS: &[&str] = &["scopes", "rate_limit_per_minute", "comment"];
    let scopes = RwSignal::new(requested.clone());
    let rate = RwSignal::new(rate.to_string());
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let hydrated = use_hydrated();
    let approve = move |_| {
        let rate = match parse_rate("rate_limit_per_minute", &rate.get_untracked()) {
            Ok(r) => r,
            Err(f) => return error.set(Some(f)),
        };
        let body = json!({
            "scopes": scopes.get_untracked(),
            "rate_limit_per_minute": rate,
            "comment": comment.get_untracked(),
        });
        transition(id, "approve", body, busy, error, move || {
            on_done(M::WfApproved)
        });
    };
    let reject = move |_| {
        let body = json!({ "comment": comment.get_untracked() });
        transition(id, "reject", body, busy, error, move || {
            on_done(M::WfRejected)
        });
    };
    let disabled = move || busy.get() || !hydrated.get();
    let options = requested
        .into_iter()
        .map(|s| (s, String::new()))
        .collect::<Vec<_>>();
    view! {
        <form method="post" class="form card" data-testid="decide" on:submit=|ev: SubmitEvent| ev.prevent_default()>
            <h2>{t(M::WfDecideTitle)}</h2>
            <p class="hint">{t(M::WfDecideHint)}</p>
            <FormError error fields=FIELDS />
            <Stale error on_done />
            <ScopeChecks name="scopes" label=M::WfGrantedScopes options selected=scopes error />
            <Field
                name="rate_limit_per_minute"
                label=M::WfGrantedRateLimit
                value=rate
                error
                kind="number"
                hint=M::WfRateLimitHint
            />
            <Field
                name="comment"
                label=M::FieldComment
                value=comment
                error
                multiline=true
                hint=M::WfRejectHint
            />
            <div class="button-row">
                <button
                    type="button"
                    class="button button-primary"
                    data-testid="approve"
                    disabled=disabled
                    on:click=approve
                >
                    {t(M::Approve)}
                </button>
                <button
                    type="button"
                    class="button button-danger"
                    data-testid="reject"
                    disabled=disabled
                    on:click=reject
                >
                    {t(M::Reject)}
                </button>
            </div>
        </form>
    }
}

/// Withdraw (requester) or revoke (provider), with a comment.
#[component]
fn CommentAction(
    id: i64,
    action: &'static str,
    title: M,
    button: M,
    done: M,
    danger: bool,
    on_done: impl Fn(M) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let hydrated = use_hydrated();
    let send = move |_| {
        let body = json!({ "comment": comment.get_untracked() });
        transition(id, action, body, busy, error, move || on_done(done));
    };
    view! {
        <form
            method="post"
            class="form card"
            data-testid=format!("{action}-form")
            on:submit=|ev: SubmitEvent| ev.prevent_default()
        >
            <h2>{t(title)}</h2>
            <FormError error fields=&["comment"] />
            <Stale error on_done />
            <Field name="comment" label=M::FieldComment value=comment error multiline=true />
            <div class="button-row">
                <button
                    type="button"
                    class=if danger { "button button-danger" } else { "button" }
                    data-testid=action
                    disabled=move || busy.get() || !hydrated.get()
                    on:click=send
                >
                    {t(button)}
                </button>
            </div>
        </form>
    }
}
