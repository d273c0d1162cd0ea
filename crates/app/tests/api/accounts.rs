use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    a_therapist_signs_up_verifies_signs_in_edits_exports_and_deletes,
    signing_up_with_a_taken_email_answers_as_new_and_tells_the_owner,
    an_unverified_account_cannot_sign_in_and_can_ask_for_a_new_link,
    a_verification_link_works_once_and_expires_after_a_day,
    a_password_reset_link_sets_a_new_password_and_ends_every_session,
    a_new_email_takes_effect_only_from_the_new_address,
    account_email_subjects_carry_no_address,
);

async fn a_therapist_signs_up_verifies_signs_in_edits_exports_and_deletes(app: TestApp) {
    let created = app.sign_up("Ana Ruiz", "ana@example.com").await;
    assert_eq!(created["name"], "Ana Ruiz");
    assert_eq!(created["email"], "ana@example.com");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "ids are UUIDs");

    let token = app.mailed_token("ana@example.com", "/verify-email/");
    let verified = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);

    let login = app.login("ana@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let login: Value = login.json().await.unwrap();
    let bearer = login["token"].as_str().unwrap().to_string();
    assert!(login["expires_at"].as_str().unwrap().ends_with('Z'));

    let me: Value = app
        .get_auth("/api/v1/me", &bearer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["email_verified"], true);

    let patched = app
        .patch_auth(
            "/api/v1/me",
            &bearer,
            &json!({"credential": "LCSW", "license_number": "149-0012", "practice_states": "IL, WI",
                       "bio": "Groups for grief and loss.", "time_zone": "America/Chicago"}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let me: Value = app
        .get_auth("/api/v1/me", &bearer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["credential"], "LCSW");
    assert_eq!(me["time_zone"], "America/Chicago");

    let export = app.get_auth("/api/v1/me/export", &bearer).await;
    assert_eq!(export.status(), StatusCode::OK);
    let export: Value = export.json().await.unwrap();
    assert_eq!(export["account"]["id"], id.as_str());
    assert_eq!(export["account"]["license_number"], "149-0012");
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    assert!(
        !export.to_string().contains("argon2"),
        "no password hash in the export"
    );

    let wrong = app
        .delete_auth(
            "/api/v1/me",
            &bearer,
            Some(&json!({"password": "not-my-password-at-all"})),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let deleted = app
        .delete_auth(
            "/api/v1/me",
            &bearer,
            Some(&json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_auth("/api/v1/me", &bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The address is free again.
    app.sign_up("Ana Ruiz", "ana@example.com").await;
}

async fn signing_up_with_a_taken_email_answers_as_new_and_tells_the_owner(app: TestApp) {
    let first = app.sign_up("Ana Ruiz", "ana@example.com").await;
    let again = app
        .post_json(
            "/api/v1/therapists",
            &json!({"name": "Other Person", "email": "ANA@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["email"], "ana@example.com");
    assert_eq!(body["name"], "Other Person");
    assert_ne!(body["id"], first["id"], "no existing id is revealed");
    let mails = app.mail_to("ana@example.com");
    assert_eq!(mails.len(), 2);
    assert!(mails[1].text.contains("You already have one"));
    assert!(!mails[1].text.contains("/verify-email/"));
    // The account is unchanged: the first password still signs in after verification.
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::FORBIDDEN,
        "still the first, unverified account"
    );
}

async fn an_unverified_account_cannot_sign_in_and_can_ask_for_a_new_link(app: TestApp) {
    app.sign_up("Ana Ruiz", "ana@example.com").await;
    let first = app.mailed_token("ana@example.com", "/verify-email/");
    let login = app.login("ana@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["error"]["code"], "email_not_verified");

    let resend = app
        .post_json(
            "/api/v1/auth/resend-verification",
            &json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let second = app.mailed_token("ana@example.com", "/verify-email/");
    assert_ne!(first, second);
    // The newer link replaces the older one.
    let old = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": first }))
        .await;
    assert_eq!(old.status(), StatusCode::GONE);
    let new = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": second }))
        .await;
    assert_eq!(new.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    // Unknown addresses get the same answer.
    let unknown = app
        .post_json(
            "/api/v1/auth/resend-verification",
            &json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
}

async fn a_verification_link_works_once_and_expires_after_a_day(app: TestApp) {
    app.sign_up("Ana Ruiz", "ana@example.com").await;
    let token = app.mailed_token("ana@example.com", "/verify-email/");
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await
            .status(),
        StatusCode::GONE
    );

    app.sign_up("Ben Okafor", "ben@example.com").await;
    let token = app.mailed_token("ben@example.com", "/verify-email/");
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let late = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(late.status(), StatusCode::GONE);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["error"]["code"], "link_expired");
}

async fn a_password_reset_link_sets_a_new_password_and_ends_every_session(app: TestApp) {
    let bearer = app.token_for("ana@example.com").await;
    let asked = app
        .post_json(
            "/api/v1/auth/forgot-password",
            &json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let unknown = app
        .post_json(
            "/api/v1/auth/forgot-password",
            &json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    // The mail goes out from the job queue, so the answer's timing tells nothing.
    assert!(app
        .mail_to("ana@example.com")
        .iter()
        .all(|m| !m.text.contains("/reset-password/")));
    app.run_jobs().await;
    let token = app.mailed_token("ana@example.com", "/reset-password/");

    let weak = app
        .post_json(
            "/api/v1/auth/reset-password",
            &json!({"token": token, "password": "password1234"}),
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let new_password = "quarry-velvet-harbor-88";
    let reset = app
        .post_json(
            "/api/v1/auth/reset-password",
            &json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_auth("/api/v1/me", &bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ana@example.com", new_password).await.status(),
        StatusCode::OK
    );

    let again = app
        .post_json(
            "/api/v1/auth/reset-password",
            &json!({"token": token, "password": "another-fine-phrase-19"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::GONE);
}

async fn a_new_email_takes_effect_only_from_the_new_address(app: TestApp) {
    let bearer = app.token_for("ana@example.com").await;
    app.verified_therapist("taken@example.com").await;
    let taken = app
        .patch_auth(
            "/api/v1/me",
            &bearer,
            &json!({"email": "taken@example.com"}),
        )
        .await;
    // Answered like a free address; the owner of the taken one is told.
    assert_eq!(taken.status(), StatusCode::OK);
    let notice = app.mail_to("taken@example.com");
    assert!(notice.last().unwrap().text.contains("nothing was changed"));
    assert!(app
        .mail_to("taken@example.com")
        .iter()
        .all(|m| !m.text.contains("/confirm-email/")));

    let patched: Value = app
        .patch_auth(
            "/api/v1/me",
            &bearer,
            &json!({"email": "ana.ruiz@example.org"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["email_change_pending"], true);
    assert_eq!(
        patched["email"], "ana@example.com",
        "unchanged until confirmed"
    );

    let link = app.mailed_link("ana.ruiz@example.org", "/confirm-email/");
    let path = link.trim_start_matches(&app.base).to_string();
    let (status, html) = app.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    let me: Value = app
        .get_auth("/api/v1/me", &bearer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["email"], "ana@example.com",
        "opening the link alone changes nothing"
    );
    assert!(html.contains("Confirm new email"));
    let confirmed = app.submit(&path, &path, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let me: Value = app
        .get_auth("/api/v1/me", &bearer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ana.ruiz@example.org");
    assert_eq!(
        app.login("ana.ruiz@example.org", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn account_email_subjects_carry_no_address(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    app.post_json(
        "/api/v1/auth/forgot-password",
        &json!({"email": "ana@example.com"}),
    )
    .await;
    app.run_jobs().await;
    let mails = app.outbox();
    assert_eq!(mails.len(), 2);
    for subject in mails.into_iter().map(|m| m.subject) {
        assert!(!subject.contains('@'), "subject {subject:?} has an address");
        assert!(!subject.contains("Ana"), "subject {subject:?} has a name");
    }
}
