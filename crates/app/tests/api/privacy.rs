use regroup::clients;
use regroup::store::{Backend, ClientRow};
use regroup_vault::FieldContext;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::clients::add_client;
use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    every_touch_of_client_data_is_audited_by_id_only,
    client_names_and_emails_are_never_stored_in_plaintext,
    a_ciphertext_moved_to_another_row_does_not_open,
    after_deleting_the_account_no_key_opens_its_clients_rows,
);

const NAME: &str = "Zelda Quixote-Marlowe";
const EMAIL: &str = "zq.marlowe@example.net";

async fn client_rows(app: &TestApp) -> Vec<ClientRow> {
    sqlx::query_as("SELECT id, owner_id, name_sealed, email_sealed, email_index, created_at, updated_at FROM clients")
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
}

/// Every byte the database holds that a backup would copy, as text.
async fn stored_text(app: &TestApp) -> String {
    match app.state.store.backend() {
        Backend::Sqlite => {
            let mut all = Vec::new();
            for file in ["regroup.db", "regroup.db-wal", "keys.db", "keys.db-wal"] {
                if let Ok(bytes) = std::fs::read(app.data_dir.path().join(file)) {
                    all.extend(bytes);
                }
            }
            String::from_utf8_lossy(&all).to_string()
        }
        Backend::Postgres => {
            let mut all = String::new();
            for table in [
                "accounts",
                "clients",
                "video_sessions",
                "session_participants",
                "jobs",
                "auth_sessions",
                "email_tokens",
                "keystore.data_keys",
            ] {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT CAST(t AS TEXT) FROM {table} t"))
                        .fetch_all(app.state.store.pool())
                        .await
                        .unwrap();
                all.push_str(&rows.join("\n"));
            }
            all
        }
    }
}

async fn client_names_and_emails_are_never_stored_in_plaintext(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let client = add_client(&app, &token, NAME, EMAIL).await;
    app.post_auth(
        "/api/v1/video-sessions",
        &token,
        &json!({"kind": "individual", "title": "Session with Zelda", "notes": "Quixote follow-up",
                      "starts_at": (app.clock.now() + chrono::Duration::hours(3)).to_rfc3339(),
                      "duration_minutes": 50, "time_zone": "UTC", "client_ids": [client["id"]]}),
    )
    .await;
    let stored = stored_text(&app).await;
    assert!(!stored.is_empty());
    for secret in [
        NAME,
        "Zelda",
        "Quixote",
        "Marlowe",
        EMAIL,
        "zq.marlowe",
        "Session with Zelda",
    ] {
        assert!(
            !stored.contains(secret),
            "{secret:?} is stored in plaintext"
        );
    }
    // The therapist's own email is account data, not client data, and is there.
    assert!(stored.contains("ana@example.com"));
}

async fn a_ciphertext_moved_to_another_row_does_not_open(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let first = add_client(&app, &token, NAME, EMAIL).await;
    let second = add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let sealed: String = sqlx::query_scalar("SELECT name_sealed FROM clients WHERE id = $1")
        .bind(first["id"].as_str().unwrap())
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE clients SET name_sealed = $1 WHERE id = $2")
        .bind(&sealed)
        .bind(second["id"].as_str().unwrap())
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let moved = app
        .get_auth(
            &format!("/api/v1/clients/{}", second["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(moved.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = moved.json().await.unwrap();
    assert_eq!(body["error"]["code"], "record_unreadable");
    assert!(!body.to_string().contains("Zelda"));
    // The list still shows every readable client and names the damaged one.
    let list: Value = app
        .get_auth("/api/v1/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["clients"].as_array().unwrap().len(), 1);
    assert_eq!(list["clients"][0]["name"], NAME);
    assert_eq!(list["unreadable"], json!([second["id"]]));
}

async fn after_deleting_the_account_no_key_opens_its_clients_rows(app: TestApp) {
    let ana_token = app.token_for("ana@example.com").await;
    let bea_token = app.token_for("bea@example.com").await;
    add_client(&app, &ana_token, NAME, EMAIL).await;
    add_client(&app, &bea_token, "Ben Okafor", "ben@example.com").await;
    let me: Value = app
        .get_auth("/api/v1/me", &ana_token)
        .await
        .json()
        .await
        .unwrap();
    let ana_id = me["id"].as_str().unwrap().to_string();
    // A backup taken before the deletion keeps Ana's sealed rows.
    let backup: Vec<ClientRow> = client_rows(&app)
        .await
        .into_iter()
        .filter(|r| r.owner_id.as_str() == ana_id)
        .collect();
    assert_eq!(backup.len(), 1);
    let key = app
        .state
        .keys
        .existing_key(&ana_id)
        .await
        .unwrap()
        .expect("Ana has a key");
    assert_eq!(
        clients::open(&key, &backup[0]).unwrap().name,
        NAME,
        "the backup opens while the key exists"
    );
    drop(key);

    let deleted = app
        .delete_auth(
            "/api/v1/me",
            &ana_token,
            Some(&json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    assert!(app
        .state
        .keys
        .existing_key(&ana_id)
        .await
        .unwrap()
        .is_none());
    let remaining = app.state.keys.store().all().await.unwrap();
    assert!(remaining.iter().all(|(owner, _)| owner != &ana_id));
    assert!(!remaining.is_empty(), "Bea's key is still there");
    // With the master key, every key that is left, and either owner, the backup stays shut.
    for (owner, _) in &remaining {
        let other = app.state.keys.existing_key(owner).await.unwrap().unwrap();
        for row in &backup {
            for claimed_owner in [ana_id.as_str(), owner.as_str()] {
                let ctx = FieldContext {
                    owner: claimed_owner,
                    table: "clients",
                    column: "name",
                    row_id: &row.id,
                };
                assert!(other.open_str(&ctx, &row.name_sealed).is_err());
            }
        }
    }
    assert!(
        client_rows(&app)
            .await
            .iter()
            .all(|r| r.owner_id.as_str() != ana_id),
        "live rows are gone too"
    );
}

async fn every_touch_of_client_data_is_audited_by_id_only(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let client = add_client(&app, &token, NAME, EMAIL).await;
    let id = client["id"].as_str().unwrap();
    app.get_auth("/api/v1/clients", &token).await;
    app.get_auth(&format!("/api/v1/clients/{id}"), &token).await;
    app.patch_auth(
        &format!("/api/v1/clients/{id}"),
        &token,
        &json!({"name": "Zelda Q."}),
    )
    .await;
    // A session's detail (its sealed title and notes) is a read too.
    let starts = (app.clock.now() + chrono::Duration::days(1)).to_rfc3339();
    let session: Value = app
        .post_auth(
            "/api/v1/video-sessions",
            &token,
            &json!({"kind": "individual", "starts_at": starts, "duration_minutes": 50,
                    "time_zone": "UTC", "client_ids": [id], "title": "Grief work"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let session_id = session["id"].as_str().unwrap();
    app.get_auth(&format!("/api/v1/video-sessions/{session_id}"), &token)
        .await;
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT action, target_id, source FROM audit_log ORDER BY seq")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    let on_client: Vec<&str> = rows
        .iter()
        .filter(|(_, target, _)| target.as_deref() == Some(id))
        .map(|(action, _, _)| action.as_str())
        .collect();
    for action in ["client_created", "client_read", "client_updated"] {
        assert!(
            on_client.contains(&action),
            "{action} missing from {on_client:?}"
        );
    }
    assert!(rows.iter().any(|(action, _, _)| action == "client_listed"));
    assert!(rows.iter().any(
        |(action, target, _)| action == "session_read" && target.as_deref() == Some(session_id)
    ));
    let text = format!("{rows:?}");
    assert!(!text.contains("Zelda") && !text.contains("marlowe") && !text.contains("Grief"));
    assert!(!text.contains("127.0.0.1"), "only the network is kept");
    let report = regroup::audit::verify(&app.state.store).await.unwrap();
    assert!(report.broken.is_none());
    // The therapist's export carries their clients and their own trail.
    let export: Value = app
        .get_auth("/api/v1/me/export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["clients"][0]["name"], "Zelda Q.");
    assert!(export["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "client_created"));
}
