//! Portal web UI over HTTP: Leptos pages (SSR), their server functions, the browser bundle and the stylesheet.

use axum::{
    Router,
    body::Body,
    extract::Path,
    http::{HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list, render_app_async_with_context,
};
use renkei_app::{
    App, UiSettings,
    model::PortalData,
    rest::{ServerRest, ServerRestHandle},
    shell,
};
use std::{
    path::{Path as FsPath, PathBuf},
    sync::{Arc, Once, OnceLock},
};
use tower_http::services::ServeDir;

/// wasm-bindgen's `--out-name`: the bundle is `pkg/renkei.js` + `pkg/renkei_bg.wasm`.
pub const OUTPUT_NAME: &str = "renkei";
/// Where `scripts/build-ui.sh` puts the bundle, relative to the repository root.
pub const DEFAULT_SITE_ROOT: &str = "target/site";
const SITE_PKG_DIR: &str = "pkg";
const STYLE_CSS: &str = include_str!("../../style/main.css");

/// Every UI route: the pages, `/ui/fn/*` server functions, `/pkg/*` (the browser bundle from
/// `site_root/pkg`), `/style.css`, `/apis/{slug}/openapi.json`, and a 404 page for anything else.
pub fn ui_router(data: Arc<dyn PortalData>, site_root: PathBuf) -> Router {
    ui_router_with(data, site_root, UiSettings::default())
}

/// [`ui_router`] with the deployment's settings (the environment banner).
pub fn ui_router_with(
    data: Arc<dyn PortalData>,
    site_root: PathBuf,
    settings: UiSettings,
) -> Router {
    ui_router_with_rest(data, site_root, settings, None)
}

/// [`ui_router_with`] plus the portal's own REST routes, which pages read in-process while they
/// render (systems, published APIs, applications: the logged-in user's data is in the HTML).
pub fn ui_router_with_rest(
    data: Arc<dyn PortalData>,
    site_root: PathBuf,
    settings: UiSettings,
    rest: Option<Arc<dyn ServerRest>>,
) -> Router {
    warn_if_bundle_missing(&site_root);
    let options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir(SITE_PKG_DIR)
        .build();

    let context = {
        let data = data.clone();
        move || {
            provide_context(data.clone());
            provide_context(settings.clone());
            if let Some(rest) = &rest {
                provide_context(ServerRestHandle(rest.clone()));
            }
        }
    };
    let app = {
        let options = options.clone();
        move || shell(options.clone())
    };
    let render_not_found = render_app_async_with_context(context.clone(), app.clone());

    Router::new()
        .route("/style.css", get(style_css))
        .route(
            "/apis/{slug}/openapi.json",
            get(move |Path(slug): Path<String>| download_openapi(data.clone(), slug)),
        )
        .nest_service(
            "/pkg",
            ServeDir::new(site_root.join(SITE_PKG_DIR)).precompressed_gzip(),
        )
        .leptos_routes_with_context(&options, route_list(), context, app)
        .fallback(move |req: Request<Body>| {
            let render = render_not_found.clone();
            async move {
                // The app's router renders its not-found view for unknown paths; the status is
                // forced here in case a future page forgets to set it.
                let mut response = render(req).await;
                if response.status() == StatusCode::OK {
                    *response.status_mut() = StatusCode::NOT_FOUND;
                }
                response
            }
        })
        .with_state(options)
}

/// The app's routes, found by rendering it once with resource loading switched off.
///
/// That switch is process-wide in Leptos 0.8 (`SuppressResourceLoad` is a global flag): a page
/// rendering on another thread meanwhile would never load its data and never answer. So the
/// list is made once per process, before the first UI router exists, and reused after.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Pages still render without the bundle (server-side only, no interactivity), so a missing
/// bundle is a warning, said once per process.
fn warn_if_bundle_missing(site_root: &FsPath) {
    static WARNED: Once = Once::new();
    let js = site_root
        .join(SITE_PKG_DIR)
        .join(format!("{OUTPUT_NAME}.js"));
    if !js.is_file() {
        WARNED.call_once(|| {
            tracing::warn!(
                path = %js.display(),
                "browser bundle not found: pages render without interactivity; run scripts/build-ui.sh"
            );
        });
    }
}

async fn style_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLE_CSS,
    )
}

#[derive(Debug, thiserror::Error)]
enum DownloadError {
    #[error("{0}")]
    NotFound(String),
    #[error("could not read the API catalogue: {0}")]
    Data(String),
}

impl IntoResponse for DownloadError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Data(message) => {
                tracing::error!(error = %message, "OpenAPI download failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = serde_json::json!({ "error": { "message": self.to_string() } });
        (status, axum::Json(body)).into_response()
    }
}

/// The API's OpenAPI document as a file download.
async fn download_openapi(
    data: Arc<dyn PortalData>,
    slug: String,
) -> Result<Response, DownloadError> {
    let detail = data
        .api_detail(slug.clone())
        .await
        .map_err(DownloadError::Data)?
        .ok_or_else(|| DownloadError::NotFound(renkei_app::api::not_found_message(&slug)))?;
    // The slug is URL-safe by contract; filter anyway so it can never break the header.
    let file_slug: String = slug
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{file_slug}.openapi.json\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        detail.openapi_json,
    )
        .into_response())
}

/// The portal's REST routes (accounts + workflow) called in-process by pages while they render:
/// `GET path` with the page request's cookies, so the session and every permission check are the
/// API's own.
pub struct InProcessRest(pub Router);

/// Largest REST answer a page reads in-process (lists are capped well below this).
const IN_PROCESS_BODY_LIMIT: usize = 8 * 1024 * 1024;

impl ServerRest for InProcessRest {
    fn get(
        &self,
        path: String,
        cookie: Option<String>,
    ) -> std::pin::Pin<Box<dyn Future<Output = (u16, String)> + Send + 'static>> {
        use tower::ServiceExt;
        let router = self.0.clone();
        Box::pin(async move {
            let mut request = Request::get(&path).header(header::ACCEPT, "application/json");
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            let failed = |why: String| {
                let body = serde_json::json!({ "error": { "code": "internal", "message": why } });
                (500, body.to_string())
            };
            let request = match request.body(Body::empty()) {
                Ok(request) => request,
                Err(e) => return failed(format!("{path}: {e}")),
            };
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status().as_u16();
            match axum::body::to_bytes(response.into_body(), IN_PROCESS_BODY_LIMIT).await {
                Ok(bytes) => (status, String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => failed(format!("{path}: {e}")),
            }
        })
    }
}
