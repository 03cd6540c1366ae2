//! TLS on the REST listeners, with rustls. Flink's switches (`security.ssl.rest.enabled`,
//! `security.ssl.rest.authentication-enabled` for mutual TLS) with PEM files instead of Java
//! keystores: the server's certificate chain, its private key (PKCS#8, PKCS#1 or SEC1), and for
//! mutual TLS the CA certificates a client's certificate must chain to.
//!
//! [`server_config`] turns the files into one rustls configuration, shared by every listener;
//! every problem with a file is an error naming the file and what is wrong with it, at start-up.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The PEM files of a TLS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The certificate's private key.
    pub private_key: PathBuf,
    /// Mutual TLS: clients must present a certificate issued by one of these CAs.
    pub client_cas: Option<PathBuf>,
}

/// A listener's TLS, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// Whether clients must present a certificate.
    pub mutual: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls {{ mutual: {} }}", self.mutual)
    }
}

/// Makes [`provider`] the process default, for clients (reqwest) that take rustls's default
/// rather than one handed to them; harmless when a default is already set.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The crypto weir uses (ring: no C toolchain beyond what the build already needs).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the certificates of a PEM file; `what` names the option, for errors.
pub fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{what}: cannot read {shown}: {e}"))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: {shown} is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{what}: {shown} holds no certificate (expected PEM '-----BEGIN CERTIFICATE-----' blocks)"
        ));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| format!("security.ssl.rest.private-key: cannot read {shown}: {e}"))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        format!(
            "security.ssl.rest.private-key: {shown} holds no usable private key ({e}); expected an unencrypted PEM key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
        )
    })
}

/// One rustls server configuration from `files`, offering HTTP/1.1.
pub fn server_config(files: &TlsFiles) -> Result<Tls, String> {
    let chain = certificates(&files.certificate, "security.ssl.rest.certificate")?;
    let key = private_key(&files.private_key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match &files.client_cas {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(path, "security.ssl.rest.trust-certificates")? {
                roots.add(cert).map_err(|e| {
                    format!(
                        "security.ssl.rest.trust-certificates: a certificate in {} is not a usable CA: {e}",
                        path.display()
                    )
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| format!("security.ssl.rest.trust-certificates: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "security.ssl.rest.certificate and security.ssl.rest.private-key do not go together: {e}"
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        mutual: files.client_cas.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named_with_what_is_wrong() {
        let dir = std::env::temp_dir().join(format!("weir-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let files = TlsFiles {
            certificate: not_pem.clone(),
            private_key: not_pem.clone(),
            client_cas: None,
        };
        let e = server_config(&files).unwrap_err();
        assert!(
            e.contains("security.ssl.rest.certificate") && e.contains("no certificate"),
            "{e}"
        );
        let files = TlsFiles {
            certificate: dir.join("missing.pem"),
            ..files
        };
        let e = server_config(&files).unwrap_err();
        assert!(
            e.contains("cannot read") && e.contains("missing.pem"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
