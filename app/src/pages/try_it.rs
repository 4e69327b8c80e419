//! Try-it on the API detail page: the viewer calls the API through their own organisation's
//! requester node, from the browser. The node's Basic credentials go from the browser to the
//! node only (the node allows the portal's origin through its `cors_origins`); the portal never
//! sees them.

use super::forms::{account_of, use_hydrated};
use crate::i18n::{M, t, use_lang};
use crate::model::encode_component;
use crate::openapi::Operation;
use crate::rest::{self, use_session};
use leptos::either::Either;
use leptos::prelude::*;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
struct SystemBrief {
    endpoint: String,
}

#[derive(Clone, Debug, Deserialize)]
struct Systems {
    systems: Vec<SystemBrief>,
}

/// What the node answered: the status and the body (pretty-printed when JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    body: String,
}

#[component]
pub fn TryIt(provider: String, scopes: Vec<String>, operations: Vec<Operation>) -> impl IntoView {
    let session = use_session();
    view! {
        <section class="try-it" data-testid="try-it">
            <h2>{t(M::TryTitle)}</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let provider = provider.clone();
                    let scopes = scopes.clone();
                    let operations = operations.clone();
                    Suspend::new(async move {
                        match account_of(&session.await) {
                            Some(_) => Either::Left(view! { <TryForm provider scopes operations /> }),
                            None => {
                                Either::Right(
                                    view! {
                                        <p data-testid="try-login">
                                            <a href="/login">{t(M::TryLogin)}</a>
                                        </p>
                                    },
                                )
                            }
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn TryForm(provider: String, scopes: Vec<String>, operations: Vec<Operation>) -> impl IntoView {
    let hydrated = use_hydrated();
    // Handlers run outside the component's context: they take the language from here.
    let lang = use_lang();
    let t_now = move |key: M| key.text(lang);
    if operations.is_empty() {
        return Either::Left(view! { <p class="notice">{t(M::TryNoOperation)}</p> });
    }
    let node_url = RwSignal::new(String::new());
    let no_system = RwSignal::new(false);
    // The endpoint of the organisation's (first) registered system, when there is one.
    let systems = LocalResource::new(|| rest::get::<Systems>("/api/v1/systems"));
    Effect::new(move |_| {
        if let Some(result) = systems.get() {
            match result.ok().and_then(|s| s.systems.into_iter().next()) {
                Some(system) if node_url.get_untracked().is_empty() => {
                    node_url.set(system.endpoint);
                }
                Some(_) => {}
                None => no_system.set(true),
            }
        }
    });
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let chosen = RwSignal::new(0usize);
    let operations = StoredValue::new(operations);
    let values = RwSignal::new(Vec::<(String, String)>::new());
    let selected_scopes = RwSignal::new(scopes.clone());
    let error = RwSignal::new(None::<String>);
    let answer = RwSignal::new(None::<Answer>);
    let busy = RwSignal::new(false);
    let provider = StoredValue::new(provider);

    let path_params = move || {
        operations.with_value(|ops| {
            ops.get(chosen.get())
                .map(|o| {
                    o.parameters
                        .iter()
                        .filter(|p| p.location == "path")
                        .map(|p| p.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let value_of = move |name: &str| {
        values
            .read()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        answer.set(None);
        let url = node_url
            .get_untracked()
            .trim()
            .trim_end_matches('/')
            .to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            error.set(Some(t_now(M::TryBadUrl).to_owned()));
            return;
        }
        let template = operations
            .with_value(|ops| ops.get(chosen.get_untracked()).map(|o| o.path.clone()))
            .unwrap_or_default();
        let vals = values.get_untracked();
        let path = match fill_path(&template, &vals) {
            Ok(path) => path,
            Err(missing) => {
                error.set(Some(format!("{} {missing}", t_now(M::TryMissingParam))));
                return;
            }
        };
        let body = serde_json::json!({
            "provider": provider.get_value(),
            "method": "GET",
            "path": path,
            "scopes": selected_scopes.get_untracked(),
        });
        let auth = format!(
            "Basic {}",
            base64(format!("{}:{}", user.get_untracked(), password.get_untracked()).as_bytes())
        );
        busy.set(true);
        leptos::task::spawn_local(async move {
            match call_node(&format!("{url}/v1/requests"), &auth, &body).await {
                Ok(a) => answer.set(Some(a)),
                Err(()) => error.set(Some(t_now(M::TryNetwork).to_owned())),
            }
            busy.set(false);
        });
    };

    Either::Right(view! {
        <p>{t(M::TryIntro)}</p>
        <form method="post" class="form try-form" data-testid="try-form" on:submit=submit>
            <div class="field">
                <label for="try-node">{t(M::TryNodeUrl)}</label>
                <input
                    id="try-node"
                    type="url"
                    data-testid="try-node-url"
                    autocomplete="off"
                    bind:value=node_url
                />
                {move || {
                    no_system.get().then(|| view! { <p class="field-hint">{t(M::TryNoSystem)}</p> })
                }}
            </div>
            <div class="field">
                <label for="try-user">{t(M::TryUser)}</label>
                <input
                    id="try-user"
                    type="text"
                    data-testid="try-user"
                    autocomplete="off"
                    bind:value=user
                />
            </div>
            <div class="field">
                <label for="try-password">{t(M::TryPassword)}</label>
                <input
                    id="try-password"
                    type="password"
                    data-testid="try-password"
                    autocomplete="off"
                    bind:value=password
                />
            </div>
            <div class="field">
                <label for="try-operation">{t(M::TryOperation)}</label>
                <select
                    id="try-operation"
                    data-testid="try-operation"
                    on:change=move |ev| {
                        chosen.set(event_target_value(&ev).parse().unwrap_or(0));
                    }
                >
                    {operations
                        .with_value(|ops| {
                            ops.iter()
                                .enumerate()
                                .map(|(i, o)| {
                                    view! {
                                        <option value=i.to_string()>
                                            {format!("{} {}", o.method, o.path)}
                                        </option>
                                    }
                                })
                                .collect_view()
                        })}
                </select>
            </div>
            {move || {
                path_params()
                    .into_iter()
                    .map(|name| {
                        let id = format!("try-param-{name}");
                        let testid = id.clone();
                        let label = name.clone();
                        let key = name.clone();
                        view! {
                            <div class="field">
                                <label for=id.clone()>{label}</label>
                                <input
                                    id=id
                                    type="text"
                                    data-testid=testid
                                    autocomplete="off"
                                    prop:value=move || value_of(&key)
                                    on:input=move |ev| {
                                        let v = event_target_value(&ev);
                                        values
                                            .update(|all| {
                                                all.retain(|(n, _)| *n != name);
                                                all.push((name.clone(), v));
                                            });
                                    }
                                />
                            </div>
                        }
                    })
                    .collect_view()
            }}
            <fieldset class="try-scopes">
                <legend>{t(M::TryScopes)}</legend>
                {scopes
                    .into_iter()
                    .map(|scope| {
                        let name = StoredValue::new(scope.clone());
                        view! {
                            <label class="category-option">
                                <input
                                    type="checkbox"
                                    data-testid="try-scope"
                                    value=scope.clone()
                                    prop:checked=move || {
                                        name.with_value(|n| selected_scopes.read().contains(n))
                                    }
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let n = name.get_value();
                                        selected_scopes
                                            .update(|s| {
                                                s.retain(|x| *x != n);
                                                if on {
                                                    s.push(n);
                                                }
                                            });
                                    }
                                />
                                <code>{scope}</code>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <button
                type="submit"
                class="button button-primary"
                data-testid="try-send"
                disabled=move || !hydrated.get() || busy.get()
            >
                {move || if busy.get() { t_now(M::Sending) } else { t_now(M::TrySend) }}
            </button>
        </form>
        {move || {
            error
                .get()
                .map(|e| {
                    view! {
                        <p class="form-error" role="alert" data-testid="try-error">
                            {e}
                        </p>
                    }
                })
        }}
        {move || {
            answer
                .get()
                .map(|a| {
                    view! {
                        <div class="try-answer" data-testid="try-answer" aria-live="polite">
                            <p>
                                {t_now(M::TryStatus)} " "
                                <strong data-testid="try-status">{a.status.to_string()}</strong>
                            </p>
                            <pre>
                                <code data-testid="try-body">{a.body}</code>
                            </pre>
                        </div>
                    }
                })
        }}
    })
}

/// `template` with each `{name}` replaced by its percent-encoded value; `Err(name)` for the first
/// parameter without a value.
fn fill_path(template: &str, values: &[(String, String)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        let value = values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| name.to_owned())?;
        out.push_str(&rest[..start]);
        out.push_str(&encode_component(value));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Standard base64 with padding (for the `Authorization: Basic` header).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Pretty JSON when the body is JSON, else the text as it came.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

#[cfg(feature = "hydrate")]
async fn call_node(url: &str, auth: &str, body: &serde_json::Value) -> Result<Answer, ()> {
    let request = gloo_net::http::Request::post(url)
        .header("authorization", auth)
        .header("accept", "application/json")
        .json(body)
        .map_err(|_| ())?;
    let response = request.send().await.map_err(|_| ())?;
    let status = response.status();
    let text = response.text().await.map_err(|_| ())?;
    Ok(Answer {
        status,
        body: pretty(&text),
    })
}

/// The server never sends it (the form submits only once hydrated).
#[cfg(not(feature = "hydrate"))]
async fn call_node(_url: &str, _auth: &str, _body: &serde_json::Value) -> Result<Answer, ()> {
    let _ = pretty;
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:p@ss/word"), "dXNlcjpwQHNzL3dvcmQ=");
        assert_eq!(base64("法人:x".as_bytes()), "5rOV5Lq6Ong=");
    }

    #[test]
    fn path_parameters_are_filled_encoded_and_missing_ones_named() {
        let values = vec![
            ("number".to_owned(), " 1010001072706 ".to_owned()),
            ("x".to_owned(), "a/b c".to_owned()),
        ];
        assert_eq!(
            fill_path("/v1/corporations/{number}", &values),
            Ok("/v1/corporations/1010001072706".to_owned())
        );
        assert_eq!(
            fill_path("/v/{x}/s", &values),
            Ok("/v/a%2Fb%20c/s".to_owned())
        );
        assert_eq!(
            fill_path("/v/{missing}", &values),
            Err("missing".to_owned())
        );
        assert_eq!(fill_path("/plain", &[]), Ok("/plain".to_owned()));
    }
}
