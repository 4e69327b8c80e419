//! The routed pages and the small pieces they share (loading, error and 404 notices).

mod account;
mod api_detail;
mod applications;
mod catalogue;
mod forms;
mod home;
mod logs;
mod operator;
mod publish;
mod systems;
mod try_it;
mod uptime;

pub use account::{
    AccountPage, EmailConfirmPage, InvitationPage, LoginPage, PasswordResetPage, SignupPage,
};
pub use api_detail::ApiDetailPage;
pub use applications::{ApplicationPage, ApplicationsPage, ApplyPage};
pub use catalogue::CataloguePage;
pub use forms::{Hydrated, account_of, use_hydrated};
pub use home::{DocPage, HomePage};
pub use logs::LogsPage;
pub use operator::{AccountsPage, AuditPage, MembersPage, OutboxPage, PublishPage, ReviewPage};
pub use publish::PublishedApisPage;
pub use systems::SystemsPage;
pub use uptime::UptimePage;

use crate::api::UiError;
use crate::i18n::{M, t, use_lang};
use leptos::prelude::*;

/// Shown while a page's data is on its way (only during client-side navigation: the server
/// renders pages with their data).
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-live="polite">{t(M::Loading)}</p> }
}

/// A readable error in place of the page's content (a 500 when the server renders it).
#[component]
pub fn ErrorNotice(error: UiError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
    }
    let text = match &error {
        UiError::NotFound(message) => use_lang().pick(message).to_owned(),
        UiError::Data(detail) => format!("{}: {detail}", t(M::LoadFailed)),
        UiError::Transport(detail) => format!("{}: {detail}", t(M::RequestFailed)),
    };
    view! {
        <div class="notice notice-error" role="alert" data-testid="error">
            <p>{text}</p>
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

/// The 404 page; on the server it also sets the response status. `message` may be the API's
/// bilingual `日本語 / English` text: the page shows the part in its language.
#[component]
pub fn NotFound(message: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let message = use_lang().pick(&message).to_owned();
    view! {
        <PageTitle text=t(M::NotFoundTitle) />
        <section class="not-found" data-testid="not-found">
            <h1>{t(M::NotFoundHeading)}</h1>
            <p data-testid="not-found-message">{message}</p>
            <p>
                <a href="/catalogue">{t(M::NotFoundBack)}</a>
            </p>
        </section>
    }
}
