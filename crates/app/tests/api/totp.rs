use regroup::auth::totp::code_at;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    an_enrolled_therapist_needs_a_code_that_works_only_once,
    a_recovery_code_signs_in_once,
    the_sign_in_page_asks_for_the_code_after_the_password,
    deleting_an_account_with_totp_needs_the_code,
    the_secret_is_sealed_at_rest_and_secrets_stored_in_clear_are_sealed_on_start,
);

/// Signs the browser in and enrols TOTP through the security page; returns
/// the secret and the recovery codes.
async fn enrol(app: &TestApp, email: &str) -> (String, Vec<String>) {
    app.verified_therapist(email).await;
    assert_eq!(
        app.browser_sign_in(email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let started = app.submit("/security", "/security/totp/start", &[]).await;
    assert_eq!(started.status(), StatusCode::OK);
    let html = started.text().await.unwrap();
    assert!(html.contains("<svg"), "a QR code is shown");
    let marker = "<code class=\"secret\">";
    let start = html.find(marker).unwrap() + marker.len();
    let secret = html[start..].split('<').next().unwrap().to_string();

    let wrong = app
        .submit("/security", "/security/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = code_at(&secret, app.clock.unix()).unwrap();
    let confirmed = app
        .submit("/security", "/security/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let html = confirmed.text().await.unwrap();
    let codes: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    // The confirming code's time step is used up; move on to a fresh one.
    app.clock.advance(chrono::Duration::seconds(30));
    (secret, codes)
}

async fn an_enrolled_therapist_needs_a_code_that_works_only_once(app: TestApp) {
    let (secret, _) = enrol(&app, "ana@example.com").await;
    let without = app.login("ana@example.com", PASSWORD).await;
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
    let body: Value = without.json().await.unwrap();
    assert_eq!(body["error"]["code"], "totp_required");

    let code = code_at(&secret, app.clock.unix()).unwrap();
    let login = |code: String| app.login_with_code("ana@example.com", PASSWORD, code);
    assert_eq!(login(code.clone()).await.status(), StatusCode::OK);
    let replay = login(code).await;
    assert_eq!(
        replay.status(),
        StatusCode::UNAUTHORIZED,
        "a code is accepted once"
    );
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_second_factor");

    app.clock.advance(chrono::Duration::seconds(30));
    let fresh = code_at(&secret, app.clock.unix()).unwrap();
    assert_eq!(login(fresh).await.status(), StatusCode::OK);
}

async fn a_recovery_code_signs_in_once(app: TestApp) {
    let (_, codes) = enrol(&app, "ana@example.com").await;
    let login = |code: &str| app.login_with_code("ana@example.com", PASSWORD, code.to_string());
    assert_eq!(
        login(&codes[0].to_lowercase()).await.status(),
        StatusCode::OK
    );
    assert_eq!(login(&codes[0]).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(login(&codes[1]).await.status(), StatusCode::OK);
}

async fn the_sign_in_page_asks_for_the_code_after_the_password(app: TestApp) {
    let (secret, _) = enrol(&app, "ana@example.com").await;
    app.submit("/dashboard", "/sign-out", &[]).await;
    let step1 = app.browser_sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(step1.status(), StatusCode::SEE_OTHER);
    assert_eq!(step1.headers()["location"], "/sign-in/code");
    // The half-signed-in browser cannot reach the dashboard.
    assert_eq!(app.page("/dashboard").await.0, StatusCode::SEE_OTHER);
    let wrong = app
        .submit("/sign-in/code", "/sign-in/code", &[("code", "123456")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = code_at(&secret, app.clock.unix()).unwrap();
    let step2 = app
        .submit("/sign-in/code", "/sign-in/code", &[("code", &code)])
        .await;
    assert_eq!(step2.status(), StatusCode::SEE_OTHER);
    assert_eq!(step2.headers()["location"], "/dashboard");
    let (status, html) = app.page("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Welcome, Ana Ruiz"));
}

async fn deleting_an_account_with_totp_needs_the_code(app: TestApp) {
    let (secret, _) = enrol(&app, "ana@example.com").await;
    let code = code_at(&secret, app.clock.unix()).unwrap();
    let login: Value = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "ana@example.com", "password": PASSWORD, "totp_code": code}),
        )
        .await
        .json()
        .await
        .unwrap();
    let bearer = login["token"].as_str().unwrap();
    let delete = |body: Value| {
        app.api
            .delete(app.url("/api/v1/me"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
    };
    let without = delete(json!({ "password": PASSWORD })).await.unwrap();
    assert_eq!(without.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = without.json().await.unwrap();
    assert_eq!(body["error"]["field"], "totp_code");
    app.clock.advance(chrono::Duration::seconds(30));
    let code = code_at(&secret, app.clock.unix()).unwrap();
    let with = delete(json!({ "password": PASSWORD, "totp_code": code }))
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::NO_CONTENT);
}

async fn the_secret_is_sealed_at_rest_and_secrets_stored_in_clear_are_sealed_on_start(
    mut app: TestApp,
) {
    let (secret, _) = enrol(&app, "ana@example.com").await;
    let stored = |app: &TestApp| {
        let store = app.store().clone();
        async move {
            let account = store
                .account_by_email("ana@example.com")
                .await
                .unwrap()
                .unwrap();
            account.totp_secret.unwrap()
        }
    };
    let sealed = stored(&app).await;
    assert!(sealed.starts_with("sealed:"), "sealed at rest");
    assert!(!sealed.contains(&secret), "the secret is not in the row");

    // A row from before sealing: the clear secret is sealed when the server
    // starts, and the same authenticator app still works.
    let id = app
        .store()
        .account_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    app.store()
        .replace_totp_secret(&id, &sealed, &secret)
        .await
        .unwrap();
    assert_eq!(stored(&app).await, secret);
    app.restart().await;
    let resealed = stored(&app).await;
    assert!(resealed.starts_with("sealed:") && !resealed.contains(&secret));
    let code = code_at(&secret, app.clock.unix()).unwrap();
    let login = app.login_with_code("ana@example.com", PASSWORD, code).await;
    assert_eq!(login.status(), StatusCode::OK);

    // A sealed value moved to another account does not open there.
    app.verified_therapist("bo@example.com").await;
    let bo = app
        .store()
        .account_by_email("bo@example.com")
        .await
        .unwrap()
        .unwrap();
    app.store()
        .set_pending_totp(&bo.id, &resealed, app.clock.unix())
        .await
        .unwrap();
    app.store()
        .enable_totp(&bo.id, 0, app.clock.unix())
        .await
        .unwrap();
    app.clock.advance(chrono::Duration::seconds(30));
    let code = code_at(&secret, app.clock.unix()).unwrap();
    let refused = app.login_with_code("bo@example.com", PASSWORD, code).await;
    // Tampering, not bad input: the record does not open, and nobody is let in.
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = refused.json().await.unwrap();
    assert!(!body.to_string().contains(&secret));
}
