//! HTTPS served by Regroup itself (`--tls-cert`, `--tls-key`), with a
//! certificate made for the test.

use std::path::PathBuf;

use regroup::config::TlsFiles;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

struct Files {
    _dir: tempfile::TempDir,
    tls: TlsFiles,
    cert_pem: String,
}

fn self_signed() -> Files {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert: PathBuf = dir.path().join("cert.pem");
    let key: PathBuf = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Files {
        _dir: dir,
        tls: TlsFiles { cert, key },
        cert_pem: made.cert.pem(),
    }
}

#[tokio::test]
async fn the_server_speaks_https_itself_with_secure_cookies_and_hsts() {
    let files = self_signed();
    let tls = files.tls.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.tls = Some(tls);
        // No SMTP server in tests: keep mail in the outbox on purpose.
        config.dev_outbox = true;
    })
    .await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(files.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        health.headers().contains_key("strict-transport-security"),
        "HSTS once the server itself is https"
    );
    // Links in mail and the cookie flags follow the scheme.
    assert!(app
        .state
        .settings
        .public_url
        .as_str()
        .starts_with("https://"));
    let page = client.get(format!("{base}/sign-in")).send().await.unwrap();
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(!cookies.is_empty());
    assert!(cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");

    // Bad input over TLS is answered like over plain HTTP.
    let bad = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Plain HTTP on the TLS port gets no page, and the server goes on.
    let plain = app.api.get(app.url("/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    let again = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_or_mismatched_certificate_stops_the_start_with_a_clear_error() {
    let files = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let mut config = regroup::config::Config::for_data_dir(dir.path().to_path_buf());
    config.tls = Some(TlsFiles {
        cert: dir.path().join("nowhere.pem"),
        key: files.tls.key.clone(),
    });
    let err = regroup::startup::Application::build(config.clone(), regroup::clock::Clock::system())
        .await
        .err()
        .expect("no certificate, no start");
    assert!(format!("{err:#}").contains("nowhere.pem"), "{err:#}");

    let other = self_signed();
    config.tls = Some(TlsFiles {
        cert: files.tls.cert.clone(),
        key: other.tls.key.clone(),
    });
    let err = regroup::startup::Application::build(config, regroup::clock::Clock::system())
        .await
        .err()
        .expect("a key of another certificate, no start");
    assert!(format!("{err:#}").contains("do not go together"), "{err:#}");
}

/// The certificate the server presents now, over a fresh connection.
async fn served_leaf(port: &str, trusted: &[&str]) -> Option<Vec<u8>> {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .tls_info(true)
        .pool_max_idle_per_host(0);
    for pem in trusted {
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    let response = builder
        .build()
        .unwrap()
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .ok()?;
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    Some(info.peer_certificate()?.to_vec())
}

#[tokio::test]
async fn a_renewed_certificate_file_is_served_without_a_restart() {
    let files = self_signed();
    let tls = files.tls.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.tls = Some(tls);
        config.dev_outbox = true;
    })
    .await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let both = [files.cert_pem.as_str()];
    let first = served_leaf(&port, &both)
        .await
        .expect("the first certificate");

    // A half-written renewal (garbage) keeps the old certificate in service.
    std::fs::write(&files.tls.cert, "not a certificate").unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(
        served_leaf(&port, &both).await.as_deref(),
        Some(first.as_slice())
    );

    // The renewed pair is picked up from disk (checked every 5 s).
    let renewed = self_signed();
    std::fs::copy(&renewed.tls.key, &files.tls.key).unwrap();
    std::fs::copy(&renewed.tls.cert, &files.tls.cert).unwrap();
    let trusted = [files.cert_pem.as_str(), renewed.cert_pem.as_str()];
    let since = std::time::Instant::now();
    loop {
        let leaf = served_leaf(&port, &trusted).await.expect("still serving");
        if leaf != first {
            break;
        }
        assert!(
            since.elapsed() < std::time::Duration::from_secs(15),
            "the renewed certificate was not picked up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
