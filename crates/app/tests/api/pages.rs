use reqwest::StatusCode;

use crate::helpers::{csrf_token, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    a_therapist_uses_only_the_pages_from_sign_up_to_deletion,
    opening_a_verification_link_changes_nothing_until_the_button,
    forms_without_the_right_csrf_token_are_refused,
    every_response_carries_the_security_headers,
    the_session_cookie_is_http_only_and_same_site,
    pages_behind_sign_in_send_visitors_to_the_sign_in_page,
    signing_out_everywhere_ends_browser_and_api_sessions,
);

async fn a_therapist_uses_only_the_pages_from_sign_up_to_deletion(app: TestApp) {
    let (status, html) = app.page("/sign-up").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<label for=\"f-email\">"));
    let signed_up = app
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("name", "Ana Ruiz"),
                ("email", "ana@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_up.status(), StatusCode::OK);
    assert!(signed_up.text().await.unwrap().contains("Check your email"));

    let (status, outbox) = app.page("/dev/outbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(outbox.contains("Confirm your email address"));

    let path = app
        .mailed_link("ana@example.com", "/verify-email/")
        .trim_start_matches(&app.base)
        .to_string();
    let verified = app.submit(&path, &path, &[]).await;
    assert_eq!(verified.status(), StatusCode::OK);
    assert!(verified
        .text()
        .await
        .unwrap()
        .contains("Your email is confirmed"));

    let wrong = app
        .browser_sign_in("ana@example.com", "not-my-password-1")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("The email or password is not right."));
    let signed_in = app.browser_sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/dashboard");

    let saved = app
        .submit(
            "/profile",
            "/profile",
            &[
                ("name", "Ana M. Ruiz"),
                ("email", "ana@example.com"),
                ("credential", "LCPC"),
                ("license_number", "180-1"),
                ("practice_states", "IL"),
                ("bio", "Hi"),
                ("time_zone", "America/Chicago"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("Profile saved."));
    let (_, dashboard) = app.page("/dashboard").await;
    assert!(dashboard.contains("Welcome, Ana M. Ruiz"));

    let export = app
        .browser
        .get(app.url("/account/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let doc: serde_json::Value = export.json().await.unwrap();
    assert_eq!(doc["account"]["credential"], "LCPC");

    let refused = app
        .submit(
            "/account/delete",
            "/account/delete",
            &[("password", "wrong-password-here")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = app
        .submit(
            "/account/delete",
            "/account/delete",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(deleted
        .text()
        .await
        .unwrap()
        .contains("Your account is deleted"));
    assert_eq!(app.page("/dashboard").await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser_sign_in("ana@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn opening_a_verification_link_changes_nothing_until_the_button(app: TestApp) {
    app.sign_up("Ana Ruiz", "ana@example.com").await;
    let path = app
        .mailed_link("ana@example.com", "/verify-email/")
        .trim_start_matches(&app.base)
        .to_string();
    for _ in 0..3 {
        let (status, html) = app.page(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Confirm my email"));
    }
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::FORBIDDEN
    );
    app.submit(&path, &path, &[]).await;
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let (status, _) = app.page(&path).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = app.page("/verify-email/not-a-real-token").await;
    assert_eq!(status, StatusCode::GONE);
}

async fn forms_without_the_right_csrf_token_are_refused(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    app.page("/sign-in").await;
    let form = [("email", "ana@example.com"), ("password", PASSWORD)];
    let missing = app
        .browser
        .post(app.url("/sign-in"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let mut forged = form.to_vec();
    forged.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let wrong = app
        .browser
        .post(app.url("/sign-in"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    // The right token from another site's page is refused by its Origin.
    let (_, html) = app.page("/sign-in").await;
    let mut good = form.to_vec();
    let token = csrf_token(&html);
    good.push(("csrf_token", &token));
    let cross = app
        .browser
        .post(app.url("/sign-in"))
        .header("origin", "https://evil.example")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    // Fetch Metadata from another site is refused, even with our Origin.
    for site in ["cross-site", "same-site"] {
        let refused = app
            .browser
            .post(app.url("/sign-in"))
            .header("origin", app.url("").trim_end_matches('/'))
            .header("sec-fetch-site", site)
            .form(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{site}");
    }
    // Our own page, even when the browser sends `Origin: null`, still needs
    // the token.
    let no_token = app
        .browser
        .post(app.url("/sign-in"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    // `Origin: null` without Fetch Metadata is not trusted.
    let null_only = app
        .browser
        .post(app.url("/sign-in"))
        .header("origin", "null")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(null_only.status(), StatusCode::FORBIDDEN);

    // A browser that sends `Origin: null` on our own same-origin form, with
    // Fetch Metadata saying so, signs in.
    let same_origin = app
        .browser
        .post(app.url("/sign-in"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.page("/dashboard").await.0, StatusCode::OK);
    app.submit("/dashboard", "/sign-out", &[]).await;

    // A signed-in browser's state-changing forms are protected too.
    assert_eq!(
        app.browser_sign_in("ana@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let sneaky = app
        .browser
        .post(app.url("/account/delete"))
        .form(&[("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(sneaky.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.page("/dashboard").await.0,
        StatusCode::OK,
        "the account still exists"
    );
}

async fn every_response_carries_the_security_headers(app: TestApp) {
    for path in [
        "/",
        "/sign-in",
        "/api/v1/me",
        "/healthz",
        "/no-such-page",
        "/static/style.css",
    ] {
        let response = app.api.get(app.url(path)).send().await.unwrap();
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(csp.contains("script-src 'self'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        // Keeps `Origin` on our own forms, sends nothing to other sites.
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS on plain http"
        );
    }
    let missing = app.api.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let missing_api = app
        .api
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_api.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = missing_api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_route");
}

async fn the_session_cookie_is_http_only_and_same_site(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    let response = app.browser_sign_in("ana@example.com", PASSWORD).await;
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("regroup_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"));
    assert!(session.contains("SameSite=Lax"));
    assert!(session.contains("Path=/"));
}

async fn pages_behind_sign_in_send_visitors_to_the_sign_in_page(app: TestApp) {
    for path in [
        "/dashboard",
        "/profile",
        "/security",
        "/account",
        "/account/export",
        "/account/delete",
    ] {
        let response = app.api.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in"));
    }
}

async fn signing_out_everywhere_ends_browser_and_api_sessions(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(app.page("/security").await.0, StatusCode::OK);
    let out = app
        .submit("/security", "/security/sign-out-everywhere", &[])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.page("/security").await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
