//! `/org/systems`: the organisation's systems (its nodes: client id, name, endpoint URL, Ed25519
//! public key); an admin registers one or edits it. The API names the refused field; the form shows
//! the message there.

use super::PageTitle;
use super::applications::{LoadFailure, Notice};
use super::forms::{Field, FormError, Submit, jst};
use crate::i18n::{M, t};
use crate::rest::{self, Failure, Ignored, Loader, encode};
use crate::workflow::{SystemView, Systems};
use leptos::either::EitherOf3;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

#[component]
pub fn SystemsPage() -> impl IntoView {
    let loader = Loader::new();
    let list = Resource::new(
        || (),
        move |_| loader.get::<Systems>("/api/v1/systems".to_owned()),
    );
    let client_id = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let endpoint = RwSignal::new(String::new());
    let public_key = RwSignal::new(String::new());
    // The client id of the system being edited; `None`: a new one.
    let editing = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(false);
    let notice = RwSignal::new(None::<M>);
    const FIELDS: &[&str] = &["client_id", "name", "endpoint", "public_key"];

    let clear = move || {
        for s in [client_id, name, endpoint, public_key] {
            s.set(String::new());
        }
        editing.set(None);
        error.set(None);
    };
    let edit = move |s: SystemView| {
        client_id.set(s.client_id.clone());
        name.set(s.name);
        endpoint.set(s.endpoint);
        public_key.set(s.public_key);
        editing.set(Some(s.client_id));
        error.set(None);
        notice.set(None);
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (method, path, body, done) = match editing.get_untracked() {
            Some(id) => (
                "PUT",
                format!("/api/v1/systems/{}", encode(&id)),
                json!({
                    "name": name.get_untracked(),
                    "endpoint": endpoint.get_untracked(),
                    "public_key": public_key.get_untracked(),
                }),
                M::WfSystemSaved,
            ),
            None => (
                "POST",
                "/api/v1/systems".to_owned(),
                json!({
                    "client_id": client_id.get_untracked(),
                    "name": name.get_untracked(),
                    "endpoint": endpoint.get_untracked(),
                    "public_key": public_key.get_untracked(),
                }),
                M::WfSystemRegistered,
            ),
        };
        busy.set(true);
        error.set(None);
        notice.set(None);
        spawn_local(async move {
            let result = rest::send::<Ignored>(method, &path, body).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    clear();
                    notice.set(Some(done));
                    list.refetch();
                }
                Err(f) => error.set(Some(f)),
            }
        });
    };

    view! {
        <PageTitle text=t(M::WfSystemsTitle) />
        <section class="workflow" data-testid="systems-page">
            <h1>{t(M::WfSystemsTitle)}</h1>
            <p class="hint">{t(M::WfSystemsIntro)}</p>
            <Notice text=notice />
            <Transition fallback=super::Loading>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(failure) => EitherOf3::A(view! { <LoadFailure failure /> }),
                        Ok(list) if list.systems.is_empty() => {
                            EitherOf3::B(
                                view! {
                                    <div class="empty-state" data-testid="empty-state">
                                        <p class="empty-title">{t(M::WfNoSystems)}</p>
                                    </div>
                                },
                            )
                        }
                        Ok(list) => {
                            EitherOf3::C(view! { <SystemTable systems=list.systems edit /> })
                        }
                    }
                })}
            </Transition>
            <div class="form-page">
                <h2>
                    {move || {
                        if editing.read().is_some() {
                            t(M::WfEditSystem)
                        } else {
                            t(M::WfRegisterSystem)
                        }
                    }}
                </h2>
                <form method="post" class="form" on:submit=on_submit novalidate data-testid="system-form">
                    <FormError error fields=FIELDS />
                    <Show
                        when=move || editing.read().is_none()
                        fallback=move || {
                            view! {
                                <p class="field">
                                    <strong>{t(M::WfClientId)}</strong>
                                    <code data-testid="editing-client-id">
                                        {move || editing.get().unwrap_or_default()}
                                    </code>
                                </p>
                            }
                        }
                    >
                        <Field
                            name="client_id"
                            label=M::WfClientId
                            value=client_id
                            error
                            autocomplete="off"
                            hint=M::WfClientIdHint
                        />
                    </Show>
                    <Field name="name" label=M::WfSystemName value=name error />
                    <Field
                        name="endpoint"
                        label=M::WfEndpoint
                        value=endpoint
                        error
                        kind="url"
                        hint=M::WfEndpointHint
                    />
                    <Field
                        name="public_key"
                        label=M::WfPublicKey
                        value=public_key
                        error
                        autocomplete="off"
                        hint=M::WfPublicKeyHint
                    />
                    <div class="button-row">
                        <Submit label=M::WfSave busy />
                        <Show when=move || editing.read().is_some()>
                            <button
                                type="button"
                                class="button"
                                data-testid="cancel-edit"
                                on:click=move |_| clear()
                            >
                                {t(M::WfCancel)}
                            </button>
                        </Show>
                    </div>
                </form>
            </div>
        </section>
    }
}

#[component]
fn SystemTable(
    systems: Vec<SystemView>,
    edit: impl Fn(SystemView) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let hydrated = super::forms::use_hydrated();
    let rows = systems
        .into_iter()
        .map(|s| {
            let row = s.clone();
            view! {
                <tr data-testid="system-row" data-client-id=s.client_id.clone()>
                    <td data-label=t(M::WfClientId)>
                        <code>{s.client_id.clone()}</code>
                    </td>
                    <td data-label=t(M::WfSystemName)>{s.name.clone()}</td>
                    <td data-label=t(M::WfEndpoint)>{s.endpoint.clone()}</td>
                    <td data-label=t(M::WfPublicKey)>
                        <code class="key">{s.public_key.clone()}</code>
                    </td>
                    <td data-label=t(M::WfUpdatedAt)>{jst(&s.updated_at)}</td>
                    <td data-label="">
                        <button
                            type="button"
                            class="button button-small"
                            data-testid="edit-system"
                            disabled=move || !hydrated.get()
                            on:click=move |_| edit(row.clone())
                        >
                            {t(M::WfEdit)}
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="rows" data-testid="systems">
            <thead>
                <tr>
                    <th>{t(M::WfClientId)}</th>
                    <th>{t(M::WfSystemName)}</th>
                    <th>{t(M::WfEndpoint)}</th>
                    <th>{t(M::WfPublicKey)}</th>
                    <th>{t(M::WfUpdatedAt)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
