//! One API's page: what it returns, who provides it, how to call it, and its OpenAPI document.

use super::catalogue::ConsentBadge;
use super::{ErrorNotice, Loading, NotFound, PageTitle};
use crate::api::{UiError, get_api_detail};
use crate::model::ApiDetail;
use crate::openapi::{self, Operation};
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
    let ApiDetail {
        api,
        description,
        openapi_json,
    } = detail;
    let download_href = format!("/apis/{}/openapi.json", api.slug);
    let download_name = format!("{}.openapi.json", api.slug);
    let document = openapi::parse(&openapi_json);

    view! {
        <PageTitle text=api.name.clone() />
        <article class="api-detail" data-testid="api-detail" data-slug=api.slug.clone()>
            <p class="breadcrumb">
                <a href="/catalogue">"カタログ / Catalogue"</a>
                " › "
                {api.name.clone()}
            </p>
            <h1>{api.name.clone()}</h1>
            <p class="lead">{api.summary.clone()}</p>
            <div class="description">
                {description
                    .split("\n\n")
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| view! { <p>{p.trim().to_string()}</p> })
                    .collect_view()}
            </div>

            <h2>"概要 " <span class="en">"Overview"</span></h2>
            <dl class="facts facts-wide">
                <dt>"提供者 / Provider"</dt>
                <dd data-testid="api-provider">{api.provider.clone()}</dd>
                <dt>"提供者クライアント ID / Provider client id"</dt>
                <dd>
                    <code data-testid="api-client-id">{api.provider_client_id.clone()}</code>
                </dd>
                <dt>"パス / Path template"</dt>
                <dd>
                    <code data-testid="api-path">{api.path_template.clone()}</code>
                </dd>
                <dt>"スコープ / Scopes"</dt>
                <dd>
                    {api
                        .scopes
                        .iter()
                        .map(|s| view! { <code class="scope">{s.clone()}</code> })
                        .collect_view()}
                </dd>
                <dt>"カテゴリ / Categories"</dt>
                <dd>
                    {api
                        .categories
                        .iter()
                        .map(|c| view! { <span class="tag">{c.clone()}</span> })
                        .collect_view()}
                </dd>
                <dt>"同意 / Consent"</dt>
                <dd>
                    <ConsentBadge required=api.consent_required />
                </dd>
            </dl>

            <h2>"OpenAPI " <span class="en">"Operations"</span></h2>
            {match document {
                Ok(doc) => {
                    Either::Left(view! {
                        <p class="doc-meta">
                            {format!(
                                "{} · version {} · OpenAPI {}",
                                doc.title,
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
                    })
                }
                Err(e) => {
                    Either::Right(view! {
                        <div class="notice notice-error" role="alert">
                            <p>{e.to_string()}</p>
                        </div>
                    })
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
                    "OpenAPI をダウンロード / Download OpenAPI (JSON)"
                </a>
            </p>
            <details class="raw-json">
                <summary>"OpenAPI 文書（JSON）/ Raw OpenAPI document"</summary>
                <pre>
                    <code>{openapi_json}</code>
                </pre>
            </details>
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
                        <h4>"パラメータ / Parameters"</h4>
                        <div class="table-wrap">
                            <table class="params">
                                <thead>
                                    <tr>
                                        <th>"名前 / Name"</th>
                                        <th>"場所 / In"</th>
                                        <th>"型 / Schema"</th>
                                        <th>"必須 / Required"</th>
                                        <th>"説明 / Description"</th>
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
                                                    <td>{if p.required { "必須 / yes" } else { "任意 / no" }}</td>
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
            <h4>"レスポンス / Responses"</h4>
            <ul class="responses">
                {responses
                    .into_iter()
                    .map(|r| {
                        let class = format!(
                            "status status-{}",
                            r.status.chars().next().unwrap_or('x'),
                        );
                        view! {
                            <li>
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
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
