//! Audit entries of requests are written in batches (group commit): many
//! requests at once must each get an entry of their own, committed and
//! anchored before the answer, in one unbroken chain; a batch that cannot be
//! written fails every request in it.

use regroup::audit::{self, anchor, anchor::AnchorCheck};
use regroup::store::AuditFields;
use reqwest::StatusCode;

use crate::audit::all_rows;
use crate::clients::add_client;
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    concurrent_requests_each_get_their_own_entry_in_one_anchored_chain,
    concurrent_appends_get_distinct_seqs_whose_hashes_are_stored,
    a_batch_that_cannot_be_written_fails_every_request_in_it,
);

fn listed_entries(rows: &[regroup::store::AuditRow]) -> usize {
    rows.iter().filter(|r| r.action == "client_listed").count()
}

async fn concurrent_requests_each_get_their_own_entry_in_one_anchored_chain(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let requests = (0..40).map(|_| app.get_auth("/api/v1/clients", &token));
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let rows = all_rows(app.store()).await;
    assert_eq!(listed_entries(&rows), 40);
    let report = audit::verify(app.store()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    let last = rows.last().unwrap().seq;
    let anchored = anchor::check(app.store(), app.state.keys.store())
        .await
        .unwrap();
    assert_eq!(anchored, AnchorCheck::Holds { seq: last });
}

async fn concurrent_appends_get_distinct_seqs_whose_hashes_are_stored(app: TestApp) {
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let writer = app.state.audit.clone();
            tokio::spawn(async move {
                let id = format!("therapist-{i}");
                let fields = AuditFields {
                    at: 1_700_000_000 + i,
                    actor_kind: "therapist",
                    actor_id: Some(&id),
                    action: "client_listed",
                    target_kind: None,
                    target_id: None,
                    source: None,
                };
                writer.append(&fields).await.unwrap()
            })
        })
        .collect();
    let mut answered = Vec::new();
    for task in tasks {
        answered.push(task.await.unwrap());
    }
    answered.sort();
    let rows = all_rows(app.store()).await;
    let stored: Vec<(i64, String)> = rows
        .iter()
        .filter(|r| r.action == "client_listed")
        .map(|r| (r.seq, r.hash.clone()))
        .collect();
    assert_eq!(answered, stored, "each answer names its own stored entry");
    assert_eq!(stored.len(), 50);
    let report = audit::verify(app.store()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
}

async fn a_batch_that_cannot_be_written_fails_every_request_in_it(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let before = all_rows(app.store()).await.len();
    // The log's table goes away under the running server.
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    sqlx::query(&rename("audit_log", "audit_log_away"))
        .execute(app.store().pool())
        .await
        .unwrap();
    let requests = (0..10).map(|_| app.get_auth("/api/v1/clients", &token));
    for response in futures_util::future::join_all(requests).await {
        assert!(
            response.status().is_server_error(),
            "a request whose entry was not written must fail, got {}",
            response.status()
        );
        let body = response.text().await.unwrap();
        assert!(!body.contains("Ben"), "no client data in a failed answer");
    }
    sqlx::query(&rename("audit_log_away", "audit_log"))
        .execute(app.store().pool())
        .await
        .unwrap();
    let after = app.get_auth("/api/v1/clients", &token).await;
    assert_eq!(after.status(), StatusCode::OK);
    let rows = all_rows(app.store()).await;
    assert_eq!(
        rows.len(),
        before + 1,
        "only the answered request left an entry"
    );
    let report = audit::verify(app.store()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
}
