//! TLS: the node and portal listeners (rustls with the ring provider, served through axum-server), the
//! extra roots a node trusts for its peers and portal, and the demo's private CA made at first start.

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

/// A listener's certificate chain and private key, both PEM files.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct TlsFiles {
    /// The server certificate first, then its intermediates.
    pub cert_file: PathBuf,
    /// PKCS#8, PKCS#1 or SEC1 private key.
    pub key_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {what}", path.display())]
    Pem { path: PathBuf, what: String },
    #[error("certificate {} does not match key {}: {source}", cert.display(), key.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("making a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Makes ring the process's rustls provider (for listeners and for reqwest), once.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The certificates of a PEM file; an error names the file when it holds none or is malformed.
pub fn certificates(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: format!("not a PEM certificate file ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            what: "holds no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// The rustls server configuration of a listener: HTTP/2 and HTTP/1.1, no client certificates
/// (nodes authenticate each other by signed request tokens).
pub fn server_config(files: &TlsFiles) -> Result<RustlsConfig, TlsError> {
    use rustls::pki_types::{PrivateKeyDer, pem::PemObject};
    install_crypto_provider();
    let certs = certificates(&files.cert_file)?;
    let key_bytes = read(&files.key_file)?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| TlsError::Pem {
        path: files.key_file.clone(),
        what: format!("no private key found ({e})"),
    })?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Mismatch {
            cert: files.cert_file.clone(),
            key: files.key_file.clone(),
            source,
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(config)))
}

/// A plain HTTP client (system roots only) with the crypto provider in place; building a
/// `reqwest::Client` before a provider is installed panics.
pub fn http_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::new()
}

/// An HTTP client builder that also trusts the CA certificates in `ca_file` (beside the system's).
pub fn client_builder(ca_file: Option<&Path>) -> Result<reqwest::ClientBuilder, TlsError> {
    install_crypto_provider();
    let builder = reqwest::Client::builder();
    let Some(path) = ca_file else {
        return Ok(builder);
    };
    let roots = certificates(path)?
        .iter()
        .map(|der| reqwest::Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: format!("unusable CA certificate ({e})"),
        })?;
    Ok(builder.tls_certs_merge(roots))
}

/// Serves `app` on `listener` until `stop` resolves, over TLS when `tls` is given. Handlers see the
/// peer's socket address (`ConnectInfo<SocketAddr>`) either way.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<RustlsConfig>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                stop.await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, config)?
                .handle(handle)
                .serve(app)
                .await
        }
    }
}

/// The demo's TLS material in `dir`, made at first start: a private CA (`ca.pem`; its key is not kept)
/// and one certificate for `localhost` and `127.0.0.1` signed by it, which every demo listener uses.
pub struct DemoPki {
    pub ca_file: PathBuf,
    pub server: TlsFiles,
}

impl DemoPki {
    pub fn load_or_generate(dir: &Path) -> Result<DemoPki, TlsError> {
        let pki = DemoPki {
            ca_file: dir.join("ca.pem"),
            server: TlsFiles {
                cert_file: dir.join("server.pem"),
                key_file: dir.join("server.key.pem"),
            },
        };
        if pki.ca_file.exists() && pki.server.cert_file.exists() && pki.server.key_file.exists() {
            return Ok(pki);
        }
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "renkei demo CA (made at first start)");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let key = KeyPair::generate()?;
        let mut leaf =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "renkei demo listener");
        let leaf = leaf.signed_by(&key, &ca)?;
        let write = |path: &Path, text: &str, private: bool| -> Result<(), TlsError> {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            if private {
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            }
            let _ = private;
            options
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|source| TlsError::Write {
                    path: path.to_owned(),
                    source,
                })
        };
        write(&pki.server.key_file, &key.serialize_pem(), true)?;
        write(&pki.server.cert_file, &leaf.pem(), false)?;
        write(&pki.ca_file, &ca.pem(), false)?;
        Ok(pki)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsFiles {
            cert_file: dir.path().join("nope.pem"),
            key_file: dir.path().join("nope.key"),
        };
        let e = server_config(&missing).err().unwrap().to_string();
        assert!(e.starts_with("reading ") && e.contains("nope.pem"), "{e}");

        let text = dir.path().join("text.pem");
        std::fs::write(&text, "not a certificate\n").unwrap();
        let e = server_config(&TlsFiles {
            cert_file: text.clone(),
            key_file: text.clone(),
        })
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("text.pem: holds no CERTIFICATE block"), "{e}");

        // A certificate with somebody else's key.
        let pki = DemoPki::load_or_generate(dir.path()).unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let other_key = dir.path().join("other.key.pem");
        std::fs::write(&other_key, other.serialize_pem()).unwrap();
        let e = server_config(&TlsFiles {
            cert_file: pki.server.cert_file.clone(),
            key_file: other_key,
        })
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("does not match key"), "{e}");
        assert!(server_config(&pki.server).is_ok());
    }
}
