//! Pages of one's own account: sign-up, login, password reset, the account page with the email
//! change, the email-change confirmation and the invitation (both opened from mailed links).

use super::PageTitle;
use super::forms::{Done, Field, FormError, Gate, Submit, jst, role_label, status_label};
use crate::i18n::{M, t};
use crate::rest::{self, Failure, Ignored, Me};
use leptos::either::Either;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use serde_json::json;

/// Runs one form submission: `busy` while it runs, the failure into `error`, `on_ok` after success.
fn submit(
    ev: SubmitEvent,
    busy: RwSignal<bool>,
    error: RwSignal<Option<Failure>>,
    path: &'static str,
    body: serde_json::Value,
    on_ok: impl FnOnce() + 'static,
) {
    ev.prevent_default();
    if busy.get_untracked() {
        return;
    }
    busy.set(true);
    error.set(None);
    spawn_local(async move {
        let result = rest::send::<Ignored>("POST", path, body).await;
        busy.set(false);
        match result {
            Ok(_) => on_ok(),
            Err(failure) => error.set(Some(failure)),
        }
    });
}

fn token_from_query() -> Option<String> {
    use_query_map()
        .read_untracked()
        .get("token")
        .filter(|t| !t.is_empty())
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let organisation_name = RwSignal::new(String::new());
    let corporate_number = RwSignal::new(String::new());
    let contact_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    const FIELDS: &[&str] = &[
        "organisation_name",
        "corporate_number",
        "contact_name",
        "email",
        "password",
    ];

    let on_submit = move |ev: SubmitEvent| {
        let body = json!({
            "organisation_name": organisation_name.get_untracked(),
            "corporate_number": corporate_number.get_untracked(),
            "contact_name": contact_name.get_untracked(),
            "email": email.get_untracked(),
            "password": password.get_untracked(),
        });
        submit(ev, busy, error, "/api/v1/signup", body, move || {
            done.set(true)
        });
    };

    view! {
        <PageTitle text=t(M::SignupTitle) />
        <section class="form-page" data-testid="signup-page">
            <h1>{t(M::SignupTitle)}</h1>
            {move || {
                if done.get() {
                    Either::Left(
                        view! {
                            <div class="notice notice-ok" role="status" data-testid="signup-done">
                                <h2>{t(M::SignupDoneTitle)}</h2>
                                <p>{t(M::SignupDoneText)}</p>
                            </div>
                        },
                    )
                } else {
                    Either::Right(
                        view! {
                            <p class="hint">{t(M::SignupIntro)}</p>
                            <form method="post" class="form" on:submit=on_submit novalidate>
                                <FormError error fields=FIELDS />
                                <Field
                                    name="organisation_name"
                                    label=M::FieldOrganisationName
                                    value=organisation_name
                                    error
                                    autocomplete="organization"
                                />
                                <Field
                                    name="corporate_number"
                                    label=M::FieldCorporateNumber
                                    value=corporate_number
                                    error
                                    autocomplete="off"
                                />
                                <Field
                                    name="contact_name"
                                    label=M::FieldContactName
                                    value=contact_name
                                    error
                                    autocomplete="name"
                                />
                                <Field
                                    name="email"
                                    label=M::FieldEmail
                                    value=email
                                    error
                                    kind="email"
                                    autocomplete="email"
                                />
                                <Field
                                    name="password"
                                    label=M::FieldPassword
                                    value=password
                                    error
                                    kind="password"
                                    autocomplete="new-password"
                                    hint=M::PasswordHint
                                />
                                <Submit label=M::SignupSubmit busy />
                            </form>
                        },
                    )
                }
            }}
        </section>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    const FIELDS: &[&str] = &["email", "password"];

    let on_submit = move |ev: SubmitEvent| {
        let body = json!({ "email": email.get_untracked(), "password": password.get_untracked() });
        submit(ev, busy, error, "/api/v1/login", body, || {
            rest::go("/account")
        });
    };

    view! {
        <PageTitle text=t(M::LoginTitle) />
        <section class="form-page" data-testid="login-page">
            <h1>{t(M::LoginTitle)}</h1>
            <form method="post" class="form" on:submit=on_submit novalidate>
                <FormError error fields=FIELDS />
                <Field
                    name="email"
                    label=M::FieldEmail
                    value=email
                    error
                    kind="email"
                    autocomplete="username"
                />
                <Field
                    name="password"
                    label=M::FieldPassword
                    value=password
                    error
                    kind="password"
                    autocomplete="current-password"
                />
                <Submit label=M::LoginSubmit busy />
            </form>
            <p class="form-links">
                <a href="/password-reset">{t(M::ForgotPassword)}</a>
                <a href="/signup">{t(M::NoAccountYet)}</a>
            </p>
        </section>
    }
}

/// `/password-reset`: the request form, or (with `?token=` from the mail) the new-password form.
#[component]
pub fn PasswordResetPage() -> impl IntoView {
    let token = token_from_query();
    view! {
        <PageTitle text=t(M::ResetTitle) />
        <section class="form-page" data-testid="password-reset-page">
            {match token {
                Some(token) => {
                    Either::Left(
                        view! {
                            <h1>{t(M::SetPasswordTitle)}</h1>
                            <SetPasswordForm token path="/api/v1/password-reset/confirm" />
                        },
                    )
                }
                None => Either::Right(view! { <ResetRequestForm /> }),
            }}
        </section>
    }
}

#[component]
fn ResetRequestForm() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        let body = json!({ "email": email.get_untracked() });
        submit(ev, busy, error, "/api/v1/password-reset", body, move || {
            done.set(true)
        });
    };
    view! {
        <h1>{t(M::ResetTitle)}</h1>
        <p class="hint">{t(M::ResetIntro)}</p>
        <form method="post" class="form" on:submit=on_submit novalidate>
            <FormError error fields=&["email"] />
            <Field name="email" label=M::FieldEmail value=email error kind="email" autocomplete="email" />
            <Submit label=M::ResetSubmit busy />
        </form>
        <Show when=move || done.get()>
            <Done text=M::ResetSent />
        </Show>
    }
}

/// New password from a mailed link (reset or invitation).
#[component]
fn SetPasswordForm(token: String, path: &'static str) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let token = StoredValue::new(token);
    let on_submit = move |ev: SubmitEvent| {
        let body = json!({ "token": token.get_value(), "password": password.get_untracked() });
        submit(ev, busy, error, path, body, move || done.set(true));
    };
    view! {
        {move || {
            if done.get() {
                Either::Left(
                    view! {
                        <Done text=M::PasswordSet />
                        <p>
                            <a class="button" href="/login">
                                {t(M::NavLogin)}
                            </a>
                        </p>
                    },
                )
            } else {
                Either::Right(
                    view! {
                        <form method="post" class="form" on:submit=on_submit novalidate>
                            <FormError error fields=&["password"] />
                            <Field
                                name="password"
                                label=M::FieldNewPassword
                                value=password
                                error
                                kind="password"
                                autocomplete="new-password"
                                hint=M::PasswordHint
                            />
                            <Submit label=M::SetPasswordSubmit busy />
                        </form>
                    },
                )
            }
        }}
    }
}

#[component]
fn MissingToken() -> impl IntoView {
    view! {
        <div class="notice notice-error" role="alert" data-testid="missing-token">
            <p>{t(M::MissingToken)}</p>
        </div>
    }
}

/// `/invitation?token=`: a new member sets their password.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let token = token_from_query();
    view! {
        <PageTitle text=t(M::InvitationTitle) />
        <section class="form-page" data-testid="invitation-page">
            <h1>{t(M::InvitationTitle)}</h1>
            {match token {
                Some(token) => {
                    Either::Left(
                        view! {
                            <p class="hint">{t(M::InvitationIntro)}</p>
                            <SetPasswordForm token path="/api/v1/invitations/accept" />
                        },
                    )
                }
                None => Either::Right(view! { <MissingToken /> }),
            }}
        </section>
    }
}

/// `/email-change?token=`: confirms the new address (a button, so link scanners do not confirm).
#[component]
pub fn EmailConfirmPage() -> impl IntoView {
    let token = token_from_query();
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    view! {
        <PageTitle text=t(M::EmailConfirmTitle) />
        <section class="form-page" data-testid="email-confirm-page">
            <h1>{t(M::EmailConfirmTitle)}</h1>
            {match token {
                None => Either::Left(view! { <MissingToken /> }),
                Some(token) => {
                    let token = StoredValue::new(token);
                    let on_submit = move |ev: SubmitEvent| {
                        let body = json!({ "token": token.get_value() });
                        submit(
                            ev,
                            busy,
                            error,
                            "/api/v1/email-change/confirm",
                            body,
                            move || done.set(true),
                        );
                    };
                    Either::Right(
                        view! {
                            <Show
                                when=move || done.get()
                                fallback=move || {
                                    view! {
                                        <p class="hint">{t(M::EmailConfirmIntro)}</p>
                                        <form method="post" class="form" on:submit=on_submit>
                                            <FormError error fields=&[] />
                                            <Submit label=M::EmailConfirmSubmit busy />
                                        </form>
                                    }
                                }
                            >
                                <Done text=M::EmailConfirmed />
                                <p>
                                    <a class="button" href="/login">
                                        {t(M::NavLogin)}
                                    </a>
                                </p>
                            </Show>
                        },
                    )
                }
            }}
        </section>
    }
}

/// `/account`: who is logged in, their organisation, and the email change form.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::AccountTitle) />
        <section class="form-page" data-testid="account-page">
            <h1>{t(M::AccountTitle)}</h1>
            <Gate roles=&[]>
                <AccountDetails />
                <EmailChangeForm />
            </Gate>
        </section>
    }
}

#[component]
fn AccountDetails() -> impl IntoView {
    let me = LocalResource::new(|| rest::get::<Me>("/api/v1/me"));
    view! {
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                me.await
                    .ok()
                    .map(|me| {
                        view! {
                            <dl class="facts account-facts" data-testid="account-facts">
                                <dt>{t(M::FieldEmail)}</dt>
                                <dd data-testid="account-email">{me.account.email.clone()}</dd>
                                <dt>{t(M::FieldDisplayName)}</dt>
                                <dd>{me.account.display_name.clone()}</dd>
                                <dt>{t(M::Role)}</dt>
                                <dd>{role_label(&me.account.role)}</dd>
                                {me
                                    .organisation
                                    .map(|o| {
                                        view! {
                                            <dt>{t(M::Organisation)}</dt>
                                            <dd>
                                                {format!("{}（{}）", o.name, o.corporate_number)} " "
                                                <span class="badge">{status_label(&o.status)}</span>
                                            </dd>
                                        }
                                    })}
                                <dt>{t(M::CreatedAt)}</dt>
                                <dd>{jst(&me.account.created_at)}</dd>
                            </dl>
                        }
                    })
            })}
        </Suspense>
    }
}

#[component]
fn EmailChangeForm() -> impl IntoView {
    let new_email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    const FIELDS: &[&str] = &["new_email", "password", "email"];
    let on_submit = move |ev: SubmitEvent| {
        let body =
            json!({ "new_email": new_email.get_untracked(), "password": password.get_untracked() });
        submit(ev, busy, error, "/api/v1/me/email", body, move || {
            password.set(String::new());
            done.set(true)
        });
    };
    // A duplicate address is reported as `email:`; show it at the new-address field.
    let shown_error = RwSignal::new(None::<Failure>);
    Effect::new(move |_| {
        shown_error.set(error.get().map(|mut f| {
            if f.field() == Some("email") {
                f.message = format!("new_email: {}", crate::i18n::strip_field(&f.message).1);
            }
            f
        }))
    });
    view! {
        <h2>{t(M::EmailChangeTitle)}</h2>
        <p class="hint">{t(M::EmailChangeIntro)}</p>
        <form method="post" class="form" on:submit=on_submit novalidate data-testid="email-change-form">
            <FormError error=shown_error fields=FIELDS />
            <Field
                name="new_email"
                label=M::FieldNewEmail
                value=new_email
                error=shown_error
                kind="email"
                autocomplete="email"
            />
            <Field
                name="password"
                label=M::FieldCurrentPassword
                value=password
                error=shown_error
                kind="password"
                autocomplete="current-password"
            />
            <Submit label=M::EmailChangeSubmit busy />
        </form>
        <Show when=move || done.get()>
            <Done text=M::EmailChangeSent />
        </Show>
    }
}
