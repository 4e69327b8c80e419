//! renkei portal UI: pages, components and the server functions they call.

// Leptos views are deeply nested types; the hydrate build needs more than the default 128.
#![recursion_limit = "256"]

pub mod api;
pub mod model;
pub mod openapi;
mod pages;

use leptos::prelude::*;
use leptos_meta::MetaTags;
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    hooks::use_location,
    path,
};

pub use pages::NotFound;

/// The whole HTML document the server renders around [`App`]; the browser bundle hydrates `<body>`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="ja">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
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

/// The portal UI: header navigation, the routed page, and the attribution footer.
#[component]
pub fn App() -> impl IntoView {
    leptos_meta::provide_meta_context();

    // Effects run only in the browser, so this flips once the page is hydrated;
    // browser tests wait for `data-hydrated="true"` before typing into filters.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Router>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                <header class="site-header">
                    <a class="brand" href="/">
                        "renkei"
                        <span class="brand-sub">"法人データ連携ポータル / Corporate data exchange portal"</span>
                    </a>
                    <SiteNav />
                </header>
                <main class="content">
                    <Routes fallback=|| {
                        view! {
                            <NotFound message="このページは存在しません / This page does not exist."
                                .to_string() />
                        }
                    }>
                        // `Async`: the server waits for the data before sending the page, so the
                        // HTML carries the content itself and a missing API can answer 404.
                        <Route path=path!("/") view=pages::CataloguePage ssr=SsrMode::Async />
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
                    </Routes>
                </main>
                <footer class="site-footer">
                    <p>"出典：国税庁法人番号公表サイト（国税庁）"</p>
                    <p class="en">
                        "Source: National Tax Agency Corporate Number Publication Site (NTA)"
                    </p>
                </footer>
            </div>
        </Router>
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
        } else if path == "/" || path == "/catalogue" || path.starts_with("/apis/") {
            "catalogue"
        } else {
            ""
        }
    };
    let current = move |name: &'static str| move || (section() == name).then_some("page");
    view! {
        <nav class="site-nav" aria-label="メイン / Main">
            <a href="/catalogue" aria-current=current("catalogue")>
                "カタログ"
                <span class="en">"Catalogue"</span>
            </a>
            <a href="/logs" aria-current=current("logs")>
                "通信ログ"
                <span class="en">"Exchange log"</span>
            </a>
        </nav>
    }
}

/// Browser entry point: wasm-bindgen exports it and Leptos's hydration script calls it.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
