//! One API's page: what it returns, who provides it, its terms, its OpenAPI document as readable
//! operations with their body schemas, a link to apply, and (logged in) a try-it form that calls
//! the viewer's own requester node straight from the browser.

use super::catalogue::ConsentBadge;
use super::try_it::TryIt;
use super::{ErrorNotice, Loading, NotFound, PageTitle};
use crate::api::{UiError, get_api_detail};
use crate::i18n::{M, t, use_lang};
use crate::model::{ApiDetail, encode_component};
use crate::openapi::{self, BodyDoc, Operation, SchemaNode};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ApiDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        get_api_detail,
    );

    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => EitherOf3::A(view! { <ApiDetailView detail /> }),
                    Err(UiError::NotFound(message)) => EitherOf3::B(view! { <NotFound message /> }),
                    Err(error) => EitherOf3::C(view! { <ErrorNotice error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ApiDetailView(detail: ApiDetail) -> impl IntoView {
    let lang = use_lang();
    let ApiDetail {
        api,
        description,
        openapi_json,
        terms,
        provider_organisation,
    } = detail;
    let download_href = format!("/apis/{}/openapi.json", api.slug);
    let download_name = format!("{}.openapi.json", api.slug);
    let apply_href = format!("/applications/new?api={}", encode_component(&api.slug));
    let document = openapi::parse(&openapi_json);
    let try_operations: Vec<Operation> = document
        .as_ref()
        .map(|d| {
            d.operations
                .iter()
                .filter(|o| o.method == "GET")
                .cloned()
                .collect()
        })
        .unwrap_or_default();

    view! {
        <PageTitle text=api.name.clone() />
        <article class="api-detail" data-testid="api-detail" data-slug=api.slug.clone()>
            <p class="breadcrumb">
                <a href="/catalogue">{t(M::NavCatalogue)}</a>
                " › "
                {api.name.clone()}
            </p>
            <h1>{api.name.clone()}</h1>
            <p class="lead" data-testid="api-summary">{api.summary.clone()}</p>
            <div class="description" data-testid="api-description">
                {description
                    .split("\n\n")
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| view! { <p>{p.trim().to_string()}</p> })
                    .collect_view()}
            </div>
            <p class="apply">
                <a class="button button-primary" href=apply_href data-testid="apply-link">
                    {t(M::DetailApply)}
                </a>
                <span class="apply-hint">{t(M::DetailApplyHint)}</span>
            </p>

            <h2>{t(M::DetailOverview)}</h2>
            <dl class="facts facts-wide">
                <dt>{t(M::CatProvider)}</dt>
                <dd data-testid="api-provider">{api.provider.clone()}</dd>
                {provider_organisation
                    .map(|org| {
                        view! {
                            <dt>{t(M::DetailProviderOrg)}</dt>
                            <dd data-testid="api-provider-org">{org}</dd>
                        }
                    })}
                <dt>{t(M::DetailClientId)}</dt>
                <dd>
                    <code data-testid="api-client-id">{api.provider_client_id.clone()}</code>
                </dd>
                <dt>{t(M::DetailPath)}</dt>
                <dd>
                    <code data-testid="api-path">{api.path_template.clone()}</code>
                </dd>
                <dt>{t(M::CatScopes)}</dt>
                <dd data-testid="api-scopes">
                    {api
                        .scopes
                        .iter()
                        .map(|s| view! { <code class="scope">{s.clone()}</code> })
                        .collect_view()}
                </dd>
                <dt>{t(M::CatCategory)}</dt>
                <dd data-testid="api-categories">
                    {api
                        .categories
                        .iter()
                        .map(|c| view! { <span class="tag">{c.clone()}</span> })
                        .collect_view()}
                </dd>
                <dt>{t(M::DetailConsent)}</dt>
                <dd data-testid="api-consent">
                    <ConsentBadge required=api.consent_required />
                </dd>
                <dt>{t(M::DetailTerms)}</dt>
                <dd data-testid="api-terms">
                    {if terms.trim().is_empty() {
                        t(M::DetailNoTerms).to_string()
                    } else {
                        terms
                    }}
                </dd>
            </dl>

            <h2>{t(M::DetailOperations)}</h2>
            {match document {
                Ok(doc) => {
                    Either::Left(
                        view! {
                            <p class="doc-meta">
                                {format!(
                                    "{} · {} {} · OpenAPI {}",
                                    doc.title,
                                    t(M::DetailVersion),
                                    doc.version,
                                    doc.openapi,
                                )}
                            </p>
                            <div class="operations">
                                {doc
                                    .operations
                                    .into_iter()
                                    .map(|operation| view! { <OperationView operation /> })
                                    .collect_view()}
                            </div>
                        },
                    )
                }
                Err(e) => {
                    Either::Right(
                        view! {
                            <div class="notice notice-error" role="alert">
                                <p>{lang.pick(&e.to_string()).to_string()}</p>
                            </div>
                        },
                    )
                }
            }}
            <p class="download">
                <a
                    class="button"
                    href=download_href
                    download=download_name
                    rel="external"
                    data-testid="openapi-download"
                >
                    {t(M::DetailDownload)}
                </a>
            </p>
            <details class="raw-json">
                <summary>{t(M::DetailRaw)}</summary>
                <pre>
                    <code>{openapi_json}</code>
                </pre>
            </details>

            <TryIt
                provider=api.provider_client_id.clone()
                scopes=api.scopes.clone()
                operations=try_operations
            />
        </article>
    }
}

#[component]
fn OperationView(operation: Operation) -> impl IntoView {
    let Operation {
        method,
        path,
        summary,
        description,
        parameters,
        request_body,
        responses,
    } = operation;
    let method_class = format!("method method-{}", method.to_ascii_lowercase());
    view! {
        <section class="operation" data-testid="api-operation">
            <h3 class="operation-title">
                <span class=method_class>{method}</span>
                <code class="operation-path">{path}</code>
            </h3>
            <p class="operation-summary">{summary}</p>
            {(!description.is_empty()).then(|| view! { <p class="operation-desc">{description}</p> })}
            {(!parameters.is_empty())
                .then(|| {
                    view! {
                        <h4>{t(M::DetailParameters)}</h4>
                        <div class="table-wrap">
                            <table class="params">
                                <thead>
                                    <tr>
                                        <th>{t(M::DetailParamName)}</th>
                                        <th>{t(M::DetailParamIn)}</th>
                                        <th>{t(M::DetailParamType)}</th>
                                        <th>{t(M::DetailParamRequired)}</th>
                                        <th>{t(M::DetailParamDescription)}</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {parameters
                                        .into_iter()
                                        .map(|p| {
                                            view! {
                                                <tr>
                                                    <td>
                                                        <code>{p.name}</code>
                                                    </td>
                                                    <td>{p.location}</td>
                                                    <td>
                                                        <code>{p.schema}</code>
                                                    </td>
                                                    <td>
                                                        {if p.required {
                                                            t(M::DetailYes)
                                                        } else {
                                                            t(M::DetailNo)
                                                        }}
                                                    </td>
                                                    <td>{p.description}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                })}
            {request_body
                .map(|body| {
                    view! {
                        <h4>{t(M::DetailRequestBody)}</h4>
                        <BodyView body />
                    }
                })}
            <h4>{t(M::DetailResponses)}</h4>
            <ul class="responses">
                {responses
                    .into_iter()
                    .map(|r| {
                        let class = format!(
                            "status status-{}",
                            r.status.chars().next().unwrap_or('x'),
                        );
                        let status = r.status.clone();
                        view! {
                            <li data-testid="api-response" data-status=status>
                                <span class=class>{r.status}</span>
                                " "
                                {r.description}
                                {(!r.content_types.is_empty())
                                    .then(|| {
                                        view! {
                                            " "
                                            <code class="content-type">{r.content_types.join(", ")}</code>
                                        }
                                    })}
                                {r.schema.map(|schema| view! { <SchemaTree schema /> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn BodyView(body: BodyDoc) -> impl IntoView {
    view! {
        <div class="body-doc" data-testid="api-request-body">
            <p>
                <code class="content-type">{body.content_type}</code>
                {body.required.then(|| view! { " " <span class="required">{t(M::DetailRequiredMark)}</span> })}
                {(!body.description.is_empty()).then(|| view! { " " {body.description} })}
            </p>
            <SchemaTree schema=body.schema />
        </div>
    }
}

/// A body schema: its type, then its properties as a nested list.
#[component]
fn SchemaTree(schema: SchemaNode) -> impl IntoView {
    view! {
        <div class="schema" data-testid="api-schema">
            <p class="schema-root">
                <code class="schema-type">{schema.ty.clone()}</code>
                {(!schema.description.is_empty())
                    .then(|| view! { " " <span class="schema-desc">{schema.description.clone()}</span> })}
            </p>
            {properties(schema.children)}
        </div>
    }
}

/// Nested properties (a function, not a component: it calls itself for each level).
fn properties(children: Vec<SchemaNode>) -> AnyView {
    if children.is_empty() {
        return ().into_any();
    }
    view! {
        <ul class="schema-props">
            {children
                .into_iter()
                .map(|p| {
                    let name = p.name.clone();
                    view! {
                        <li data-testid="schema-prop" data-name=name>
                            <code class="prop-name">{p.name}</code>
                            " "
                            <code class="schema-type">{p.ty}</code>
                            {p.required.then(|| view! { " " <span class="required">{t(M::DetailRequiredMark)}</span> })}
                            {p.recursive.then(|| view! { " " <span class="schema-desc">{t(M::DetailRecursive)}</span> })}
                            {(!p.description.is_empty())
                                .then(|| view! { " " <span class="schema-desc">{p.description}</span> })}
                            {properties(p.children)}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
