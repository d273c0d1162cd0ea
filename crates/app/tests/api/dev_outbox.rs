//! `/dev/outbox` shows every mail the server wrote (reset links, client
//! invitations), so it exists only on a local plain-http server or when
//! asked for; an https site without SMTP does not start.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn a_local_plain_http_server_lists_its_outbox() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.sign_up("Ana Ruiz", "ana@example.com").await;
    let (status, html) = app.page("/dev/outbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/verify-email/"));
}

#[tokio::test]
async fn a_server_with_a_public_address_does_not_show_its_outbox() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.public_url = Some("http://video.example.org".parse().unwrap());
    })
    .await;
    app.sign_up("Ana Ruiz", "ana@example.com").await;
    let (status, html) = app.page("/dev/outbox").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("verify-email"));
}

#[tokio::test]
async fn the_dev_outbox_flag_shows_it_anywhere() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.public_url = Some("http://video.example.org".parse().unwrap());
        config.dev_outbox = true;
    })
    .await;
    let (status, _) = app.page("/dev/outbox").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_https_public_url_without_smtp_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = regroup::config::Config::for_data_dir(dir.path().to_path_buf());
    config.public_url = Some("https://video.example.org".parse().unwrap());
    let err = regroup::startup::Application::build(config, regroup::clock::Clock::system())
        .await
        .err()
        .expect("https without SMTP does not start");
    let message = format!("{err:#}");
    assert!(message.contains("--smtp-url"), "{message}");
    assert!(message.contains("--dev-outbox"), "{message}");
}
