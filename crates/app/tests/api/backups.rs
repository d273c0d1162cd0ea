//! `regroup backup` and `regroup restore` through the real binary, and the
//! schedule in `serve`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::clients::add_client;
use crate::helpers::{Backend, TestApp, PASSWORD};

/// Runs the binary with no `REGROUP_*` settings from the surroundings.
fn regroup<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_regroup"));
    for var in [
        "REGROUP_DATA_DIR",
        "REGROUP_DATABASE_URL",
        "REGROUP_MASTER_KEY",
        "REGROUP_BACKUP_KEY",
        "REGROUP_BACKUP_DIR",
        "REGROUP_BACKUP_KEEP",
    ] {
        command.env_remove(var);
    }
    command.args(args).output().expect("the binary runs")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails with exit code 1; returns what it said on standard error.
fn failed(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn backup(data_dir: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        OsStr::new("backup"),
        OsStr::new("--data-dir"),
        data_dir.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    succeeded(&regroup(args))
}

fn restore(data_dir: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        OsStr::new("restore"),
        file.as_os_str(),
        OsStr::new("--data-dir"),
        data_dir.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    regroup(args)
}

/// The backups in `dir`, oldest first.
fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("backup")))
        .collect();
    files.sort();
    files
}

/// What an operator copies to a new machine besides the backup: the master
/// key, the key store as it is now, and the backup key.
fn copy_keys(from: &Path, to: &Path) {
    for name in ["master.key", "keys.db", "keys.db-wal", "backup.key"] {
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }
}

async fn actions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(app.store().pool())
        .await
        .unwrap()
}

async fn client_names(app: &TestApp, token: &str) -> Vec<String> {
    let list: Value = app
        .get_auth("/api/v1/clients", token)
        .await
        .json()
        .await
        .unwrap();
    let mut names: Vec<String> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn delete_account(app: &TestApp, token: &str) {
    let deleted = app
        .delete_auth("/api/v1/me", token, Some(&json!({ "password": PASSWORD })))
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

async fn spawn_on(dir: &Path) -> TestApp {
    let dir = dir.to_path_buf();
    TestApp::spawn_with(Backend::Sqlite, move |c| c.data_dir = dir).await
}

#[tokio::test]
async fn a_restored_backup_holds_exactly_the_backed_up_clients_and_no_plaintext_or_keys() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    add_client(&app, &token, "Carla Reyes", "carla@example.com").await;
    let dir = app.data_dir.path();

    let said = backup(dir, &[]);
    assert!(said.contains("wrote"), "{said}");
    let files = backups_in(&dir.join("backups"));
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(&files[0]).unwrap();
    for plain in [
        "Ben Okafor",
        "ben@example.com",
        "ana@example.com",
        "SQLite format 3",
        "data_keys",
    ] {
        assert!(
            !contains(&bytes, plain),
            "{plain} is readable in the backup"
        );
    }
    for (_, wrapped) in app.state.keys.store().all().await.unwrap() {
        assert!(
            !contains(&bytes, &wrapped),
            "a wrapped data key is in the backup"
        );
    }
    add_client(&app, &token, "Dan Park", "dan@example.com").await;

    let elsewhere = tempfile::tempdir().unwrap();
    copy_keys(dir, elsewhere.path());
    let said = succeeded(&restore(elsewhere.path(), &files[0], &[]));
    assert!(said.contains("1 accounts, 2 clients"), "{said}");

    let refused = failed(&restore(elsewhere.path(), &files[0], &[]));
    assert!(
        refused.contains("already exists") && refused.contains("--force"),
        "{refused}"
    );

    let restored = spawn_on(elsewhere.path()).await;
    let token = restored.fresh_token("ana@example.com").await;
    assert_eq!(
        client_names(&restored, &token).await,
        ["Ben Okafor", "Carla Reyes"]
    );
}

#[tokio::test]
async fn a_therapist_deleted_after_a_backup_stays_unreadable_when_it_is_restored() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ana = app.token_for("ana@example.com").await;
    add_client(&app, &ana, "Ben Okafor", "ben@example.com").await;
    let bea = app.token_for("bea@example.com").await;
    add_client(&app, &bea, "Carla Reyes", "carla@example.com").await;
    let dir = app.data_dir.path();
    backup(dir, &[]);
    delete_account(&app, &bea).await;

    let elsewhere = tempfile::tempdir().unwrap();
    copy_keys(dir, elsewhere.path());
    let file = &backups_in(&dir.join("backups"))[0];
    let said = succeeded(&restore(elsewhere.path(), file, &[]));
    assert!(said.contains("2 accounts, 2 clients"), "{said}");
    // The key store's audit anchor had moved past the backup (the deletion
    // was audited); the restore points it at the restored log's end.
    assert!(said.contains("anchor now points at entry"), "{said}");
    let verified = succeeded(&regroup(vec![
        OsStr::new("audit"),
        OsStr::new("verify"),
        OsStr::new("--data-dir"),
        elsewhere.path().as_os_str(),
    ]));
    assert!(verified.contains("matches the anchor"), "{verified}");

    let restored = spawn_on(elsewhere.path()).await;
    // Both logs say what the tools did (after the snapshot, so the backup
    // itself is recorded only in the log that went on).
    assert!(actions(&app).await.contains(&"backup_made".to_string()));
    let restored_actions = actions(&restored).await;
    assert!(restored_actions.ends_with(&["backup_restored".to_string()]));
    assert!(!restored_actions.contains(&"backup_made".to_string()));
    let ana = restored.fresh_token("ana@example.com").await;
    assert_eq!(client_names(&restored, &ana).await, ["Ben Okafor"]);
    // Bea's rows came back with the backup, but her data key did not.
    let bea = restored.fresh_token("bea@example.com").await;
    let list = restored.get_auth("/api/v1/clients", &bea).await;
    assert_eq!(list.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = list.json().await.unwrap();
    assert_eq!(body["error"]["code"], "record_unreadable");
}

#[tokio::test]
async fn rotation_keeps_only_the_newest_backups() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = app.data_dir.path();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("kept");
    let mut made = Vec::new();
    for _ in 0..4 {
        let said = backup(dir, &["--keep", "2", "--backup-dir", out.to_str().unwrap()]);
        made.push(said);
    }
    let left = backups_in(&out);
    assert_eq!(left.len(), 2);
    for (file, said) in left.iter().zip(&made[2..]) {
        assert!(said.contains(file.to_str().unwrap()), "{said}");
    }
    assert!(made[3].contains("deleted old backup"), "{}", made[3]);
    assert!(!dir.join("backups").exists());
}

#[tokio::test]
async fn a_tampered_truncated_or_foreign_backup_is_refused_and_restores_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let dir = app.data_dir.path();
    backup(dir, &[]);
    let good = std::fs::read(&backups_in(&dir.join("backups"))[0]).unwrap();

    let elsewhere = tempfile::tempdir().unwrap();
    copy_keys(dir, elsewhere.path());
    let bad = elsewhere.path().join("bad.backup");
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    for damaged in [flipped, good[..good.len() - 100].to_vec()] {
        std::fs::write(&bad, damaged).unwrap();
        let said = failed(&restore(elsewhere.path(), &bad, &[]));
        assert!(
            said.contains("was refused") && said.contains("altered or truncated"),
            "{said}"
        );
        assert!(!elsewhere.path().join("regroup.db").exists());
    }

    // Another machine's backup key opens nothing.
    let stranger = tempfile::tempdir().unwrap();
    std::fs::write(&bad, &good).unwrap();
    let other_key = regroup_vault::BackupKey::generate();
    let output = regroup([
        OsStr::new("restore"),
        bad.as_os_str(),
        OsStr::new("--data-dir"),
        stranger.path().as_os_str(),
        OsStr::new("--backup-key"),
        OsStr::new(other_key.to_base64().as_str()),
    ]);
    assert!(failed(&output).contains("was refused"));
    assert!(!stranger.path().join("regroup.db").exists());
    let leftovers: Vec<_> = std::fs::read_dir(stranger.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn the_server_backs_up_once_per_interval_on_its_own() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.backup.every = Some(Duration::from_secs(3600));
    })
    .await;
    let out = app.data_dir.path().join("backups");
    // The first check runs as the server starts.
    for _ in 0..100 {
        if out.exists() && backups_in(&out).len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(backups_in(&out).len(), 1);

    // The slot is taken: another node (or a restart) does not back up again.
    let plan = regroup::backup::BackupPlan::from_config(app.config()).unwrap();
    let every = Duration::from_secs(3600);
    let again = regroup::backup::schedule::backup_if_due(&app.state, &plan, every).await;
    assert!(again.unwrap().is_none());
    app.clock.advance(chrono::Duration::hours(1));
    let next = regroup::backup::schedule::backup_if_due(&app.state, &plan, every).await;
    assert!(next.unwrap().is_some());
    assert_eq!(backups_in(&out).len(), 2);
}

/// PostgreSQL: `pg_dump` without the key store, `pg_restore` back.
#[tokio::test]
async fn a_postgres_backup_restores_the_backed_up_clients_and_keeps_shredded_ones_unreadable() {
    let mut app = TestApp::spawn(Backend::Postgres).await;
    let ana = app.token_for("ana@example.com").await;
    add_client(&app, &ana, "Ben Okafor", "ben@example.com").await;
    let bea = app.token_for("bea@example.com").await;
    add_client(&app, &bea, "Carla Reyes", "carla@example.com").await;
    let dir = app.data_dir.path().to_path_buf();
    let url = app.config().given_database_url().unwrap().to_owned();

    backup(&dir, &["--database-url", &url]);
    let file = backups_in(&dir.join("backups"))[0].clone();
    let bytes = std::fs::read(&file).unwrap();
    for plain in ["Ben Okafor", "ana@example.com", "PGDMP", "keystore"] {
        assert!(
            !contains(&bytes, plain),
            "{plain} is readable in the backup"
        );
    }
    add_client(&app, &ana, "Dan Park", "dan@example.com").await;
    delete_account(&app, &bea).await;

    let refused = failed(&restore(&dir, &file, &["--database-url", &url]));
    assert!(refused.contains("already holds tables"), "{refused}");
    let said = succeeded(&restore(&dir, &file, &["--database-url", &url, "--force"]));
    assert!(said.contains("2 accounts, 2 clients"), "{said}");

    app.restart().await;
    let ana = app.fresh_token("ana@example.com").await;
    assert_eq!(client_names(&app, &ana).await, ["Ben Okafor"]);
    let bea = app.fresh_token("bea@example.com").await;
    let list = app.get_auth("/api/v1/clients", &bea).await;
    let body: Value = list.json().await.unwrap();
    assert_eq!(body["error"]["code"], "record_unreadable");
}
