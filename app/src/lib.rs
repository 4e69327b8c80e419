//! renkei portal UI: pages, components and the server functions they call.

// Leptos views are deeply nested types; the hydrate build needs more than the default 128.
#![recursion_limit = "256"]

pub mod api;
pub mod i18n;
pub mod model;
pub mod openapi;
mod pages;
pub mod rest;
pub mod workflow;

use i18n::{Lang, M, t};
use leptos::prelude::*;
use leptos_meta::MetaTags;
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    hooks::{use_location, use_query_map},
    path,
};

pub use pages::NotFound;

/// What the server tells the UI about its deployment (provided as context when rendering).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UiSettings {
    /// The environment's name (e.g. `外部接続環境`), shown as a banner on every page; `None` in
    /// production.
    pub environment: Option<String>,
}

/// The language of the request being rendered (server) or of the loaded page (browser: the
/// server wrote it into `<html lang>`).
fn page_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        request_lang().0
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|code| Lang::parse(&code))
            .unwrap_or_default()
    }
}

/// `?lang=` or the language cookie of the request; whether the query chose it.
#[cfg(feature = "ssr")]
fn request_lang() -> (Lang, bool) {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return (Lang::default(), false);
    };
    let cookie = parts
        .headers
        .get(http::header::COOKIE)
        .and_then(|v| v.to_str().ok());
    Lang::from_request(parts.uri.query(), cookie)
}

/// The environment banner's text: from the server's settings, or in the browser from the
/// `<meta name="renkei-environment">` the server wrote.
fn environment_name() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_context::<UiSettings>().and_then(|s| s.environment)
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .query_selector("meta[name=\"renkei-environment\"]")
            .ok()
            .flatten()
            .and_then(|e| e.get_attribute("content"))
    }
    .filter(|name| !name.trim().is_empty())
}

/// The whole HTML document the server renders around [`App`]; the browser bundle hydrates `<body>`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = page_lang();
    let environment =
        environment_name().map(|name| view! { <meta name="renkei-environment" content=name /> });
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                {environment}
                // An empty icon: browsers otherwise ask for /favicon.ico on every page.
                <link rel="icon" href="data:," />
                <link rel="stylesheet" href="/style.css" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The portal UI: environment banner, header (navigation, language, login state), the routed
/// page, and the attribution footer.
#[component]
pub fn App() -> impl IntoView {
    leptos_meta::provide_meta_context();
    let lang = page_lang();
    provide_context(lang);
    #[cfg(feature = "ssr")]
    remember_lang_choice();
    let session: rest::SessionResource = LocalResource::new(rest::session);
    provide_context(session);

    // Effects run only in the browser, so this flips once the page is hydrated;
    // browser tests wait for `data-hydrated="true"` before typing into filters.
    let hydrated = RwSignal::new(false);
    provide_context(pages::Hydrated(hydrated));
    Effect::new(move |_| hydrated.set(true));

    let banner = environment_name().map(|name| {
        view! {
            <div class="env-banner" role="note" data-testid="env-banner">
                <span class="env-label">{t(M::EnvironmentLabel)}</span>
                {name}
            </div>
        }
    });

    view! {
        <Router>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                {banner}
                <header class="site-header">
                    <a class="brand" href="/">
                        "renkei"
                        <span class="brand-sub">{t(M::BrandSub)}</span>
                    </a>
                    <SiteNav />
                    <div class="header-tools">
                        <LangSwitch />
                        <UserMenu />
                    </div>
                </header>
                <RoleNav />
                <main class="content">
                    <Routes fallback=|| {
                        view! { <NotFound message=t(M::NotFoundPage).to_string() /> }
                    }>
                        // `Async`: the server waits for the data before sending the page, so the
                        // HTML carries the content itself and a missing API can answer 404.
                        <Route path=path!("/") view=pages::HomePage />
                        <Route
                            path=path!("/catalogue")
                            view=pages::CataloguePage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/apis/:slug")
                            view=pages::ApiDetailPage
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("/logs") view=pages::LogsPage ssr=SsrMode::Async />
                        <Route path=path!("/uptime") view=pages::UptimePage />
                        <Route path=path!("/docs/:slug") view=pages::DocPage ssr=SsrMode::Async />
                        <Route path=path!("/signup") view=pages::SignupPage />
                        <Route path=path!("/login") view=pages::LoginPage />
                        <Route path=path!("/password-reset") view=pages::PasswordResetPage />
                        <Route path=path!("/email-change") view=pages::EmailConfirmPage />
                        <Route path=path!("/invitation") view=pages::InvitationPage />
                        <Route path=path!("/account") view=pages::AccountPage />
                        <Route path=path!("/org/members") view=pages::MembersPage />
                        <Route path=path!("/operator/organisations") view=pages::ReviewPage />
                        <Route path=path!("/operator/accounts") view=pages::AccountsPage />
                        <Route path=path!("/operator/audit") view=pages::AuditPage />
                        <Route path=path!("/operator/outbox") view=pages::OutboxPage />
                        <Route path=path!("/operator/notices") view=pages::PublishPage />
                        // systems + applications: rendered with the logged-in user's data.
                        <Route
                            path=path!("/org/systems")
                            view=pages::SystemsPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/org/apis")
                            view=pages::PublishedApisPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/applications")
                            view=pages::ApplicationsPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/applications/new")
                            view=pages::ApplyPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/applications/:id")
                            view=pages::ApplicationPage
                            ssr=SsrMode::Async
                        />
                    </Routes>
                </main>
                <footer class="site-footer">
                    <p>{t(M::FooterSource)}</p>
                </footer>
            </div>
        </Router>
    }
}

/// A `?lang=` choice is kept in a cookie for the following pages (one year).
#[cfg(feature = "ssr")]
fn remember_lang_choice() {
    let (lang, from_query) = request_lang();
    if !from_query {
        return;
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            i18n::LANG_COOKIE,
            lang.code()
        );
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
}

/// Header navigation. Plain links (the router still handles them client-side) with
/// `aria-current` from the location: leaner in the bundle than the router's `<A>`.
#[component]
fn SiteNav() -> impl IntoView {
    let pathname = use_location().pathname;
    let section = move || {
        let path = pathname.read();
        let path = path.as_str();
        if path == "/logs" {
            "logs"
        } else if path == "/uptime" {
            "uptime"
        } else if path == "/catalogue" || path.starts_with("/apis/") {
            "catalogue"
        } else if path == "/" {
            "home"
        } else if path.starts_with("/docs/") {
            "docs"
        } else {
            ""
        }
    };
    let current = move |name: &'static str| move || (section() == name).then_some("page");
    view! {
        <nav class="site-nav" aria-label=t(M::NavMain)>
            <a href="/" aria-current=current("home")>
                {t(M::NavHome)}
            </a>
            <a href="/catalogue" aria-current=current("catalogue")>
                {t(M::NavCatalogue)}
            </a>
            <a href="/logs" aria-current=current("logs")>
                {t(M::NavLogs)}
            </a>
            <a href="/uptime" aria-current=current("uptime")>
                {t(M::NavUptime)}
            </a>
            <a href="/docs/guide" aria-current=current("docs")>
                {t(M::NavDocs)}
            </a>
        </nav>
    }
}

/// 日本語 / English: a full page load of the same page with `?lang=` (the server renders it and
/// remembers the choice), keeping the page's other query parameters (such as a link's token).
#[component]
fn LangSwitch() -> impl IntoView {
    let pathname = use_location().pathname;
    let query = use_query_map();
    let href = move |lang: Lang| {
        let mut pairs: Vec<String> = query
            .read()
            .clone()
            .into_iter()
            .filter(|(k, _)| k != "lang")
            .map(|(k, v)| format!("{k}={}", encode_query(&v)))
            .collect();
        pairs.push(format!("lang={}", lang.code()));
        format!("{}?{}", pathname.read(), pairs.join("&"))
    };
    let current = page_lang();
    view! {
        <nav class="lang-switch" aria-label=t(M::LangSwitchLabel)>
            <a
                href=move || href(Lang::Ja)
                rel="external"
                lang="ja"
                data-testid="lang-ja"
                aria-current=(current == Lang::Ja).then_some("true")
            >
                "日本語"
            </a>
            <a
                href=move || href(Lang::En)
                rel="external"
                lang="en"
                data-testid="lang-en"
                aria-current=(current == Lang::En).then_some("true")
            >
                "English"
            </a>
        </nav>
    }
}

/// Percent-encodes a query value (tokens are URL-safe already; this keeps others intact).
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Login state: the account and a logout button, or login / sign-up links.
#[component]
fn UserMenu() -> impl IntoView {
    let session = rest::use_session();
    let hydrated = pages::use_hydrated();
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            let _ =
                rest::send::<rest::Ignored>("POST", "/api/v1/logout", serde_json::json!({})).await;
            rest::go("/");
        });
    };
    view! {
        <div class="user-menu">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match pages::account_of(&session.await) {
                        Some(account) => {
                            leptos::either::Either::Left(
                                view! {
                                    <a class="user-email" href="/account">
                                        <span class="visually-hidden">{t(M::LoggedInAs)}</span>
                                        <span data-testid="user-email">{account.email}</span>
                                    </a>
                                    <button
                                        type="button"
                                        class="button button-small"
                                        data-testid="logout"
                                        disabled=move || !hydrated.get()
                                        on:click=logout
                                    >
                                        {t(M::NavLogout)}
                                    </button>
                                },
                            )
                        }
                        None => {
                            leptos::either::Either::Right(
                                view! {
                                    <a href="/login" data-testid="login-link">
                                        {t(M::NavLogin)}
                                    </a>
                                    <a href="/signup" data-testid="signup-link">
                                        {t(M::NavSignup)}
                                    </a>
                                },
                            )
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The operator's and the organisation admin's pages, once logged in.
#[component]
fn RoleNav() -> impl IntoView {
    let session = rest::use_session();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let role = pages::account_of(&session.await).map(|a| a.role);
                let links: &[(&str, M)] = match role.as_deref() {
                    Some("operator") => {
                        &[
                            ("/operator/organisations", M::NavReview),
                            ("/operator/accounts", M::NavAccounts),
                            ("/operator/audit", M::NavAudit),
                            ("/operator/outbox", M::NavOutbox),
                            ("/operator/notices", M::NavPublish),
                        ]
                    }
                    Some(_) => {
                        &[
                            ("/applications", M::WfNavApplications),
                            ("/org/systems", M::WfNavSystems),
                            ("/org/apis", M::WfNavApis),
                            ("/org/members", M::NavMembers),
                            ("/account", M::NavAccount),
                        ]
                    }
                    None => &[],
                };
                (!links.is_empty())
                    .then(|| {
                        view! {
                            <nav class="role-nav" aria-label=t(M::NavOperator) data-testid="role-nav">
                                {links
                                    .iter()
                                    .map(|(href, label)| view! { <a href=*href>{t(*label)}</a> })
                                    .collect_view()}
                            </nav>
                        }
                    })
            })}
        </Suspense>
    }
}

/// Browser entry point: wasm-bindgen exports it and Leptos's hydration script calls it.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
