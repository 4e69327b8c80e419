//! The operator's pages (applications to review, accounts, audit log, mail outbox, notices) and
//! the organisation admin's members page. The API refuses every other role; the pages say so too.

use super::PageTitle;
use super::forms::{Done, Field, FormError, Gate, Submit, jst, role_label, status_label};
use crate::i18n::{M, t};
use crate::rest::{self, Accounts, Audit, Failure, Ignored, Members, Organisations, Outbox};
use leptos::either::Either;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

const OPERATOR: &[&str] = &["operator"];

#[component]
fn LoadError(failure: Failure) -> impl IntoView {
    view! {
        <div class="notice notice-error" role="alert" data-testid="error">
            <p>{failure.text(crate::i18n::use_lang())}</p>
        </div>
    }
}

#[component]
fn EmptyRow() -> impl IntoView {
    view! { <p class="empty">{t(M::Empty)}</p> }
}

// ---- applications ----------------------------------------------------------------------------

#[component]
pub fn ReviewPage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::ReviewTitle) />
        <section class="operator" data-testid="review-page">
            <h1>{t(M::ReviewTitle)}</h1>
            <Gate roles=OPERATOR denied=M::NeedOperator>
                <ReviewLists />
            </Gate>
        </section>
    }
}

#[component]
fn ReviewLists() -> impl IntoView {
    let orgs = LocalResource::new(|| rest::get::<Organisations>("/api/v1/operator/organisations"));
    view! {
        <Transition fallback=super::Loading>
            {move || Suspend::new(async move {
                match orgs.await {
                    Err(failure) => Either::Left(view! { <LoadError failure /> }),
                    Ok(list) => {
                        let (pending, reviewed): (Vec<_>, Vec<_>) = list
                            .organisations
                            .into_iter()
                            .partition(|o| o.status == "pending");
                        let no_pending = pending.is_empty();
                        Either::Right(
                            view! {
                                <h2>{t(M::ReviewPending)}</h2>
                                {no_pending.then(|| view! { <p class="empty">{t(M::NoPending)}</p> })}
                                <ul class="cards">
                                    {pending
                                        .into_iter()
                                        .map(|o| {
                                            view! {
                                                <PendingCard org=o on_done=move || orgs.refetch() />
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                <h2>{t(M::ReviewAll)}</h2>
                                <table class="rows" data-testid="organisations">
                                    <thead>
                                        <tr>
                                            <th>{t(M::FieldOrganisationName)}</th>
                                            <th>{t(M::FieldCorporateNumber)}</th>
                                            <th>{t(M::Status)}</th>
                                            <th>{t(M::ReviewedAt)}</th>
                                            <th>{t(M::FieldComment)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {reviewed
                                            .into_iter()
                                            .map(|o| {
                                                view! {
                                                    <tr data-testid="organisation-row" data-status=o.status.clone()>
                                                        <td data-label=t(M::FieldOrganisationName)>{o.name}</td>
                                                        <td data-label=t(M::FieldCorporateNumber)>
                                                            {o.corporate_number}
                                                        </td>
                                                        <td data-label=t(M::Status)>{status_label(&o.status)}</td>
                                                        <td data-label=t(M::ReviewedAt)>
                                                            {o.reviewed_at.as_deref().map(jst).unwrap_or_default()}
                                                        </td>
                                                        <td data-label=t(M::FieldComment)>
                                                            {o.review_comment.unwrap_or_default()}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            },
                        )
                    }
                }
            })}
        </Transition>
    }
}

/// One pending application with its approve / reject buttons and the comment box.
#[component]
fn PendingCard(
    org: rest::OrganisationView,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let id = org.id;
    let decide = move |decision: &'static str| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let body = json!({ "comment": comment.get_untracked() });
        spawn_local(async move {
            let path = format!("/api/v1/operator/organisations/{id}/{decision}");
            let result = rest::send::<Ignored>("POST", &path, body).await;
            busy.set(false);
            match result {
                Ok(_) => on_done(),
                Err(f) => error.set(Some(f)),
            }
        });
    };
    let hydrated = super::forms::use_hydrated();
    let disabled = move || busy.get() || !hydrated.get();
    view! {
        <li class="card" data-testid="pending-organisation" data-corporate-number=org.corporate_number.clone()>
            <h3>{org.name.clone()}</h3>
            <dl class="facts">
                <dt>{t(M::FieldCorporateNumber)}</dt>
                <dd>{org.corporate_number.clone()}</dd>
                <dt>{t(M::FieldContactName)}</dt>
                <dd>{org.contact_name.clone()}</dd>
                <dt>{t(M::AppliedAt)}</dt>
                <dd>{jst(&org.created_at)}</dd>
            </dl>
            <form method="post" class="form" on:submit=|ev: SubmitEvent| ev.prevent_default()>
                <FormError error fields=&["comment"] />
                <Field
                    name="comment"
                    label=M::FieldComment
                    value=comment
                    error
                    hint=M::CommentHint
                />
                <div class="button-row">
                    <button
                        type="button"
                        class="button button-primary"
                        data-testid="approve"
                        disabled=disabled
                        on:click=move |_| decide("approve")
                    >
                        {t(M::Approve)}
                    </button>
                    <button
                        type="button"
                        class="button button-danger"
                        data-testid="reject"
                        disabled=disabled
                        on:click=move |_| decide("reject")
                    >
                        {t(M::Reject)}
                    </button>
                </div>
            </form>
        </li>
    }
}

// ---- accounts, audit, outbox -----------------------------------------------------------------

#[component]
pub fn AccountsPage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::AccountsTitle) />
        <section class="operator" data-testid="accounts-page">
            <h1>{t(M::AccountsTitle)}</h1>
            <Gate roles=OPERATOR denied=M::NeedOperator>
                <AccountList path="/api/v1/operator/accounts" />
            </Gate>
        </section>
    }
}

/// Who manages the accounts a list shows (and through which API paths), if anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manager {
    /// The operator: every account, `/api/v1/operator/accounts/{id}/…`.
    Operator,
    /// An organisation's admin: its own people, `/api/v1/org/members/{id}/…`.
    OrgAdmin,
    /// A member only looks.
    Nobody,
}

impl Manager {
    fn base(self) -> &'static str {
        match self {
            Manager::Operator => "/api/v1/operator/accounts",
            _ => "/api/v1/org/members",
        }
    }

    fn suspend_path(self) -> &'static str {
        match self {
            Manager::Operator => "suspend",
            _ => "deactivate",
        }
    }
}

/// A table of accounts (the operator's list of all, or an organisation's members) with the
/// manager's buttons on every row but their own.
#[component]
fn AccountList(path: &'static str) -> impl IntoView {
    let session = rest::use_session();
    let list = LocalResource::new(move || async move {
        if path.starts_with("/api/v1/org") {
            rest::get::<Members>(path).await.map(|m| m.members)
        } else {
            rest::get::<Accounts>(path).await.map(|a| a.accounts)
        }
    });
    view! {
        <Suspense fallback=super::Loading>
            {move || Suspend::new(async move {
                let me = super::forms::account_of(&session.await);
                let (my_id, manager) = match me.as_ref().map(|a| a.role.as_str()) {
                    Some("operator") => (me.as_ref().map(|a| a.id), Manager::Operator),
                    Some("org_admin") => (me.as_ref().map(|a| a.id), Manager::OrgAdmin),
                    _ => (None, Manager::Nobody),
                };
                match list.await {
                    Err(failure) => Either::Left(view! { <LoadError failure /> }),
                    Ok(accounts) => {
                        Either::Right(
                            view! {
                                <table class="rows" data-testid="account-table">
                                    <thead>
                                        <tr>
                                            <th>{t(M::FieldEmail)}</th>
                                            <th>{t(M::FieldDisplayName)}</th>
                                            <th>{t(M::Role)}</th>
                                            <th>{t(M::Status)}</th>
                                            <th>{t(M::CreatedAt)}</th>
                                            {(manager != Manager::Nobody)
                                                .then(|| view! { <th>{t(M::AccountActions)}</th> })}
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {accounts
                                            .into_iter()
                                            .map(|a| {
                                                let manage = (manager != Manager::Nobody
                                                    && Some(a.id) != my_id)
                                                    .then_some(manager);
                                                view! {
                                                    <AccountRow
                                                        account=a
                                                        manager
                                                        manage
                                                        on_done=move || list.refetch()
                                                    />
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            },
                        )
                    }
                }
            })}
        </Suspense>
    }
}

/// One account: its facts, and (for a manager, not on their own row) role and suspension buttons.
#[component]
fn AccountRow(
    account: rest::AccountView,
    manager: Manager,
    manage: Option<Manager>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let id = account.id;
    let suspended = account.suspended_at.is_some();
    let by_operator = account.suspended_by.as_deref() == Some("operator");
    let is_operator = account.role == "operator";
    let role = RwSignal::new(account.role.clone());
    let act = move |manager: Manager, action: &'static str, body: serde_json::Value| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let path = format!("{}/{id}/{action}", manager.base());
            let result = rest::send::<Ignored>("POST", &path, body).await;
            busy.set(false);
            match result {
                Ok(_) => on_done(),
                Err(f) => error.set(Some(f)),
            }
        });
    };
    let hydrated = super::forms::use_hydrated();
    let disabled = move || busy.get() || !hydrated.get();
    let status = if !suspended {
        t(M::AccountActive)
    } else if by_operator {
        t(M::AccountSuspendedByOperator)
    } else {
        t(M::AccountDeactivatedByAdmin)
    };
    let controls = manage.map(|m| {
        // An operator account changes role only through the API (it needs an organisation).
        let role_control = (!is_operator).then(|| {
            let current = account.role.clone();
            view! {
                <select
                    aria-label=t(M::FieldRole)
                    data-testid="role-select"
                    on:change=move |ev| role.set(event_target_value(&ev))
                >
                    <option value="org_member" selected={current == "org_member"}>
                        {t(M::RoleOrgMember)}
                    </option>
                    <option value="org_admin" selected={current == "org_admin"}>
                        {t(M::RoleOrgAdmin)}
                    </option>
                </select>
                <button
                    type="button"
                    class="button button-small"
                    data-testid="change-role"
                    disabled=disabled
                    on:click=move |_| act(m, "role", json!({ "role": role.get_untracked() }))
                >
                    {t(M::ChangeRole)}
                </button>
            }
        });
        let suspend_control = if !suspended {
            let label = if m == Manager::Operator {
                M::Suspend
            } else {
                M::Deactivate
            };
            Some(
                view! {
                    <button
                        type="button"
                        class="button button-small button-danger"
                        data-testid="suspend"
                        disabled=disabled
                        on:click=move |_| act(m, m.suspend_path(), json!({}))
                    >
                        {t(label)}
                    </button>
                }
                .into_any(),
            )
        } else if m == Manager::Operator || !by_operator {
            Some(
                view! {
                    <button
                        type="button"
                        class="button button-small"
                        data-testid="reactivate"
                        disabled=disabled
                        on:click=move |_| act(m, "reactivate", json!({}))
                    >
                        {t(M::Reactivate)}
                    </button>
                }
                .into_any(),
            )
        } else {
            None
        };
        view! {
            <div class="row-manage">
                <div class="row-actions">{role_control} {suspend_control}</div>
                <FormError error fields=&[] />
            </div>
        }
    });
    view! {
        <tr
            data-testid="account-row"
            data-email=account.email.clone()
            data-status=if suspended { "suspended" } else { "active" }
        >
            <td data-label=t(M::FieldEmail)>{account.email.clone()}</td>
            <td data-label=t(M::FieldDisplayName)>{account.display_name}</td>
            <td data-label=t(M::Role)>{role_label(&account.role)}</td>
            <td data-label=t(M::Status) data-testid="account-status">
                {status}
                {account.suspended_at.as_deref().map(|at| format!(" ({})", jst(at)))}
            </td>
            <td data-label=t(M::CreatedAt)>{jst(&account.created_at)}</td>
            {(manager != Manager::Nobody)
                .then(|| view! { <td data-label=t(M::AccountActions)>{controls}</td> })}
        </tr>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = LocalResource::new(|| rest::get::<Audit>("/api/v1/operator/audit"));
    view! {
        <PageTitle text=t(M::AuditTitle) />
        <section class="operator" data-testid="audit-page">
            <h1>{t(M::AuditTitle)}</h1>
            <p class="hint">{t(M::AuditIntro)}</p>
            <Gate roles=OPERATOR denied=M::NeedOperator>
                <Suspense fallback=super::Loading>
                    {move || Suspend::new(async move {
                        match entries.await {
                            Err(failure) => Either::Left(view! { <LoadError failure /> }),
                            Ok(audit) => {
                                let empty = audit.entries.is_empty();
                                Either::Right(
                                    view! {
                                        {empty.then(|| view! { <EmptyRow /> })}
                                        <table class="rows" data-testid="audit-table">
                                            <thead>
                                                <tr>
                                                    <th>{t(M::Time)}</th>
                                                    <th>{t(M::Actor)}</th>
                                                    <th>{t(M::Action)}</th>
                                                    <th>{t(M::Target)}</th>
                                                    <th>{t(M::Detail)}</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {audit
                                                    .entries
                                                    .into_iter()
                                                    .map(|e| {
                                                        view! {
                                                            <tr data-testid="audit-row" data-action=e.action.clone()>
                                                                <td data-label=t(M::Time)>{jst(&e.time)}</td>
                                                                <td data-label=t(M::Actor)>{e.actor}</td>
                                                                <td data-label=t(M::Action)>
                                                                    <code>{e.action.clone()}</code>
                                                                </td>
                                                                <td data-label=t(M::Target)>{e.target}</td>
                                                                <td data-label=t(M::Detail)>{e.detail}</td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    },
                                )
                            }
                        }
                    })}
                </Suspense>
            </Gate>
        </section>
    }
}

#[component]
pub fn OutboxPage() -> impl IntoView {
    let mails = LocalResource::new(|| rest::get::<Outbox>("/api/v1/operator/outbox"));
    view! {
        <PageTitle text=t(M::OutboxTitle) />
        <section class="operator" data-testid="outbox-page">
            <h1>{t(M::OutboxTitle)}</h1>
            <p class="hint">{t(M::OutboxIntro)}</p>
            <Gate roles=OPERATOR denied=M::NeedOperator>
                <Suspense fallback=super::Loading>
                    {move || Suspend::new(async move {
                        match mails.await {
                            Err(failure) => Either::Left(view! { <LoadError failure /> }),
                            Ok(outbox) => {
                                let empty = outbox.mails.is_empty();
                                Either::Right(
                                    view! {
                                        {empty.then(|| view! { <p class="empty">{t(M::NoMail)}</p> })}
                                        <ul class="cards">
                                            {outbox
                                                .mails
                                                .into_iter()
                                                .map(|m| {
                                                    view! {
                                                        <li class="card mail" data-testid="mail" data-to=m.to.clone()>
                                                            <h3 class="mail-subject">{m.subject}</h3>
                                                            <dl class="facts">
                                                                <dt>{t(M::MailTo)}</dt>
                                                                <dd>{m.to.clone()}</dd>
                                                                <dt>{t(M::Time)}</dt>
                                                                <dd>{jst(&m.created_at)}</dd>
                                                            </dl>
                                                            <pre class="mail-body">{m.body}</pre>
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
            </Gate>
        </section>
    }
}

// ---- notices ---------------------------------------------------------------------------------

#[component]
pub fn PublishPage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::PublishTitle) />
        <section class="form-page" data-testid="publish-page">
            <h1>{t(M::PublishTitle)}</h1>
            <Gate roles=OPERATOR denied=M::NeedOperator>
                <PublishForm />
            </Gate>
        </section>
    }
}

#[component]
fn PublishForm() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        done.set(false);
        let payload = json!({ "title": title.get_untracked(), "body": body.get_untracked() });
        spawn_local(async move {
            let result = rest::send::<Ignored>("POST", "/api/v1/operator/notices", payload).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    title.set(String::new());
                    body.set(String::new());
                    done.set(true);
                }
                Err(f) => error.set(Some(f)),
            }
        });
    };
    view! {
        <form method="post" class="form" on:submit=on_submit novalidate>
            <FormError error fields=&["title", "body"] />
            <Field name="title" label=M::FieldTitle value=title error />
            <Field name="body" label=M::FieldBody value=body error multiline=true />
            <Submit label=M::PublishSubmit busy />
        </form>
        <Show when=move || done.get()>
            <Done text=M::Published />
            <p>
                <a href="/">{t(M::NavHome)}</a>
            </p>
        </Show>
    }
}

// ---- organisation members --------------------------------------------------------------------

#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <PageTitle text=t(M::MembersTitle) />
        <section class="operator" data-testid="members-page">
            <h1>{t(M::MembersTitle)}</h1>
            <Gate roles=&["org_admin", "org_member"] denied=M::NeedOrgAdmin>
                <AccountList path="/api/v1/org/members" />
                <InviteForm />
            </Gate>
        </section>
    }
}

#[component]
fn InviteForm() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let role = RwSignal::new("org_member".to_owned());
    let error = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        done.set(false);
        let payload = json!({
            "email": email.get_untracked(),
            "display_name": display_name.get_untracked(),
            "role": role.get_untracked(),
        });
        spawn_local(async move {
            let result = rest::send::<Ignored>("POST", "/api/v1/org/members", payload).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    email.set(String::new());
                    display_name.set(String::new());
                    done.set(true);
                }
                Err(f) => error.set(Some(f)),
            }
        });
    };
    view! {
        <h2>{t(M::InviteTitle)}</h2>
        <form method="post" class="form" on:submit=on_submit novalidate data-testid="invite-form">
            <FormError error fields=&["email", "display_name", "role"] />
            <Field name="email" label=M::FieldEmail value=email error kind="email" autocomplete="off" />
            <Field name="display_name" label=M::FieldDisplayName value=display_name error autocomplete="off" />
            <div class="field">
                <label for="field-role">{t(M::FieldRole)}</label>
                <select
                    id="field-role"
                    name="role"
                    data-testid="input-role"
                    on:change=move |ev| role.set(event_target_value(&ev))
                >
                    <option value="org_member" selected>
                        {t(M::RoleOrgMember)}
                    </option>
                    <option value="org_admin">{t(M::RoleOrgAdmin)}</option>
                </select>
            </div>
            <Submit label=M::InviteSubmit busy />
        </form>
        <Show when=move || done.get()>
            <Done text=M::Invited />
        </Show>
    }
}
