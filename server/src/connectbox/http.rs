//! ConnectBox HTTP API of a provider node: upload a file, follow its conversion, read its receipt.
//!
//! These routes sit outside the 30 s request timeout of the JSON APIs (a several-GB upload takes longer)
//! and read the body as a stream; everything else about errors is the same JSON shape.

use super::{ConnectBox, ConnectBoxError, UploadDataset};
use crate::{api_error::ApiError, node::NodeState};
use axum::{
    Json,
    body::Body,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// The ConnectBox routes; empty when the node has no `[connectbox]`.
pub fn router(state: Arc<NodeState>) -> axum::Router {
    use axum::routing::{get, post};
    if state.connectbox.is_none() {
        return axum::Router::new();
    }
    axum::Router::new()
        .route("/connectbox/datasets/{name}", get(show_dataset))
        .route("/connectbox/datasets/{name}/uploads", post(upload_file))
        .route("/connectbox/uploads/{id}", get(show_upload))
        .route(
            "/connectbox/uploads/{id}/rejects.csv",
            get(download_rejects),
        )
        .with_state(state)
        .layer(axum::middleware::map_response(
            crate::api_error::json_errors,
        ))
}

impl From<ConnectBoxError> for ApiError {
    fn from(e: ConnectBoxError) -> ApiError {
        match e {
            ConnectBoxError::UnknownUpload(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_upload",
                format!("upload {:?} does not exist", crate::api_error::clip(&id)),
            ),
            ConnectBoxError::UnknownDataset(name) => unknown_dataset(&name),
            other => ApiError::internal(crate::dataset::error_chain(&other)),
        }
    }
}

fn unknown_dataset(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_dataset",
        format!(
            "dataset {:?} does not exist on this node: nothing was uploaded",
            crate::api_error::clip(name)
        ),
    )
}

fn connectbox(state: &NodeState) -> Result<&Arc<ConnectBox>, ApiError> {
    state
        .connectbox
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not Found"))
}

/// HTTP Basic against the configured uploaders; every refusal is logged.
async fn authenticate(state: &NodeState, headers: &HeaderMap) -> Result<String, Response> {
    let unauthorized = |why: &str| {
        tracing::warn!(reason = why, "connectbox: upload credential refused");
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "ConnectBox needs an uploader's credentials (HTTP Basic)",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"renkei connectbox\""),
        );
        response
    };
    let cb = connectbox(state).map_err(IntoResponse::into_response)?;
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or_else(|| unauthorized("missing or malformed Basic credentials"))?;
    let (user, password) = credentials
        .split_once(':')
        .ok_or_else(|| unauthorized("malformed Basic credentials"))?;
    let uploader = cb.uploader(user).ok_or_else(|| {
        tracing::warn!(user = %crate::api_error::clip(user), "connectbox: unknown uploader");
        unauthorized("unknown uploader")
    })?;
    // The cache is shared with the requester's local systems: keep the two name spaces apart.
    if state
        .basic_auth
        .check(
            &format!("connectbox:{user}"),
            password,
            &uploader.password_hash,
        )
        .await
    {
        Ok(user.to_owned())
    } else {
        tracing::warn!(user, "connectbox: wrong uploader password");
        Err(unauthorized("wrong password"))
    }
}

/// The dataset `name` if `uploader` may write it: 404 `unknown_dataset` or 403 `dataset_not_writable`.
fn writable<'a>(
    cb: &'a ConnectBox,
    name: &str,
    uploader: &str,
) -> Result<&'a UploadDataset, ApiError> {
    let dataset = cb.dataset(name).ok_or_else(|| {
        tracing::warn!(dataset = %crate::api_error::clip(name), uploader, "connectbox: upload to an unknown dataset refused");
        unknown_dataset(name)
    })?;
    if !dataset.writers.iter().any(|w| w == uploader) {
        tracing::warn!(
            dataset = name,
            uploader,
            "connectbox: upload to a dataset the uploader may not write refused"
        );
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "dataset_not_writable",
            format!("uploader {uploader:?} may not write dataset {name:?}: nothing was uploaded"),
        ));
    }
    Ok(dataset)
}

/// `GET /connectbox/datasets/{name}`: what an upload would go to (the CLI asks before sending a file).
#[utoipa::path(
    get,
    path = "/connectbox/datasets/{name}",
    tag = "connectbox",
    params(("name" = String, Path, description = "Dataset name")),
    security(("uploader_basic" = [])),
    responses(
        (status = 200, description = "The dataset and its current version", body = Object),
    ),
)]
pub async fn show_dataset(
    State(state): State<Arc<NodeState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let uploader = match authenticate(&state, &headers).await {
        Ok(u) => u,
        Err(response) => return response,
    };
    let result = async {
        let cb = connectbox(&state)?;
        let dataset = writable(cb, &name, &uploader)?;
        let active = crate::dataset::active(&state.db, &name)
            .await
            .map_err(ApiError::internal)?;
        Ok::<_, ApiError>(serde_json::json!({
            "name": dataset.name,
            "mode": dataset.mode.as_str(),
            "max_upload_bytes": cb.config.max_upload_bytes,
            "active_version": active.as_ref().map(|v| v.id),
            "records": active.as_ref().map(|v| v.records),
            "published_at": active.as_ref().and_then(|v| v.published_at.clone()),
        }))
    }
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /connectbox/datasets/{name}/uploads?file_name=…`: the body is the file (CSV, XML or ZIP).
/// Answers 202 with the receipt while the conversion runs (200 for a duplicate, which is not applied).
#[utoipa::path(
    post,
    path = "/connectbox/datasets/{name}/uploads",
    tag = "connectbox",
    params(("name" = String, Path, description = "Dataset name"), ("file_name" = String, Query, description = "Plain file name shown in receipts")),
    request_body(content = Vec<u8>, description = "The file: CSV, XML or ZIP, streamed", content_type = "application/octet-stream"),
    security(("uploader_basic" = [])),
    responses(
        (status = 202, description = "Received; conversion runs in the background", body = Object),
        (status = 200, description = "A duplicate of an earlier upload, not applied", body = Object),
    ),
)]
pub async fn upload_file(
    State(state): State<Arc<NodeState>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Everything that can refuse the upload is decided before a byte of the body is read.
    let uploader = match authenticate(&state, &headers).await {
        Ok(u) => u,
        Err(response) => return response,
    };
    match receive(&state, &name, query.as_deref(), &headers, &uploader, body).await {
        Ok((status, receipt, id)) => {
            let mut response = (status, Json(receipt)).into_response();
            if let Ok(location) = HeaderValue::from_str(&format!("/connectbox/uploads/{id}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn receive(
    state: &NodeState,
    name: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    uploader: &str,
    body: Body,
) -> Result<(StatusCode, super::Receipt, String), ApiError> {
    let cb = connectbox(state)?;
    let dataset = writable(cb, name, uploader)?;
    let file_name = file_name(query)?;
    let limit = cb.config.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limit
    {
        tracing::warn!(
            dataset = name,
            uploader,
            length,
            limit,
            "connectbox: upload too large, refused"
        );
        return Err(too_large(length, limit));
    }

    let (id, path) = cb.begin_upload(dataset, uploader, &file_name).await?;
    tracing::info!(upload = %id, dataset = name, uploader, file = %file_name, "connectbox: receiving");
    let (bytes, sha256) = match store_body(body, &path, limit).await {
        Ok(stored) => stored,
        Err(failure) => {
            let _ = tokio::fs::remove_file(&path).await;
            let reason = failure.reason();
            tracing::warn!(upload = %id, dataset = name, uploader, reason = %reason, "connectbox: upload not received");
            cb.receive_failed(&id, &reason).await?;
            return Err(match failure {
                StoreFailure::TooLarge(n) => too_large(n, limit),
                StoreFailure::Client(reason) => ApiError::bad_request("upload_interrupted", reason),
                StoreFailure::Disk(e) => ApiError::internal(format!("storing upload {id}: {e}")),
            });
        }
    };
    if bytes == 0 {
        cb.receive_failed(&id, "the file is empty").await?;
        return Err(ApiError::bad_request(
            "empty_upload",
            "the uploaded file is empty: nothing to convert",
        ));
    }
    let convert = cb.received(&id, bytes, &sha256).await?;
    if convert {
        let cb = cb.clone();
        let task_id = id.clone();
        tokio::spawn(async move {
            // The outcome is on the upload's receipt; the log line is for the operator.
            if let Err(e) = cb.convert(&task_id).await {
                tracing::debug!(upload = %task_id, error = %e, "connectbox: conversion ended with an error");
            }
        });
    }
    let receipt = cb.receipt_of(&cb.get(&id).await?).await?;
    let status = if convert {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, receipt, id))
}

fn too_large(length: u64, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
        format!("the upload has {length} bytes or more; this node accepts at most {limit}"),
    )
}

/// `file_name` from the query string: the name receipts and provenance show. Plain names only.
fn file_name(query: Option<&str>) -> Result<String, ApiError> {
    let mut name = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "file_name" => name = Some(value.into_owned()),
            other => {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    format!(
                        "unknown query parameter {:?}: only file_name is accepted",
                        crate::api_error::clip(other)
                    ),
                ));
            }
        }
    }
    let name = name.unwrap_or_else(|| "upload".to_owned());
    let plain = !name.is_empty()
        && name.chars().count() <= 255
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        && name != "."
        && name != "..";
    if plain {
        Ok(name)
    } else {
        Err(ApiError::bad_request(
            "invalid_parameter",
            format!(
                "file_name {:?}: use a plain file name of 1-255 characters without slashes or control characters",
                crate::api_error::clip(&name)
            ),
        ))
    }
}

enum StoreFailure {
    TooLarge(u64),
    Client(String),
    Disk(std::io::Error),
}

impl StoreFailure {
    fn reason(&self) -> String {
        match self {
            StoreFailure::TooLarge(n) => {
                format!("the upload exceeded the size limit after {n} bytes")
            }
            StoreFailure::Client(e) => e.clone(),
            StoreFailure::Disk(e) => format!("storing the upload failed: {e}"),
        }
    }
}

/// Streams the body to `path` (through `.part`, renamed when complete) and hashes it on the way.
async fn store_body(
    body: Body,
    path: &std::path::Path,
    limit: u64,
) -> Result<(u64, String), StoreFailure> {
    let part = path.with_extension("upload.part");
    let file = tokio::fs::File::create(&part)
        .await
        .map_err(StoreFailure::Disk)?;
    let mut out = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut stream = body.into_data_stream();
    let result = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                StoreFailure::Client(format!("the upload stopped after {total} bytes: {e}"))
            })?;
            total += chunk.len() as u64;
            if total > limit {
                return Err(StoreFailure::TooLarge(total));
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(StoreFailure::Disk)?;
        }
        out.flush().await.map_err(StoreFailure::Disk)?;
        out.get_ref().sync_all().await.map_err(StoreFailure::Disk)?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(e);
    }
    tokio::fs::rename(&part, path)
        .await
        .map_err(StoreFailure::Disk)?;
    Ok((total, hex::encode(hasher.finalize())))
}

/// The upload `id` if `uploader` may write its dataset; otherwise it does not exist for them.
async fn visible_upload(
    state: &NodeState,
    id: &str,
    uploader: &str,
) -> Result<crate::storage::entity::connectbox_upload::Model, ApiError> {
    let cb = connectbox(state)?;
    let upload = cb.get(id).await?;
    let allowed = cb
        .dataset(&upload.dataset)
        .is_some_and(|d| d.writers.iter().any(|w| w == uploader));
    if !allowed {
        tracing::warn!(
            upload = id,
            uploader,
            "connectbox: receipt of another provider's dataset refused"
        );
        return Err(ConnectBoxError::UnknownUpload(id.to_owned()).into());
    }
    Ok(upload)
}

/// `GET /connectbox/uploads/{id}`: the receipt, with progress while the conversion runs.
#[utoipa::path(
    get,
    path = "/connectbox/uploads/{id}",
    tag = "connectbox",
    params(("id" = String, Path, description = "Upload id")),
    security(("uploader_basic" = [])),
    responses(
        (status = 200, description = "The upload and its conversion status", body = Object),
    ),
)]
pub async fn show_upload(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let uploader = match authenticate(&state, &headers).await {
        Ok(u) => u,
        Err(response) => return response,
    };
    let result = async {
        let upload = visible_upload(&state, &id, &uploader).await?;
        let cb = connectbox(&state)?;
        Ok::<_, ApiError>(cb.receipt_of(&upload).await?)
    }
    .await;
    match result {
        Ok(receipt) => Json(receipt).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /connectbox/uploads/{id}/rejects.csv`: every rejected row with its file, line and reason.
#[utoipa::path(
    get,
    path = "/connectbox/uploads/{id}/rejects.csv",
    tag = "connectbox",
    params(("id" = String, Path, description = "Upload id")),
    security(("uploader_basic" = [])),
    responses(
        (status = 200, description = "Rejected rows with reasons", body = String, content_type = "text/csv"),
    ),
)]
pub async fn download_rejects(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let uploader = match authenticate(&state, &headers).await {
        Ok(u) => u,
        Err(response) => return response,
    };
    let result = async {
        let upload = visible_upload(&state, &id, &uploader).await?;
        let cb = connectbox(&state)?;
        let rows = cb.rejects(&upload, None).await?;
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| ApiError::internal(format!("rejects.csv: {e}"));
        out.write_record(["file", "line", "reason"])
            .map_err(csv_error)?;
        for row in rows {
            out.write_record([row.file, row.line.to_string(), row.reason])
                .map_err(csv_error)?;
        }
        out.into_inner()
            .map_err(|e| ApiError::internal(format!("rejects.csv: {e}")))
    }
    .await;
    match result {
        Ok(bytes) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"rejects-{id}.csv\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
