//! Pieces the account pages share: form fields that show the API's error next to the field it
//! names, the form-level error, the submit button, role gates and time formatting.

use crate::i18n::{M, t, use_lang};
use crate::rest::{AccountView, Failure, SessionInfo, use_session};
use leptos::either::EitherOf3;
use leptos::prelude::*;

/// Whether the page has hydrated (forms submit only then; before, they do nothing).
#[derive(Clone, Copy)]
pub struct Hydrated(pub RwSignal<bool>);

pub fn use_hydrated() -> RwSignal<bool> {
    use_context::<Hydrated>()
        .map(|h| h.0)
        .unwrap_or_else(|| RwSignal::new(false))
}

/// One labelled input. Shows the API's message when the error names this field (`name`).
#[component]
pub fn Field(
    name: &'static str,
    label: M,
    value: RwSignal<String>,
    error: RwSignal<Option<Failure>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<M>,
    #[prop(optional)] multiline: bool,
) -> impl IntoView {
    let lang = use_lang();
    let id = format!("field-{name}");
    let message = move || {
        error
            .read()
            .as_ref()
            .filter(|f| f.field() == Some(name))
            .map(|f| f.text(lang))
    };
    let invalid = move || message().is_some().then_some("true");
    let input = if multiline {
        view! {
            <textarea
                id=id.clone()
                name=name
                rows="6"
                data-testid=format!("input-{name}")
                aria-invalid=invalid
                bind:value=value
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id.clone()
                name=name
                type=kind
                autocomplete=autocomplete
                data-testid=format!("input-{name}")
                aria-invalid=invalid
                bind:value=value
            />
        }
        .into_any()
    };
    view! {
        <div class="field" class:field-invalid=move || message().is_some()>
            <label for=id>{label.text(lang)}</label>
            {input}
            {hint.map(|h| view! { <p class="field-hint">{h.text(lang)}</p> })}
            {move || {
                message()
                    .map(|m| {
                        view! {
                            <p class="field-error" role="alert" data-testid=format!("error-{name}")>
                                {m}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The error when it names none of the form's `fields` (or no field at all).
#[component]
pub fn FormError(
    error: RwSignal<Option<Failure>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    let lang = use_lang();
    move || {
        error.get().and_then(|f| {
            let shown_at_field = f.field().is_some_and(|name| fields.contains(&name));
            (!shown_at_field).then(|| {
                view! {
                    <div
                        class="notice notice-error"
                        role="alert"
                        data-testid="form-error"
                        data-code=f.code.clone()
                    >
                        <p>{f.text(lang)}</p>
                    </div>
                }
            })
        })
    }
}

/// The submit button: disabled until hydrated and while a request is on its way.
#[component]
pub fn Submit(
    label: M,
    busy: RwSignal<bool>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let hydrated = use_hydrated();
    view! {
        <button
            type="submit"
            class="button button-primary"
            data-testid=testid.unwrap_or("submit")
            disabled=move || busy.get() || !hydrated.get()
        >
            {move || if busy.get() { t(M::Sending) } else { t(label) }}
        </button>
    }
}

/// A success message.
#[component]
pub fn Done(text: M) -> impl IntoView {
    view! {
        <div class="notice notice-ok" role="status" data-testid="done">
            <p>{t(text)}</p>
        </div>
    }
}

/// Shows `children` to a logged-in account whose role is in `roles` (any role when empty);
/// otherwise a login prompt or the `denied` notice.
#[component]
pub fn Gate(
    roles: &'static [&'static str],
    #[prop(default = M::NeedLogin)] denied: M,
    children: ChildrenFn,
) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(SessionInfo { account: Some(account), .. })
                        if roles.is_empty() || roles.contains(&account.role.as_str()) => {
                        EitherOf3::A(children.with_value(|c| c()))
                    }
                    Ok(SessionInfo { account: Some(_), .. }) => {
                        EitherOf3::B(
                            view! {
                                <div class="notice notice-error" role="alert" data-testid="denied">
                                    <p>{t(denied)}</p>
                                </div>
                            },
                        )
                    }
                    _ => {
                        EitherOf3::C(
                            view! {
                                <div class="notice" data-testid="need-login">
                                    <p>{t(M::NeedLogin)}</p>
                                    <p>
                                        <a class="button" href="/login">
                                            {t(M::NavLogin)}
                                        </a>
                                    </p>
                                </div>
                            },
                        )
                    }
                }
            })}
        </Suspense>
    }
}

/// A stored timestamp (RFC 3339, `+09:00`) as `2026-12-04 16:23 JST`; other text unchanged.
pub fn jst(time: &str) -> String {
    let bytes = time.as_bytes();
    let looks_rfc3339 =
        time.len() >= 16 && bytes.get(10) == Some(&b'T') && time.ends_with("+09:00");
    if looks_rfc3339 {
        format!("{} {} JST", &time[..10], &time[11..16])
    } else {
        time.to_owned()
    }
}

/// The role's name for people.
pub fn role_label(role: &str) -> &'static str {
    match role {
        "operator" => t(M::RoleOperator),
        "org_admin" => t(M::RoleOrgAdmin),
        _ => t(M::RoleOrgMember),
    }
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "approved" => t(M::StatusApproved),
        "rejected" => t(M::StatusRejected),
        _ => t(M::StatusPending),
    }
}

/// The account's email, or `None` when not logged in.
pub fn account_of(session: &Result<SessionInfo, Failure>) -> Option<AccountView> {
    session.as_ref().ok().and_then(|s| s.account.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_jst_to_the_minute() {
        assert_eq!(
            super::jst("2026-12-04T16:23:45.123+09:00"),
            "2026-12-04 16:23 JST"
        );
        assert_eq!(super::jst("yesterday"), "yesterday");
    }
}
