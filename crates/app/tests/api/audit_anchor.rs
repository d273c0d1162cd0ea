//! The audit log's anchor in the key store: cutting off the newest entries,
//! or rewriting the log and recomputing every hash, passes the chain check
//! but not the anchor.

use regroup::audit::{self, anchor, anchor::AnchorCheck, chain};
use reqwest::StatusCode;

use crate::audit::{all_rows, tamper, verify_command};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_entry_the_app_writes_moves_the_anchor,
    removing_the_newest_entries_shows_against_the_anchor,
    a_rewritten_log_with_recomputed_hashes_shows_against_the_anchor,
);

/// A few entries written the way the app writes them (sign-ins, a failure).
async fn some_activity(app: &TestApp) {
    app.token_for("ana@example.com").await;
    let wrong = app.login("ana@example.com", "not-the-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    app.token_for("bo@example.com").await;
}

async fn check(app: &TestApp) -> AnchorCheck {
    anchor::check(app.store(), app.state.keys.store())
        .await
        .unwrap()
}

async fn every_entry_the_app_writes_moves_the_anchor(app: TestApp) {
    assert_eq!(check(&app).await, AnchorCheck::NotAnchored);
    some_activity(&app).await;
    let last = all_rows(app.store()).await.last().unwrap().seq;
    assert_eq!(check(&app).await, AnchorCheck::Holds { seq: last });
}

async fn removing_the_newest_entries_shows_against_the_anchor(app: TestApp) {
    some_activity(&app).await;
    let last = all_rows(app.store()).await.last().unwrap().seq;
    tamper(
        app.store(),
        &[&format!("DELETE FROM audit_log WHERE seq >= {}", last - 1)],
    )
    .await;
    // The chain cannot tell: what is left is a valid, shorter chain.
    assert!(audit::verify(app.store()).await.unwrap().is_intact());
    assert_eq!(
        check(&app).await,
        AnchorCheck::Truncated {
            anchored: last,
            last: Some(last - 2)
        }
    );
}

async fn a_rewritten_log_with_recomputed_hashes_shows_against_the_anchor(app: TestApp) {
    some_activity(&app).await;
    let rows = all_rows(app.store()).await;
    // Someone with write access to the main database changes who signed in
    // first, then recomputes every hash from there on.
    tamper(app.store(), &[]).await;
    let mut prev_hash = chain::GENESIS.to_owned();
    for mut row in rows {
        if row.seq == 1 {
            row.actor_id = Some("someone-else".into());
        }
        let hash = chain::entry_hash(&prev_hash, row.seq, &row.fields());
        sqlx::query("UPDATE audit_log SET actor_id = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&row.actor_id)
            .bind(&prev_hash)
            .bind(&hash)
            .bind(row.seq)
            .execute(app.store().pool())
            .await
            .unwrap();
        prev_hash = hash;
    }
    assert!(audit::verify(app.store()).await.unwrap().is_intact());
    let found = check(&app).await;
    assert!(matches!(found, AnchorCheck::Rewritten { .. }), "{found:?}");
    assert!(!found.holds());
}

/// `regroup audit verify` reads the anchor too and fails on a cut-off log.
#[tokio::test]
async fn the_verify_command_fails_when_the_newest_entries_are_gone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    some_activity(&app).await;
    let run = || verify_command(app.data_dir.path());
    let clean = run().await;
    assert!(clean.status.success(), "{clean:?}");
    assert!(String::from_utf8_lossy(&clean.stdout).contains("matches the anchor"));

    let last = all_rows(app.store()).await.last().unwrap().seq;
    tamper(
        app.store(),
        &[&format!("DELETE FROM audit_log WHERE seq = {last}")],
    )
    .await;
    let cut = run().await;
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(!cut.status.success(), "{cut:?}");
    assert!(
        stderr.contains("does not match its anchor")
            && stderr.contains("newest entries were removed"),
        "{stderr}"
    );
}
