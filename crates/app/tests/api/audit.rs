use regroup::audit::{self, chain, Action, Actor, AuditEvent, Break, Problem, TargetKind};
use regroup::store::{AuditFields, AuditRow, Backend, Store};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    a_clean_log_after_sign_up_sign_in_and_export_verifies,
    the_log_refuses_updates_and_deletes_from_the_application_role,
    an_edited_row_is_reported_with_its_seq,
    a_deleted_middle_row_is_reported,
    a_forged_row_appended_at_the_end_is_reported,
    a_row_inserted_in_the_middle_is_reported_even_with_a_valid_hash,
    twenty_concurrent_appends_keep_one_unbroken_chain,
    a_log_longer_than_one_page_is_walked_to_the_end,
    the_export_contains_the_therapists_own_trail,
    no_audit_row_holds_an_email_or_a_full_address,
);

pub(crate) async fn all_rows(store: &Store) -> Vec<AuditRow> {
    store.audit_entries_after(0, 10_000).await.unwrap()
}

/// Appends `n` entries straight through the library (no HTTP, no argon2).
async fn fill(store: &Store, n: usize) {
    for i in 0..n {
        let id = format!("account-{i}");
        let event = AuditEvent::new(Actor::therapist(&id), Action::ClientRead)
            .target(TargetKind::Client, "client-1")
            .from_addr([198, 51, 100, 7].into());
        audit::record(store, event, 1_700_000_000 + i as i64)
            .await
            .unwrap();
    }
}

/// Runs SQL as someone with direct database access would: first out of the
/// way go the triggers that stop the application from editing the log.
pub(crate) async fn tamper(store: &Store, statements: &[&str]) {
    let unguard: &[&str] = match store.backend() {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        Backend::Postgres => &["DROP TRIGGER audit_log_append_only ON audit_log"],
    };
    for sql in unguard.iter().chain(statements) {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
}

async fn broken_at(store: &Store) -> Break {
    let report = audit::verify(store).await.unwrap();
    report.broken.expect("the chain should be broken")
}

async fn a_clean_log_after_sign_up_sign_in_and_export_verifies(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let wrong = app.login("ana@example.com", "not-the-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let export = app.get_auth("/api/v1/me/export", &token).await;
    assert_eq!(export.status(), StatusCode::OK);
    let logout = app
        .api
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);

    let actions: Vec<String> = all_rows(app.store())
        .await
        .into_iter()
        .map(|r| r.action)
        .collect();
    // The export reads the client list, and says so.
    assert_eq!(
        actions,
        [
            "sign_in",
            "sign_in_failed",
            "export",
            "client_listed",
            "sign_out"
        ]
    );
    let report = audit::verify(app.store()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 5);
}

async fn the_log_refuses_updates_and_deletes_from_the_application_role(app: TestApp) {
    fill(app.store(), 2).await;
    let pool = app.store().pool();
    let update = sqlx::query("UPDATE audit_log SET action = 'nothing' WHERE seq = 1")
        .execute(pool)
        .await;
    assert!(update.is_err(), "an UPDATE must be refused");
    let delete = sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(pool)
        .await;
    assert!(delete.is_err(), "a DELETE must be refused");
    assert!(audit::verify(app.store()).await.unwrap().is_intact());
}

async fn an_edited_row_is_reported_with_its_seq(app: TestApp) {
    fill(app.store(), 5).await;
    tamper(
        app.store(),
        &["UPDATE audit_log SET target_id = 'client-2' WHERE seq = 3"],
    )
    .await;
    let report = audit::verify(app.store()).await.unwrap();
    assert_eq!(report.entries, 2, "entries 1 and 2 are still intact");
    assert_eq!(
        report.broken,
        Some(Break {
            seq: 3,
            problem: Problem::HashMismatch
        })
    );
}

async fn a_deleted_middle_row_is_reported(app: TestApp) {
    fill(app.store(), 5).await;
    tamper(app.store(), &["DELETE FROM audit_log WHERE seq = 2"]).await;
    assert_eq!(
        broken_at(app.store()).await,
        Break {
            seq: 2,
            problem: Problem::Missing { next_seq: 3 }
        }
    );
}

async fn a_forged_row_appended_at_the_end_is_reported(app: TestApp) {
    fill(app.store(), 3).await;
    let last = all_rows(app.store()).await.pop().unwrap();
    // Points at the real last hash but cannot produce a matching hash of its own.
    let forged = format!(
        "INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, target_kind, target_id, \
         source, prev_hash, hash) VALUES (4, 1700000100, 'operator', 'intruder', 'export', \
         NULL, NULL, NULL, '{}', '{}')",
        last.hash, last.hash
    );
    tamper(app.store(), &[forged.as_str()]).await;
    assert_eq!(
        broken_at(app.store()).await,
        Break {
            seq: 4,
            problem: Problem::HashMismatch
        }
    );
}

async fn a_row_inserted_in_the_middle_is_reported_even_with_a_valid_hash(app: TestApp) {
    fill(app.store(), 5).await;
    let rows = all_rows(app.store()).await;
    // A forger who knows the algorithm makes a perfect entry 3 after the
    // real entry 2, and moves the real entries 3.. one place up.
    let fields = AuditFields {
        at: 1_700_000_002,
        actor_kind: "therapist",
        actor_id: Some("account-2"),
        action: "client_deleted",
        target_kind: Some("client"),
        target_id: Some("client-1"),
        source: None,
    };
    let hash = chain::entry_hash(&rows[1].hash, 3, &fields);
    let forged = format!(
        "INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, target_kind, target_id, \
         source, prev_hash, hash) VALUES (3, 1700000002, 'therapist', 'account-2', \
         'client_deleted', 'client', 'client-1', NULL, '{}', '{hash}')",
        rows[1].hash
    );
    tamper(
        app.store(),
        &[
            "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3",
            "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100",
            forged.as_str(),
        ],
    )
    .await;
    // The forged entry chains; the real one after it no longer does.
    assert_eq!(
        broken_at(app.store()).await,
        Break {
            seq: 4,
            problem: Problem::PrevHashMismatch
        }
    );
}

async fn twenty_concurrent_appends_keep_one_unbroken_chain(app: TestApp) {
    fill(app.store(), 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = app.store().clone();
            tokio::spawn(async move {
                let id = format!("therapist-{i}");
                let event = AuditEvent::new(Actor::therapist(&id), Action::ClientListed);
                audit::record(&store, event, 1_700_000_500).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let report = audit::verify(app.store()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 21);
}

async fn a_log_longer_than_one_page_is_walked_to_the_end(app: TestApp) {
    // verify reads 1000 entries at a time; the break is on the second page.
    fill(app.store(), 1003).await;
    let report = audit::verify(app.store()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 1003);
    tamper(
        app.store(),
        &["UPDATE audit_log SET at = at + 1 WHERE seq = 1002"],
    )
    .await;
    assert_eq!(
        broken_at(app.store()).await,
        Break {
            seq: 1002,
            problem: Problem::HashMismatch
        }
    );
}

async fn the_export_contains_the_therapists_own_trail(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    app.token_for("ben@example.com").await;
    let wrong = app.login("ana@example.com", "not-the-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();

    let export: Value = app
        .get_auth("/api/v1/me/export", &token)
        .await
        .json()
        .await
        .unwrap();
    let trail = export["audit_trail"].as_array().unwrap();
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Ben's sign-in is not Ana's business; her failed attempt and this export are.
    assert_eq!(actions, ["sign_in", "sign_in_failed", "export"]);
    for entry in trail {
        assert_eq!(entry["target_kind"], "account");
        assert_eq!(entry["target_id"], id);
        let at = entry["at"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }
}

async fn no_audit_row_holds_an_email_or_a_full_address(app: TestApp) {
    app.token_for("ana@example.com").await;
    // Unknown account and wrong password answer exactly alike.
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let (status, body) = (unknown.status(), unknown.text().await.unwrap());
    let wrong = app.login("ana@example.com", "not-the-password").await;
    assert_eq!(status, wrong.status());
    assert_eq!(body, wrong.text().await.unwrap());
    // And through the pages, with a sign-out.
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    let signed_out = app.submit("/dashboard", "/sign-out", &[]).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);

    let rows = all_rows(app.store()).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "sign_in",
            "sign_in_failed",
            "sign_in_failed",
            "sign_in",
            "sign_out"
        ]
    );
    assert_eq!(rows[1].target_id, None, "an unknown email targets nothing");
    assert_eq!(rows[2].target_id, rows[0].actor_id);
    for row in &rows {
        let text = format!("{row:?}");
        assert!(!text.contains('@'), "an email in {text}");
        assert!(!text.contains("127.0.0.1"), "a full address in {text}");
        assert_eq!(row.source.as_deref(), Some("127.0.0.0/24"));
    }
}

/// `regroup audit verify` is the one operators run; it must say the same.
#[tokio::test]
async fn the_verify_command_exits_zero_on_a_clean_log_and_names_the_broken_entry() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    fill(app.store(), 3).await;
    let run = || verify_command(app.data_dir.path());

    let clean = run().await;
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{clean:?}");
    assert!(stdout.contains("audit log intact: 3 entries"), "{stdout}");

    tamper(
        app.store(),
        &["UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 2"],
    )
    .await;
    let broken = run().await;
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(!broken.status.success(), "{broken:?}");
    assert!(stderr.contains("audit log broken at entry 2: "), "{stderr}");
}

/// Runs `regroup audit verify` on a data directory, off the async runtime.
pub(crate) async fn verify_command(data_dir: &std::path::Path) -> std::process::Output {
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_regroup"))
            .args(["audit", "verify", "--data-dir"])
            .arg(data_dir)
            .env_remove("REGROUP_DATABASE_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}
