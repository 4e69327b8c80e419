//! `/org/apis`: the APIs the organisation publishes. An admin publishes a new one on one of its
//! systems (name, summary, categories, standard-data scopes, consent, terms, the OpenAPI 3 document
//! from a file read in the browser or typed), adds a version, unpublishes or publishes again. The
//! server checks the document on save; its message names the place (`$.paths…`) and is shown at
//! the document's field.

use super::PageTitle;
use super::applications::{Choice, LoadFailure, Notice, ScopeChecks};
use super::forms::{Field, FormError, Submit, use_hydrated};
use crate::i18n::{M, t, use_lang};
use crate::rest::{self, Failure, Ignored, Loader, encode};
use crate::workflow::{ApiItem, OwnApis, Systems, split_list, standard_scopes};
use leptos::either::EitherOf3;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

#[component]
pub fn PublishedApisPage() -> impl IntoView {
    let loader = Loader::new();
    let apis = Resource::new(|| (), {
        let loader = loader.clone();
        move |_| loader.get::<OwnApis>("/api/v1/published-apis".to_owned())
    });
    let systems = Resource::new(
        || (),
        move |_| loader.get::<Systems>("/api/v1/systems".to_owned()),
    );
    let notice = RwSignal::new(None::<M>);
    let on_done = move |m: M| {
        notice.set(Some(m));
        apis.refetch();
    };
    view! {
        <PageTitle text=t(M::WfApisTitle) />
        <section class="workflow" data-testid="apis-page">
            <h1>{t(M::WfApisTitle)}</h1>
            <p class="hint">{t(M::WfApisIntro)}</p>
            <Notice text=notice />
            <Transition fallback=super::Loading>
                {move || Suspend::new(async move {
                    match apis.await {
                        Err(failure) => EitherOf3::A(view! { <LoadFailure failure /> }),
                        Ok(list) if list.apis.is_empty() => {
                            EitherOf3::B(
                                view! {
                                    <div class="empty-state" data-testid="empty-state">
                                        <p class="empty-title">{t(M::WfNoApis)}</p>
                                    </div>
                                },
                            )
                        }
                        Ok(list) => {
                            EitherOf3::C(
                                view! {
                                    <ul class="cards" data-testid="own-apis">
                                        {list
                                            .apis
                                            .into_iter()
                                            .map(|api| view! { <OwnApiCard api on_done /> })
                                            .collect_view()}
                                    </ul>
                                },
                            )
                        }
                    }
                })}
            </Transition>
            <h2>{t(M::WfPublishTitle)}</h2>
            <Transition fallback=super::Loading>
                {move || Suspend::new(async move {
                    match systems.await {
                        Err(failure) => EitherOf3::A(view! { <LoadFailure failure /> }),
                        Ok(list) if list.systems.is_empty() => {
                            EitherOf3::B(
                                view! {
                                    <div class="notice" data-testid="no-systems">
                                        <p>{t(M::WfNeedSystem)}</p>
                                        <p>
                                            <a class="button" href="/org/systems">
                                                {t(M::WfNavSystems)}
                                            </a>
                                        </p>
                                    </div>
                                },
                            )
                        }
                        Ok(list) => {
                            let options = list
                                .systems
                                .iter()
                                .map(|s| (s.client_id.clone(), format!("{} ({})", s.name, s.client_id)))
                                .collect::<Vec<_>>();
                            EitherOf3::C(view! { <PublishForm systems=options on_done /> })
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// One published (or unpublished) API: facts, a new version, unpublish / publish again.
#[component]
fn OwnApiCard(api: ApiItem, on_done: impl Fn(M) + Copy + Send + Sync + 'static) -> impl IntoView {
    let slug = api.slug.clone();
    let published = api.status.as_deref() != Some("unpublished");
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let hydrated = use_hydrated();
    let show_version = RwSignal::new(false);
    let toggle = {
        let slug = slug.clone();
        move |_| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            error.set(None);
            let (verb, done) = if published {
                ("unpublish", M::WfUnpublished)
            } else {
                ("publish", M::WfRepublished)
            };
            let path = format!("/api/v1/published-apis/{}/{verb}", encode(&slug));
            spawn_local(async move {
                let result = rest::send::<Ignored>("POST", &path, json!({})).await;
                busy.set(false);
                match result {
                    Ok(_) => on_done(done),
                    Err(f) => error.set(Some(f)),
                }
            });
        }
    };
    let categories = api.categories.join(", ");
    let scopes = api.scopes.join(", ");
    let status = if published {
        t(M::WfPublished)
    } else {
        t(M::WfUnpublishedState)
    };
    let version_slug = slug.clone();
    let href = format!("/apis/{slug}");
    view! {
        <li
            class="card"
            data-testid="own-api"
            data-slug=slug.clone()
            data-status=api.status.clone().unwrap_or_default()
        >
            <h3>
                {api.name.clone()} " "
                <span class=if published { "badge badge-approved" } else { "badge badge-withdrawn" }>
                    {status}
                </span>
            </h3>
            <p>{api.summary.clone()}</p>
            <dl class="facts">
                <dt>{t(M::WfSlug)}</dt>
                <dd>
                    <code>{slug.clone()}</code>
                </dd>
                <dt>{t(M::WfVersion)}</dt>
                <dd data-testid="api-version">{api.version.clone()}</dd>
                <dt>{t(M::WfCategories)}</dt>
                <dd>{categories}</dd>
                <dt>{t(M::WfScopes)}</dt>
                <dd>{scopes}</dd>
                <dt>{t(M::WfSystem)}</dt>
                <dd>
                    <code>{api.provider_client_id.clone()}</code>
                </dd>
            </dl>
            <FormError error fields=&[] />
            <div class="button-row">
                {published
                    .then(|| {
                        view! {
                            <a class="button button-small" href=href>
                                {t(M::WfOpenInCatalogue)}
                            </a>
                        }
                    })}
                <button
                    type="button"
                    class="button button-small"
                    data-testid="new-version"
                    disabled=move || !hydrated.get()
                    on:click=move |_| show_version.update(|v| *v = !*v)
                >
                    {t(M::WfNewVersion)}
                </button>
                <button
                    type="button"
                    class=if published { "button button-small button-danger" } else { "button button-small" }
                    data-testid=if published { "unpublish" } else { "republish" }
                    disabled=move || busy.get() || !hydrated.get()
                    on:click=toggle
                >
                    {if published { t(M::WfUnpublish) } else { t(M::WfRepublish) }}
                </button>
            </div>
            <Show when=move || show_version.get()>
                <VersionForm slug=version_slug.clone() on_done />
            </Show>
        </li>
    }
}

#[component]
fn VersionForm(slug: String, on_done: impl Fn(M) + Copy + Send + Sync + 'static) -> impl IntoView {
    const FIELDS: &[&str] = &["version", "openapi"];
    let version = RwSignal::new(String::new());
    let openapi = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let path = format!("/api/v1/published-apis/{}/versions", encode(&slug));
        let body =
            json!({ "version": version.get_untracked(), "openapi": openapi.get_untracked() });
        spawn_local(async move {
            let result = rest::send::<Ignored>("POST", &path, body).await;
            busy.set(false);
            match result {
                Ok(_) => on_done(M::WfVersionAdded),
                Err(f) => error.set(Some(f)),
            }
        });
    };
    view! {
        <form method="post" class="form" data-testid="version-form" on:submit=on_submit novalidate>
            <FormError error fields=FIELDS />
            <Field name="version" label=M::WfVersion value=version error hint=M::WfVersionHint />
            <OpenApiInput value=openapi error />
            <Submit label=M::WfAddVersion busy />
        </form>
    }
}

/// The OpenAPI document: a file read in the browser into the text area, or typed there.
#[component]
fn OpenApiInput(value: RwSignal<String>, error: RwSignal<Option<Failure>>) -> impl IntoView {
    let lang = use_lang();
    let read_error = RwSignal::new(false);
    let on_file = move |ev: leptos::ev::Event| {
        read_error.set(false);
        read_file(ev, value, read_error);
    };
    view! {
        <div class="field">
            <label>
                {t(M::WfOpenApiFile)}
                <input
                    type="file"
                    accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml"
                    data-testid="openapi-file"
                    on:change=on_file
                />
            </label>
            {move || {
                read_error
                    .get()
                    .then(|| view! { <p class="field-error" role="alert">{M::WfFileUnreadable.text(lang)}</p> })
            }}
        </div>
        <Field
            name="openapi"
            label=M::WfOpenApi
            value=value
            error
            multiline=true
            hint=M::WfOpenApiHint
        />
    }
}

/// Reads the chosen file as text into `into` (browser only).
#[cfg(feature = "hydrate")]
fn read_file(ev: leptos::ev::Event, into: RwSignal<String>, failed: RwSignal<bool>) {
    use wasm_bindgen::JsCast;
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return;
    };
    spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(file.text()).await {
            Ok(text) => match text.as_string() {
                Some(text) => into.set(text),
                None => failed.set(true),
            },
            Err(_) => failed.set(true),
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn read_file(_: leptos::ev::Event, _: RwSignal<String>, _: RwSignal<bool>) {}

#[component]
fn PublishForm(
    systems: Vec<(String, String)>,
    on_done: impl Fn(M) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    const FIELDS: &[&str] = &[
        "slug",
        "name",
        "summary",
        "description",
        "system",
        "categories",
        "scopes",
        "terms",
        "path_template",
        "openapi",
        "version",
    ];
    let slug = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let summary = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let system = RwSignal::new(systems.first().map(|s| s.0.clone()).unwrap_or_default());
    let categories = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec!["basic".to_owned()]);
    let extra_scopes = RwSignal::new(String::new());
    let consent = RwSignal::new(false);
    let terms = RwSignal::new(String::new());
    let path_template = RwSignal::new(String::new());
    let openapi = RwSignal::new(String::new());
    let version = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let mut all_scopes = scopes.get_untracked();
        all_scopes.extend(split_list(&extra_scopes.get_untracked()));
        let body = json!({
            "slug": slug.get_untracked(),
            "name": name.get_untracked(),
            "summary": summary.get_untracked(),
            "description": description.get_untracked(),
            "system": system.get_untracked(),
            "categories": split_list(&categories.get_untracked()),
            "scopes": all_scopes,
            "consent_required": consent.get_untracked(),
            "terms": terms.get_untracked(),
            "path_template": path_template.get_untracked(),
            "openapi": openapi.get_untracked(),
            "version": version.get_untracked(),
        });
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = rest::send::<Ignored>("POST", "/api/v1/published-apis", body).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    for s in [
                        slug,
                        name,
                        summary,
                        description,
                        categories,
                        extra_scopes,
                        terms,
                        path_template,
                        openapi,
                        version,
                    ] {
                        s.set(String::new());
                    }
                    on_done(M::WfApiPublished)
                }
                Err(f) => error.set(Some(f)),
            }
        });
    };
    let scope_options = standard_scopes()
        .iter()
        .map(|(scope, block)| (scope.to_string(), block.to_string()))
        .collect::<Vec<_>>();
    view! {
        <form method="post" class="form form-page" data-testid="publish-form" on:submit=on_submit novalidate>
            <FormError error fields=FIELDS />
            <Field name="slug" label=M::WfSlug value=slug error autocomplete="off" hint=M::WfSlugHint />
            <Field name="name" label=M::WfApiName value=name error />
            <Field name="summary" label=M::WfSummary value=summary error />
            <Field
                name="description"
                label=M::WfDescription
                value=description
                error
                multiline=true
            />
            <Choice name="system" label=M::WfSystem options=systems value=system error />
            <Field
                name="categories"
                label=M::WfCategories
                value=categories
                error
                hint=M::WfCategoriesHint
            />
            <ScopeChecks
                name="scopes"
                label=M::WfScopes
                options=scope_options
                selected=scopes
                error
            />
            <Field
                name="extra_scopes"
                label=M::WfExtraScopes
                value=extra_scopes
                error
                autocomplete="off"
                hint=M::WfExtraScopesHint
            />
            <div class="field">
                <label class="check" for="field-consent_required">
                    <input
                        type="checkbox"
                        id="field-consent_required"
                        data-testid="input-consent_required"
                        prop:checked=move || consent.get()
                        on:change=move |ev| consent.set(event_target_checked(&ev))
                    />
                    <span>{t(M::WfConsentRequired)}</span>
                </label>
            </div>
            <Field name="terms" label=M::WfTerms value=terms error multiline=true />
            <Field
                name="path_template"
                label=M::WfPathTemplate
                value=path_template
                error
                autocomplete="off"
                hint=M::WfPathTemplateHint
            />
            <OpenApiInput value=openapi error />
            <Field name="version" label=M::WfVersion value=version error hint=M::WfVersionHint />
            <Submit label=M::WfPublishSubmit busy />
        </form>
    }
}
