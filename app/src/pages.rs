//! The routed pages and the small pieces they share (loading, error and 404 notices).

mod account;
mod api_detail;
mod catalogue;
mod forms;
mod home;
mod logs;
mod operator;
mod try_it;

pub use account::{
    AccountPage, EmailConfirmPage, InvitationPage, LoginPage, PasswordResetPage, SignupPage,
};
pub use api_detail::ApiDetailPage;
pub use catalogue::CataloguePage;
pub use forms::{Hydrated, account_of, use_hydrated};
pub use home::{DocPage, HomePage};
pub use logs::LogsPage;
pub use operator::{AccountsPage, AuditPage, MembersPage, OutboxPage, PublishPage, ReviewPage};

use crate::api::UiError;
use leptos::prelude::*;

/// Shown while a page's data is on its way (only during client-side navigation: the server
/// renders pages with their data).
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-live="polite">"読み込み中… / Loading…"</p> }
}

/// A readable error in place of the page's content (a 500 when the server renders it).
#[component]
pub fn ErrorNotice(error: UiError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    }
    view! {
        <div class="notice notice-error" role="alert" data-testid="error">
            <p>{error.to_string()}</p>
        </div>
    }
}

/// Sets the document title (`<page> — renkei`). Rendered on both sides: leaving leptos_meta out
/// of the browser bundle (~4 KB gzipped) breaks hydration of the routed view.
#[component]
pub fn PageTitle(#[prop(into)] text: String) -> impl IntoView {
    let title = format!("{text} — renkei");
    view! { <leptos_meta::Title text=title /> }
}

/// The 404 page; on the server it also sets the response status.
#[component]
pub fn NotFound(message: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageTitle text="見つかりません / Not found" />
        <section class="not-found" data-testid="not-found">
            <h1>"404 見つかりません" <span class="en">"Not found"</span></h1>
            <p>{message}</p>
            <p>
                <a href="/catalogue">"カタログへ戻る / Back to the catalogue"</a>
            </p>
        </section>
    }
}
