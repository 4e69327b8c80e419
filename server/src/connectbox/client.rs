//! The uploader's side (`renkei connectbox upload`): asks the node first, streams the file, waits for the receipt.

use super::Receipt;
use std::{path::Path, time::Duration};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("dataset {dataset:?} was refused by the node ({status} {code}): {message}")]
    Refused {
        dataset: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("reading {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the node answered {status} without a usable body: {body}")]
    Unexpected { status: u16, body: String },
    #[error("{0}")]
    Tls(String),
    #[error("talking to the node")]
    Http(#[from] reqwest::Error),
}

/// Where and as whom to upload.
pub struct Upload<'a> {
    pub node: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    pub dataset: &'a str,
    pub file: &'a Path,
    /// Extra CA certificates (PEM) to trust for an HTTPS node, e.g. the demo's `tls/ca.pem`.
    pub ca_file: Option<&'a Path>,
}

/// Uploads `file` and waits until its conversion has finished (published, duplicate or failed); the
/// receipt says which. `progress` is told each poll while the conversion runs.
pub async fn upload(
    request: &Upload<'_>,
    mut progress: impl FnMut(&Receipt),
) -> Result<Receipt, ClientError> {
    let http = crate::tls::client_builder(request.ca_file)
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let base = request.node.trim_end_matches('/');
    let dataset_path = utf8_percent(request.dataset);
    // Asking first means a wrong dataset is reported before a several-GB body is sent.
    let answer = http
        .get(format!("{base}/connectbox/datasets/{dataset_path}"))
        .basic_auth(request.user, Some(request.password))
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    if !answer.status().is_success() {
        return Err(refused(request.dataset, answer).await);
    }

    let file = tokio::fs::File::open(request.file)
        .await
        .map_err(|source| ClientError::File {
            path: request.file.display().to_string(),
            source,
        })?;
    let length = file
        .metadata()
        .await
        .map_err(|source| ClientError::File {
            path: request.file.display().to_string(),
            source,
        })?
        .len();
    let file_name = request
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".to_owned());
    let answer = http
        .post(format!(
            "{base}/connectbox/datasets/{dataset_path}/uploads?file_name={}",
            utf8_percent(&file_name)
        ))
        .basic_auth(request.user, Some(request.password))
        .header(reqwest::header::CONTENT_LENGTH, length)
        .body(reqwest::Body::from(file))
        .send()
        .await?;
    if !answer.status().is_success() {
        return Err(refused(request.dataset, answer).await);
    }
    let mut receipt: Receipt = parse(answer).await?;
    while !is_final(&receipt.status) {
        progress(&receipt);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let answer = http
            .get(format!("{base}/connectbox/uploads/{}", receipt.id))
            .basic_auth(request.user, Some(request.password))
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(refused(request.dataset, answer).await);
        }
        receipt = parse(answer).await?;
    }
    Ok(receipt)
}

pub fn is_final(status: &str) -> bool {
    matches!(status, "published" | "duplicate" | "failed")
}

async fn parse(answer: reqwest::Response) -> Result<Receipt, ClientError> {
    let status = answer.status().as_u16();
    let body = answer.text().await?;
    serde_json::from_str(&body).map_err(|_| ClientError::Unexpected {
        status,
        body: crate::api_error::clip(&body),
    })
}

async fn refused(dataset: &str, answer: reqwest::Response) -> ClientError {
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.pointer(&format!("/error/{name}")))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => ClientError::Refused {
            dataset: dataset.to_owned(),
            status,
            code,
            message,
        },
        _ => ClientError::Unexpected {
            status,
            body: crate::api_error::clip(&body),
        },
    }
}

/// Dataset names are plain (a-z, 0-9, `-_.`), but a mistyped one must still reach the node intact.
fn utf8_percent(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
