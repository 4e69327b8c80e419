//! The API catalogue (カタログ): a search form (keywords, categories combined with OR) over the
//! portal's server-side search, result tiles and page links. The search lives in the URL
//! (`/catalogue?q=…&category=…&page=…`), so a reload, a shared link or the back button shows the
//! same results; the form is a plain GET form and works before (or without) hydration.

use super::{ErrorNotice, Loading, PageTitle};
use crate::api::{catalogue_categories, search_catalogue};
use crate::i18n::{M, t, use_lang};
use crate::model::{ApiSummary, CataloguePage, CatalogueQuery, CategoryCount};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

/// Control characters (a `%00` in the URL) are no part of any search and are not echoed into the page.
fn without_controls(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The search a catalogue URL asks for; a page that is not a whole number from 1 is page 1.
fn query_from(params: &ParamsMap) -> CatalogueQuery {
    build_query(
        params.get("q"),
        params.get_all("category").unwrap_or_default(),
        params.get("page"),
    )
}

fn build_query(
    q: Option<String>,
    raw_categories: Vec<String>,
    page: Option<String>,
) -> CatalogueQuery {
    let mut categories: Vec<String> = Vec::new();
    for c in raw_categories {
        let c = without_controls(c.trim());
        if !c.is_empty() && !categories.contains(&c) {
            categories.push(c);
        }
    }
    CatalogueQuery {
        q: without_controls(q.unwrap_or_default().trim()),
        categories,
        page: page
            .and_then(|p| p.trim().parse::<u64>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1),
    }
}

#[component]
pub fn CataloguePage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| query_from(&params.read()));
    let results = Resource::new(move || query.get(), search_catalogue);
    let categories = Resource::new(|| (), |_| catalogue_categories());

    view! {
        <PageTitle text=t(M::CatTitle) />
        <section class="catalogue">
            <h1>{t(M::CatTitle)}</h1>
            <p class="lead">{t(M::CatIntro)}</p>
            <SearchForm query categories />
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match results.await {
                        Ok(page) => Either::Left(view! { <Results page query=query.get_untracked() /> }),
                        Err(error) => Either::Right(view! { <ErrorNotice error /> }),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Keywords and category checkboxes. Hydrated, a submit or a ticked box moves to the new URL
/// in place (a history entry, so the back button returns to the previous search).
#[component]
fn SearchForm(
    query: Memo<CatalogueQuery>,
    categories: Resource<Result<Vec<CategoryCount>, crate::api::UiError>>,
) -> impl IntoView {
    let text = RwSignal::new(query.get_untracked().q);
    // Back and forward change the URL under the form: the box follows.
    Effect::new(move |_| text.set(query.get().q));
    let navigate = use_navigate();
    let go = StoredValue::new(move |q: CatalogueQuery| {
        // A new history entry (back returns to the previous search); the page stays where it is.
        let options = NavigateOptions {
            scroll: false,
            ..NavigateOptions::default()
        };
        navigate(&q.href(), options);
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut q = query.get_untracked();
        q.q = text.get_untracked().trim().to_owned();
        q.page = 1;
        go.with_value(|go| go(q));
    };
    let toggle = move |name: String, on: bool| {
        let mut q = query.get_untracked();
        q.q = text.get_untracked().trim().to_owned();
        q.categories.retain(|c| *c != name);
        if on {
            q.categories.push(name);
        }
        q.page = 1;
        go.with_value(|go| go(q));
    };

    view! {
        <form
            class="search-form"
            method="get"
            action="/catalogue"
            role="search"
            data-testid="catalogue-search"
            on:submit=on_submit
        >
            <div class="search-row">
                <label class="search-label" for="catalogue-q">
                    {t(M::CatSearchLabel)}
                </label>
                <input
                    id="catalogue-q"
                    type="search"
                    name="q"
                    data-testid="catalogue-filter"
                    placeholder=t(M::CatSearchPlaceholder)
                    autocomplete="off"
                    value=query.get_untracked().q
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                />
                <button type="submit" class="button" data-testid="catalogue-submit">
                    {t(M::CatSearchSubmit)}
                </button>
            </div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = categories.await.unwrap_or_default();
                    (!list.is_empty())
                        .then(|| {
                            view! {
                                <fieldset class="category-filter" data-testid="category-filter">
                                    <legend>{t(M::CatCategories)}</legend>
                                    <ul class="category-list">
                                        {list
                                            .into_iter()
                                            .map(|c| {
                                                let name = StoredValue::new(c.name.clone());
                                                let checked = move || {
                                                    name.with_value(|n| query.read().categories.contains(n))
                                                };
                                                view! {
                                                    <li>
                                                        <label class="category-option">
                                                            <input
                                                                type="checkbox"
                                                                name="category"
                                                                value=c.name.clone()
                                                                data-testid="category-option"
                                                                data-category=c.name.clone()
                                                                checked=checked
                                                                prop:checked=checked
                                                                on:change=move |ev| {
                                                                    toggle(name.get_value(), event_target_checked(&ev))
                                                                }
                                                            />
                                                            <span class="category-name">{c.name.clone()}</span>
                                                            <span class="category-count">
                                                                {format!("({})", c.apis)}
                                                            </span>
                                                        </label>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </fieldset>
                            }
                        })
                })}
            </Suspense>
        </form>
    }
}

/// The count, the tiles, the empty state and the page links.
#[component]
fn Results(page: CataloguePage, query: CatalogueQuery) -> impl IntoView {
    let searching = !query.q.is_empty() || !query.categories.is_empty();
    let mut count = format!("{} {}", page.total, t(M::CatResultsUnit));
    if page.pages > 1 {
        count.push_str(&format!(
            " · {} {} / {}",
            t(M::CatPage),
            page.page,
            page.pages
        ));
    }
    let empty = page.items.is_empty().then(|| {
        let (title, hint) = if page.total > 0 {
            // Past the last page of a search that does match.
            (t(M::CatPastLastPage), None)
        } else if searching {
            (t(M::CatEmptyNoMatch), Some(t(M::CatEmptyHint)))
        } else {
            (t(M::CatEmptyNone), None)
        };
        view! {
            <div class="empty-state" data-testid="catalogue-empty">
                <p class="empty-title">{title}</p>
                {hint.map(|h| view! { <p>{h}</p> })}
                {searching
                    .then(|| {
                        view! {
                            <p>
                                <a href="/catalogue" data-testid="catalogue-clear">
                                    {t(M::CatClear)}
                                </a>
                            </p>
                        }
                    })}
            </div>
        }
    });
    view! {
        <p class="count" data-testid="catalogue-count" aria-live="polite">
            {count}
        </p>
        <ul class="tiles">
            {page.items.into_iter().map(|api| view! { <ApiTile api /> }).collect_view()}
        </ul>
        {empty}
        <Pager query page=page.page pages=page.pages />
    }
}

/// The page numbers to link: the first, the last, and two either side of the current one.
fn page_numbers(current: u64, pages: u64) -> Vec<Option<u64>> {
    let mut out: Vec<Option<u64>> = Vec::new();
    for n in 1..=pages {
        if n == 1 || n == pages || n.abs_diff(current) <= 2 {
            out.push(Some(n));
        } else if out.last() != Some(&None) {
            // A gap, shown once as "…".
            out.push(None);
        }
    }
    out
}

#[component]
fn Pager(query: CatalogueQuery, page: u64, pages: u64) -> impl IntoView {
    (pages > 1).then(|| {
        let link = move |n: u64| {
            CatalogueQuery {
                page: n,
                ..query.clone()
            }
            .href()
        };
        let prev = (page > 1).then(|| {
            view! {
                <a class="pager-step" href=link(page - 1) rel="prev" data-testid="page-prev">
                    {t(M::CatPrev)}
                </a>
            }
        });
        let next = (page < pages).then(|| {
            view! {
                <a class="pager-step" href=link(page + 1) rel="next" data-testid="page-next">
                    {t(M::CatNext)}
                </a>
            }
        });
        view! {
            <nav class="pager" aria-label=t(M::CatPages) data-testid="pager">
                {prev}
                <ul class="pager-pages">
                    {page_numbers(page, pages)
                        .into_iter()
                        .map(|n| match n {
                            Some(n) => {
                                Either::Left(
                                    view! {
                                        <li>
                                            <a
                                                href=link(n)
                                                aria-current=(n == page).then_some("page")
                                                data-testid="page-link"
                                            >
                                                {n.to_string()}
                                            </a>
                                        </li>
                                    },
                                )
                            }
                            None => Either::Right(view! { <li class="pager-gap">"…"</li> }),
                        })
                        .collect_view()}
                </ul>
                {next}
            </nav>
        }
    })
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
            <h2 class="tile-title">
                <a
                    class="tile-link"
                    href=href
                    target="_blank"
                    rel="noopener"
                    data-testid="api-link"
                >
                    {name}
                    <span class="visually-hidden">{t(M::CatOpensNewTab)}</span>
                </a>
            </h2>
            <p class="tile-summary">{summary}</p>
            <dl class="facts">
                <dt>{t(M::CatProvider)}</dt>
                <dd>{provider}</dd>
                <dt>{t(M::CatScopes)}</dt>
                <dd>
                    {scopes
                        .into_iter()
                        .map(|s| view! { <code class="scope">{s}</code> })
                        .collect_view()}
                </dd>
            </dl>
            <p class="tags">
                <CategoryTags categories />
                <ConsentBadge required=consent_required />
            </p>
        </li>
    }
}

/// The first category, then `…` when there are more: the full list is the tag's title (hover),
/// and a focusable button whose popover opens on hover, keyboard focus and tap.
#[component]
fn CategoryTags(categories: Vec<String>) -> impl IntoView {
    let lang = use_lang();
    let separator = if lang == crate::i18n::Lang::Ja {
        "、"
    } else {
        ", "
    };
    let all = categories.join(separator);
    let open = RwSignal::new(false);
    let first = categories.first().cloned();
    let more = (categories.len() > 1).then(|| {
        let label = format!("{}: {all}", M::CatAllCategories.text(lang));
        view! {
            <span class="tag-more-wrap" class:open=move || open.get()>
                <button
                    type="button"
                    class="tag tag-more"
                    title=all.clone()
                    aria-label=label
                    aria-expanded=move || open.get().to_string()
                    data-testid="tag-more"
                    on:click=move |_| open.update(|o| *o = !*o)
                    on:blur=move |_| open.set(false)
                >
                    "…"
                </button>
                <span class="tag-popover" role="tooltip" data-testid="tag-popover">
                    {categories
                        .iter()
                        .map(|c| view! { <span class="tag">{c.clone()}</span> })
                        .collect_view()}
                </span>
            </span>
        }
    });
    first.map(|first| {
        view! {
            <span class="tag" title=all.clone() data-testid="tag-first">
                {first}
            </span>
            {more}
        }
    })
}

/// Whether calling the API needs the corporation's consent.
#[component]
pub fn ConsentBadge(required: bool) -> impl IntoView {
    if required {
        view! { <span class="badge badge-consent">{t(M::ConsentRequired)}</span> }
    } else {
        view! { <span class="badge badge-open">{t(M::ConsentNotRequired)}</span> }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_gives_the_query_with_repeated_categories_and_a_sane_page() {
        let categories = ["国税庁", "Corporate registry", "国税庁", " "]
            .map(String::from)
            .to_vec();
        let q = build_query(
            Some(" 法人  basic ".into()),
            categories.clone(),
            Some("0".into()),
        );
        assert_eq!(q.q, "法人  basic");
        assert_eq!(q.categories, ["国税庁", "Corporate registry"]);
        assert_eq!(q.page, 1);
        assert_eq!(build_query(None, vec![], Some("3".into())).page, 3);
        assert_eq!(build_query(None, vec![], Some("x".into())).page, 1);
        // A NUL or other control character never reaches the search or the page.
        let q = build_query(
            Some("法人\u{0}番号\n".into()),
            vec!["国\u{7}税庁".into()],
            None,
        );
        assert_eq!(
            (q.q.as_str(), q.categories[0].as_str()),
            ("法人番号", "国税庁")
        );
        assert_eq!(
            build_query(None, vec![], None),
            CatalogueQuery {
                page: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn page_links_keep_the_ends_and_the_neighbours() {
        assert_eq!(page_numbers(1, 1), [Some(1)]);
        assert_eq!(
            page_numbers(5, 10),
            [
                Some(1),
                None,
                Some(3),
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                None,
                Some(10)
            ]
        );
        assert_eq!(page_numbers(1, 3), [Some(1), Some(2), Some(3)]);
    }
}
