//! Certificates obtained and renewed by the server itself over ACME
//! (`--acme-domain`, `--acme-email`), with rustls-acme and the TLS-ALPN-01
//! challenge: the validation comes to the HTTPS port itself, so nothing else
//! has to listen on port 80. The account key and certificates are kept in
//! `DATA_DIR/acme`, private like the rest of the data directory, so a restart
//! does not order again; renewal starts when a third of the validity is left.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::server::ResolvesServerCert;
use rustls_acme::caches::DirCache;
use rustls_acme::AcmeConfig;

/// Let's Encrypt's production directory, used unless `--acme-directory` says otherwise.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// What `serve` was told about ACME.
#[derive(Clone, Debug)]
pub struct AcmeSettings {
    pub domains: Vec<String>,
    /// The account's contact; certificate authorities mail expiry warnings there.
    pub email: String,
    pub directory: String,
    /// A PEM root to trust for the directory instead of the usual web roots:
    /// a staging or test authority (pebble) with its own certificate.
    pub directory_root: Option<std::path::PathBuf>,
}

/// Starts ordering (or loading the cached certificate) in the background and
/// returns the resolver handshakes take their certificate from. Until the
/// first certificate arrives, handshakes other than the challenge fail.
pub fn start(
    settings: &AcmeSettings,
    data_dir: &Path,
) -> anyhow::Result<Arc<dyn ResolvesServerCert>> {
    let mut config = AcmeConfig::new(&settings.domains)
        .contact_push(format!("mailto:{}", settings.email))
        .directory(&settings.directory)
        .cache(DirCache::new(data_dir.join("acme")));
    if let Some(root) = &settings.directory_root {
        config = config.client_tls_config(client_trusting(root)?);
    }
    let mut state = config.state();
    let resolver = state.resolver();
    tokio::spawn(async move {
        while let Some(event) = state.next().await {
            match event {
                Ok(ok) => tracing::info!(event = ?ok, "ACME"),
                // The authority's answer says what went wrong (rate limits,
                // a domain that does not point here); ordering is retried.
                Err(err) => tracing::error!(error = %err, "ACME: no certificate yet"),
            }
        }
    });
    Ok(resolver)
}

/// `https://DOMAIN`, with the port unless it is 443: the address people
/// open when no `--public-url` is given.
pub fn public_url(domain: &str, port: u16) -> Option<url::Url> {
    let url = match port {
        443 => format!("https://{domain}"),
        port => format!("https://{domain}:{port}"),
    };
    url::Url::parse(&url).ok()
}

fn client_trusting(root: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(root)
        .with_context(|| format!("while reading the ACME directory's root {}", root.display()))?
    {
        let cert = cert.with_context(|| format!("while parsing {}", root.display()))?;
        roots
            .add(cert)
            .context("the ACME directory's root is not a usable CA certificate")?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("while choosing TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
