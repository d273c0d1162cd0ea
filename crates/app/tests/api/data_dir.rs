//! The data directory and every file the server writes in it (databases and
//! their -wal/-shm, keys.db, master key, outbox mail, backups) are private to
//! the server's user: 0700 and 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::helpers::{Backend, TestApp};

fn modes_under(dir: &Path, found: &mut Vec<(String, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        found.push((
            path.display().to_string(),
            meta.permissions().mode() & 0o777,
        ));
        if meta.is_dir() {
            modes_under(&path, found);
        }
    }
}

#[tokio::test]
async fn the_data_directory_and_everything_in_it_are_private() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.backup.every = Some(Duration::from_secs(3600));
    })
    .await;
    let token = app.token_for("ana@example.com").await;
    crate::clients::add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let plan = regroup::backup::BackupPlan::from_config(app.config()).unwrap();
    app.clock.advance(chrono::Duration::hours(2));
    regroup::backup::schedule::backup_if_due(&app.state, &plan, Duration::from_secs(3600))
        .await
        .unwrap();

    let dir = app.data_dir.path();
    let mut found = vec![(
        dir.display().to_string(),
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
    )];
    modes_under(dir, &mut found);
    let names: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    for expected in ["regroup.db-wal", "keys.db", "master.key", ".eml", ".backup"] {
        assert!(
            names.iter().any(|n| n.ends_with(expected)),
            "no {expected} among {names:?}"
        );
    }
    for (path, mode) in &found {
        let is_dir = std::fs::metadata(path).unwrap().is_dir();
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{path} is {mode:o}");
    }
}
