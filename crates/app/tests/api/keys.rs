use reqwest::StatusCode;
use serde_json::Value;

use crate::clients::add_client;
use crate::helpers::{Backend, TestApp};

/// `regroup keys rotate-master` re-wraps every data key: after a restart with
/// the new key file, clients open as before, and the old key opens nothing.
#[tokio::test]
async fn rotating_the_master_key_keeps_clients_readable_and_retires_the_old_key() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let dir = app.data_dir.path().to_path_buf();
    let old_key = std::fs::read_to_string(dir.join("master.key")).unwrap();

    // The rotation waits for the server to stop (see the test below).
    app.stop().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_regroup"))
        .args(["keys", "rotate-master", "--data-dir"])
        .arg(&dir)
        .env_remove("REGROUP_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("re-wrapped 1 data keys"), "{said}");
    let new_key = std::fs::read_to_string(dir.join("master.key")).unwrap();
    assert_ne!(old_key, new_key);
    assert_eq!(
        std::fs::read_to_string(dir.join("master.key.old")).unwrap(),
        old_key
    );

    app.restart().await;
    let token = app.fresh_token("ana@example.com").await;
    let list: Value = app
        .get_auth("/api/v1/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["clients"][0]["name"], "Ben Okafor");

    // The retired key no longer unwraps anything in the key store.
    let old = regroup_vault::MasterKey::from_base64(&old_key).unwrap();
    for (owner, wrapped) in app.state.keys.store().all().await.unwrap() {
        let bytes = base64_decode(&wrapped);
        assert!(old.unwrap(&owner, &bytes).is_err());
    }
}

/// A missing data key is an error about the records, not a crash or another's data.
#[tokio::test]
async fn a_missing_data_key_gives_a_clear_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token_for("ana@example.com").await;
    let client = add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    app.state
        .keys
        .shred(me["id"].as_str().unwrap())
        .await
        .unwrap();
    let one = app
        .get_auth(
            &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(one.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = one.json().await.unwrap();
    assert_eq!(body["error"]["code"], "record_unreadable");
    let list = app.get_auth("/api/v1/clients", &token).await;
    assert_eq!(list.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        app.api
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn rotate_master(app: &TestApp) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_regroup"));
    command
        .args(["keys", "rotate-master", "--data-dir"])
        .arg(app.data_dir.path())
        .env_remove("REGROUP_MASTER_KEY")
        .env_remove("REGROUP_DATABASE_URL");
    if let Some(url) = app.config().given_database_url() {
        command.args(["--database-url", url]);
    }
    command.output().unwrap()
}

crate::on_both_backends!(rotating_the_master_key_is_refused_while_a_server_runs);

async fn rotating_the_master_key_is_refused_while_a_server_runs(mut app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let key = std::fs::read_to_string(app.data_dir.path().join("master.key")).unwrap();
    let refused = rotate_master(&app);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("server is running"), "{said}");
    assert_eq!(
        std::fs::read_to_string(app.data_dir.path().join("master.key")).unwrap(),
        key,
        "nothing changed"
    );
    app.stop().await;
    let done = rotate_master(&app);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

crate::on_both_backends!(a_server_refuses_to_start_with_a_master_key_that_does_not_fit);

async fn a_server_refuses_to_start_with_a_master_key_that_does_not_fit(mut app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    app.stop().await;
    let key_file = app.data_dir.path().join("master.key");
    let right = std::fs::read_to_string(&key_file).unwrap();
    let build = || {
        regroup::startup::Application::build(app.config().clone(), regroup::clock::Clock::system())
    };

    // A missing key file is not silently replaced by a new key.
    std::fs::remove_file(&key_file).unwrap();
    let err = build().await.err().expect("no master key, no start");
    let message = format!("{err:#}");
    assert!(message.contains("master.key is missing"), "{message}");
    assert!(message.contains("put that master.key back"), "{message}");
    assert!(!key_file.exists(), "no new key was made");

    // Another key is named by its fingerprint, with the fix.
    let other = regroup_vault::MasterKey::generate();
    std::fs::write(&key_file, other.to_base64().as_str()).unwrap();
    set_private(&key_file);
    let err = build().await.err().expect("another master key, no start");
    let message = format!("{err:#}");
    assert!(message.contains(&other.fingerprint()), "{message}");
    assert!(message.contains("put back the master key"), "{message}");

    std::fs::write(&key_file, right).unwrap();
    set_private(&key_file);
    assert!(build().await.is_ok(), "the right key starts again");
}

fn set_private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

crate::on_both_backends!(a_deleted_therapists_key_is_not_served_from_the_cache);

/// Listing keeps the unwrapped key in memory for a while; deleting the
/// account destroys the key and must take it out of memory too, or the
/// shredded data would still open in this process.
async fn a_deleted_therapists_key_is_not_served_from_the_cache(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap().to_owned();
    let list = app.get_auth("/api/v1/clients", &token).await;
    assert_eq!(list.status(), StatusCode::OK);
    let cached = app.state.keys.existing_key(&id).await.unwrap();
    assert!(cached.is_some(), "the key is there before the deletion");

    let deleted = app
        .delete_auth(
            "/api/v1/me",
            &token,
            Some(&serde_json::json!({ "password": crate::helpers::PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        app.state.keys.existing_key(&id).await.unwrap().is_none(),
        "a destroyed key must not come back from memory"
    );
    assert!(app.state.keys.store().wrapped(&id).await.unwrap().is_none());
}
