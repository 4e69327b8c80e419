//! The home page (お知らせ, the operator's notices, newest first) and the Markdown doc pages.

use super::forms::jst;
use super::{ErrorNotice, NotFound, PageTitle};
use crate::api::{UiError, doc_page};
use crate::i18n::{M, t, use_lang};
use crate::rest::{self, Notices};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn HomePage() -> impl IntoView {
    let notices = LocalResource::new(|| rest::get::<Notices>("/api/v1/notices"));
    view! {
        <PageTitle text=t(M::HomeTitle) />
        <section class="home" data-testid="home-page">
            <p class="lead">{t(M::HomeIntro)}</p>
            <nav class="quick-links" aria-label=t(M::DocsTitle)>
                <a class="button" href="/catalogue">
                    {t(M::NavCatalogue)}
                </a>
                <a class="button" href="/docs/guide">
                    {t(M::NavDocs)}
                </a>
                <a class="button" href="/docs/faq">
                    {t(M::NavFaq)}
                </a>
            </nav>
            <h1>{t(M::HomeTitle)}</h1>
            <Suspense fallback=super::Loading>
                {move || Suspend::new(async move {
                    match notices.await {
                        Err(failure) => {
                            Either::Left(
                                view! {
                                    <div class="notice notice-error" role="alert" data-testid="error">
                                        <p>{failure.text(use_lang())}</p>
                                    </div>
                                },
                            )
                        }
                        Ok(list) => {
                            let empty = list.notices.is_empty();
                            Either::Right(
                                view! {
                                    {empty.then(|| view! { <p class="empty">{t(M::NoNotices)}</p> })}
                                    <ul class="notices">
                                        {list
                                            .notices
                                            .into_iter()
                                            .map(|n| {
                                                view! {
                                                    <li class="notice-item" data-testid="notice">
                                                        <time datetime=n.published_at.clone()>
                                                            {jst(&n.published_at)}
                                                        </time>
                                                        <h2 class="notice-title">{n.title}</h2>
                                                        <p class="notice-body">{n.body}</p>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                },
                            )
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// `/docs/:slug`: rendered on the server from `docs/portal/<slug>.<lang>.md`.
#[component]
pub fn DocPage() -> impl IntoView {
    let params = use_params_map();
    let lang = use_lang();
    let page = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        move |slug| doc_page(slug, lang.code().to_owned()),
    );
    view! {
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(doc) => {
                        EitherOf3::A(
                            view! {
                                <PageTitle text=doc.title.clone() />
                                <article class="doc" data-testid="doc" inner_html=doc.html></article>
                            },
                        )
                    }
                    Err(UiError::NotFound(message)) => EitherOf3::B(view! { <NotFound message /> }),
                    Err(error) => EitherOf3::C(view! { <ErrorNotice error /> }),
                }
            })}
        </Suspense>
    }
}
