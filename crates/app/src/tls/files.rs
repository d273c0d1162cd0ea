//! A certificate and key from PEM files, read again when they change on disk
//! or on `SIGHUP`, so a renewed certificate (certbot, a secrets manager) is
//! served without a restart. A reload that fails keeps the old pair.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// How often the files' modification times are compared.
const POLL: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct FileCert {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl FileCert {
    /// Reads both files now: a wrong path or a mismatched pair stops the start.
    pub fn load(
        cert: &Path,
        key: &Path,
        provider: Arc<CryptoProvider>,
    ) -> anyhow::Result<Arc<Self>> {
        let current = read_pair(cert, key, &provider)?;
        Ok(Arc::new(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            provider,
            current: RwLock::new(current),
        }))
    }

    /// Reads the files again; on success new handshakes use the new pair.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = read_pair(&self.cert, &self.key, &self.provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    fn modified(&self) -> Option<(SystemTime, SystemTime)> {
        let cert = std::fs::metadata(&self.cert)
            .and_then(|m| m.modified())
            .ok()?;
        let key = std::fs::metadata(&self.key)
            .and_then(|m| m.modified())
            .ok()?;
        Some((cert, key))
    }

    /// Reloads on `SIGHUP` and whenever a file's modification time changes,
    /// until the task is aborted.
    pub async fn watch(self: Arc<Self>) {
        let mut hangup = hangups();
        let mut seen = self.modified();
        let mut tick = tokio::time::interval(POLL);
        loop {
            let signalled = tokio::select! {
                _ = tick.tick() => false,
                () = next_hangup(&mut hangup) => true,
            };
            let now = self.modified();
            if !signalled && now == seen {
                continue;
            }
            seen = now;
            match self.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                // Half-written files during a renewal, or a bad pair: keep serving the old one.
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "TLS certificate not reloaded; the previous one stays")
                }
            }
        }
    }
}

impl ResolvesServerCert for FileCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn read_pair(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> anyhow::Result<Arc<CertifiedKey>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("while reading the certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("while parsing the certificate {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("while reading the private key {}", key.display()))?;
    let certified = CertifiedKey::from_der(chain, key, provider)
        .context("the certificate and the private key do not go together")?;
    Ok(Arc::new(certified))
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangups() -> Hangups {}

#[cfg(unix)]
async fn next_hangup(hangups: &mut Hangups) {
    match hangups {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) {
    std::future::pending().await
}
