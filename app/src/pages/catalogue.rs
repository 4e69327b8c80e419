//! The API catalogue (カタログ): every published API as a tile, with a filter box.

use super::{ErrorNotice, Loading, PageTitle};
use crate::api::list_apis;
use crate::model::ApiSummary;
use leptos::either::Either;
use leptos::prelude::*;

#[component]
pub fn CataloguePage() -> impl IntoView {
    let apis = Resource::new(|| (), |_| list_apis());
    let (filter, set_filter) = signal(String::new());

    view! {
        <PageTitle text="API カタログ / API catalogue" />
        <section class="catalogue">
            <h1>"API カタログ" <span class="en">"API catalogue"</span></h1>
            <label class="filter">
                <span class="filter-label">"絞り込み / Filter"</span>
                <input
                    type="search"
                    data-testid="catalogue-filter"
                    placeholder="名前・提供者・カテゴリ・スコープ / name, provider, category, scope"
                    autocomplete="off"
                    prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </label>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match apis.await {
                        Ok(list) => Either::Left(view! { <CatalogueList apis=list filter /> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error /> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn CatalogueList(apis: Vec<ApiSummary>, filter: ReadSignal<String>) -> impl IntoView {
    let total = apis.len();
    let apis = StoredValue::new(apis);
    let shown = Memo::new(move |_| {
        let query = filter.read();
        apis.with_value(|all| {
            all.iter()
                .filter(|api| matches_filter(api, &query))
                .cloned()
                .collect::<Vec<_>>()
        })
    });

    view! {
        <p class="count" data-testid="catalogue-count" aria-live="polite">
            {move || count_label(shown.read().len(), total)}
        </p>
        <ul class="tiles">
            {move || {
                shown.get().into_iter().map(|api| view! { <ApiTile api /> }).collect_view()
            }}
        </ul>
        {move || {
            shown
                .read()
                .is_empty()
                .then(|| {
                    let text = if total == 0 {
                        "公開中の API はまだありません / No API has been published yet."
                    } else {
                        "条件に合う API はありません / No API matches the filter."
                    };
                    view! { <p class="empty">{text}</p> }
                })
        }}
    }
}

#[component]
fn ApiTile(api: ApiSummary) -> impl IntoView {
    let href = format!("/apis/{}", api.slug);
    let ApiSummary {
        slug,
        name,
        summary,
        provider,
        categories,
        scopes,
        consent_required,
        ..
    } = api;
    view! {
        <li class="tile" data-testid="api-tile" data-slug=slug>
            <a class="tile-link" href=href>
                <h2 class="tile-title">{name}</h2>
                <p class="tile-summary">{summary}</p>
                <dl class="facts">
                    <dt>"提供者 / Provider"</dt>
                    <dd>{provider}</dd>
                    <dt>"スコープ / Scopes"</dt>
                    <dd>
                        {scopes
                            .into_iter()
                            .map(|s| view! { <code class="scope">{s}</code> })
                            .collect_view()}
                    </dd>
                </dl>
                <p class="tags">
                    {categories
                        .into_iter()
                        .map(|c| view! { <span class="tag">{c}</span> })
                        .collect_view()} <ConsentBadge required=consent_required />
                </p>
            </a>
        </li>
    }
}

/// Whether calling the API needs the corporation's consent.
#[component]
pub fn ConsentBadge(required: bool) -> impl IntoView {
    if required {
        view! { <span class="badge badge-consent">"同意必要 / Consent required"</span> }
    } else {
        view! { <span class="badge badge-open">"同意不要 / No consent needed"</span> }
    }
}

/// Case-insensitive for ASCII (full Unicode case tables would add ~10 KB to the browser bundle,
/// and Japanese has no case); every whitespace-separated word must appear in one of the API's fields.
fn matches_filter(api: &ApiSummary, query: &str) -> bool {
    let haystack = [
        api.name.as_str(),
        api.summary.as_str(),
        api.provider.as_str(),
        api.slug.as_str(),
        api.provider_client_id.as_str(),
    ]
    .into_iter()
    .chain(api.categories.iter().map(String::as_str))
    .chain(api.scopes.iter().map(String::as_str))
    .map(str::to_ascii_lowercase)
    .collect::<Vec<_>>();
    query
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .all(|word| haystack.iter().any(|field| field.contains(&word)))
}

fn count_label(shown: usize, total: usize) -> String {
    let unit = if shown == 1 { "API" } else { "APIs" };
    if shown == total {
        format!("{shown} 件 / {shown} {unit}")
    } else {
        format!("{shown} 件 / {shown} {unit}（全 {total} 件中 / of {total}）")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ApiSummary {
        ApiSummary {
            slug: "nta-corporations".into(),
            name: "法人基本情報".into(),
            summary: "Corporate basics".into(),
            provider: "国税庁 Demo".into(),
            provider_client_id: "prov-001".into(),
            categories: vec!["法人".into()],
            scopes: vec!["basic".into()],
            consent_required: false,
            path_template: "/v1/corporations/{number}".into(),
        }
    }

    #[test]
    fn filter_matches_any_field_case_insensitively_and_needs_every_word() {
        let api = api();
        assert!(matches_filter(&api, ""));
        assert!(matches_filter(&api, "  "));
        assert!(matches_filter(&api, "CORPORATE"));
        assert!(matches_filter(&api, "国税庁"));
        assert!(matches_filter(&api, "basic 法人"));
        assert!(matches_filter(&api, "PROV-001"));
        assert!(!matches_filter(&api, "basic zzz"));
        assert!(!matches_filter(&api, "no-such-api"));
    }

    #[test]
    fn count_label_names_shown_and_total() {
        assert_eq!(count_label(1, 1), "1 件 / 1 API");
        assert_eq!(count_label(3, 3), "3 件 / 3 APIs");
        assert_eq!(count_label(0, 2), "0 件 / 0 APIs（全 2 件中 / of 2）");
    }
}
