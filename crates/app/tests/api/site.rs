//! The public site, first-party analytics, tracked links, policy versions,
//! privacy inquiries, announcements, support tickets and the operators' console.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{csrf_token, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    page_views_from_phone_tablet_and_desktop_appear_in_the_summary_with_their_shares,
    no_stored_row_holds_the_requesting_address_or_user_agent,
    a_visitor_seen_today_and_tomorrow_counts_as_two_and_old_salts_are_deleted,
    thousands_of_page_views_from_one_client_are_capped_and_never_fail,
    tracked_links_redirect_only_to_stored_destinations_and_count_clicks,
    a_new_policy_version_takes_effect_on_its_date_and_is_acknowledged_once,
    a_privacy_question_is_due_in_30_days_and_spam_is_dropped,
    announcements_skip_therapists_who_opted_out,
    therapists_open_tickets_and_operators_answer_them,
    the_console_is_for_operators_with_totp_and_never_shows_clients,
    support_cannot_publish_policies_send_announcements_or_suspend_therapists,
);

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const MAC_FIREFOX: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0";
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// Visits `path` as a browser with this user agent and referrer.
async fn visit(app: &TestApp, path: &str, ua: &str, referer: Option<&str>) -> StatusCode {
    let mut request = app.api.get(app.url(path)).header("user-agent", ua);
    if let Some(r) = referer {
        request = request.header("referer", r);
    }
    request.send().await.unwrap().status()
}

fn totp_code(secret: &str, at: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "t".into())
        .unwrap()
        .generate(at as u64)
}

/// An operator as `regroup admin create` makes one (TOTP enrolled), signed in
/// both with a bearer token and in its own browser.
pub(crate) struct Operator {
    pub(crate) token: String,
    pub(crate) browser: reqwest::Client,
}

pub(crate) async fn operator(app: &TestApp) -> Operator {
    operator_with_role(app, regroup::store::Role::Admin, "oscar@regroup.example").await
}

async fn operator_with_role(app: &TestApp, role: regroup::store::Role, email: &str) -> Operator {
    let hash = regroup::auth::password::hash(PASSWORD).await.unwrap();
    let account = app
        .store()
        .insert_account(
            regroup::store::NewAccount {
                role,
                name: "Oscar Operator",
                email,
                password_hash: &hash,
                email_verified: true,
            },
            app.clock.unix(),
        )
        .await
        .unwrap();
    let secret = regroup::auth::totp::new_secret();
    let now = app.clock.unix();
    regroup::auth::second_factor::store_pending(
        app.store(),
        &app.state.keys,
        &account.id,
        &secret,
        now,
    )
    .await
    .unwrap();
    app.store().enable_totp(&account.id, 0, now).await.unwrap();
    let without_code = app.login(email, PASSWORD).await;
    assert_eq!(without_code.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .login_with_code(email, PASSWORD, totp_code(&secret, app.clock.unix()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = submit_as(
        app,
        &browser,
        "/sign-in",
        "/sign-in",
        &[("email", email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(signed.headers()["location"], "/sign-in/code");
    // The next time step: each code is accepted once, and one step of drift is allowed.
    let code = totp_code(&secret, app.clock.unix() + 30);
    let done = submit_as(
        app,
        &browser,
        "/sign-in/code",
        "/sign-in/code",
        &[("code", &code)],
    )
    .await;
    assert_eq!(done.headers()["location"], "/admin");
    Operator { token, browser }
}

async fn page_as(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

pub(crate) async fn submit_as(
    app: &TestApp,
    client: &reqwest::Client,
    from_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, html) = page_as(app, client, from_page).await;
    let token = csrf_token(&html);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf_token", &token));
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn today(app: &TestApp) -> String {
    app.clock.now().format("%Y-%m-%d").to_string()
}

async fn summary(app: &TestApp, token: &str, from: &str, to: &str) -> Value {
    let response = app
        .get_auth(
            &format!("/api/v1/admin/analytics/summary?from={from}&to={to}"),
            token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn page_views_from_phone_tablet_and_desktop_appear_in_the_summary_with_their_shares(
    app: TestApp,
) {
    for (ua, path) in [
        (IPHONE, "/"),
        (IPAD, "/how-it-works"),
        (WINDOWS, "/"),
        (MAC_FIREFOX, "/privacy"),
        (BOT, "/"),
    ] {
        assert_eq!(
            visit(
                &app,
                path,
                ua,
                Some("https://www.search.example/q?secret=1")
            )
            .await,
            StatusCode::OK
        );
    }
    assert_eq!(visit(&app, "/", WINDOWS, None).await, StatusCode::OK);
    let op = operator(&app).await;
    let day = today(&app);
    let s = summary(&app, &op.token, &day, &day).await;
    assert_eq!(s["visitors"], 4, "{s}");
    assert_eq!(s["pageviews"], 5, "{s}");
    assert!(s["bot_pageviews"].as_i64().unwrap() >= 1);
    assert_eq!(s["device_share"]["mobile"], 0.25);
    assert_eq!(s["device_share"]["tablet"], 0.25);
    assert_eq!(s["device_share"]["desktop"], 0.5);
    assert_eq!(s["top_pages"][0], json!({"path": "/", "pageviews": 3}));
    assert_eq!(
        s["referrers"][0],
        json!({"host": "search.example", "visits": 4})
    );
    let browsers: Vec<&str> = s["browsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert!(browsers.contains(&"Chrome") && browsers.contains(&"Firefox"));
    assert!(s["email_clicks"].is_array());

    let therapist = app.token_for("ana@example.com").await;
    let path = format!("/api/v1/admin/analytics/summary?from={day}&to={day}");
    assert_eq!(
        app.get_auth(&path, &therapist).await.status(),
        StatusCode::FORBIDDEN
    );
    let anonymous = app.api.get(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bad = app
        .get_auth("/api/v1/admin/analytics/summary?from=2026-13-01", &op.token)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Every row of every table of the main database, as text.
async fn every_stored_row(app: &TestApp) -> String {
    use sqlx::Row;
    let pool = app.store().pool();
    let tables: Vec<String> = match app.store().backend() {
        regroup::store::Backend::Sqlite => {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        regroup::store::Backend::Postgres => sqlx::query_scalar(
            "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    let mut dump = String::new();
    for table in tables {
        // `nodes` holds the servers' own addresses (here 127.0.0.1, like
        // the visitor's), not anything a request brought.
        if table.starts_with("_sqlx") || table.starts_with("sqlite_") || table == "nodes" {
            continue;
        }
        let sql = match app.store().backend() {
            regroup::store::Backend::Postgres => format!("SELECT CAST(t AS TEXT) FROM {table} t"),
            regroup::store::Backend::Sqlite => {
                let columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info({table})"))
                    .fetch_all(pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<String, _>(1))
                    .collect();
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
                    .collect();
                format!("SELECT {} FROM {table}", parts.join(" || '|' || "))
            }
        };
        let rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap();
        for row in rows {
            dump.push_str(&table);
            dump.push(':');
            dump.push_str(&row);
            dump.push('\n');
        }
    }
    dump
}

async fn no_stored_row_holds_the_requesting_address_or_user_agent(app: TestApp) {
    let marker_ua = "Mozilla/5.0 (X11; Linux x86_64) ZebraBrowser/9.9 UniqueMarker4711";
    for path in ["/", "/privacy", "/contact", "/sign-in"] {
        assert_eq!(visit(&app, path, marker_ua, None).await, StatusCode::OK);
    }
    // Forged and oversized headers: recorded (cut down) or ignored, never a 500.
    let huge_ua = format!("Mozilla/5.0 {}", "A".repeat(7000));
    let huge_ref = format!("https://{}.example/", "b".repeat(3000));
    assert_eq!(
        visit(&app, "/", &huge_ua, Some(&huge_ref)).await,
        StatusCode::OK
    );
    assert_eq!(
        visit(
            &app,
            "/",
            "<script>alert(1)</script>",
            Some("javascript:alert(1)")
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        visit(
            &app,
            "/privacy?utm_source=news&email=ana@example.com",
            marker_ua,
            Some("not a url")
        )
        .await,
        StatusCode::OK
    );
    let dump = every_stored_row(&app).await;
    assert!(dump.contains("page_views:"), "page views were recorded");
    assert!(dump.contains("/privacy?utm_source=news"));
    assert!(
        !dump.contains("ana@example.com"),
        "query strings are dropped"
    );
    assert!(!dump.contains("127.0.0.1"), "no address is stored");
    assert!(
        !dump.contains("UniqueMarker4711"),
        "no user agent is stored"
    );
    assert!(!dump.contains("ZebraBrowser"));
    assert!(!dump.contains("AAAAAAAAAA"));
    assert!(!dump.contains("bbbbbbbbbb"));
}

async fn a_visitor_seen_today_and_tomorrow_counts_as_two_and_old_salts_are_deleted(app: TestApp) {
    let first_day = today(&app);
    assert_eq!(visit(&app, "/", WINDOWS, None).await, StatusCode::OK);
    assert_eq!(visit(&app, "/privacy", WINDOWS, None).await, StatusCode::OK);
    app.clock.advance(chrono::Duration::hours(24));
    let second_day = today(&app);
    assert_eq!(visit(&app, "/", WINDOWS, None).await, StatusCode::OK);
    let salts = app.store().analytics_salt_days().await.unwrap();
    assert_eq!(salts.len(), 2);

    let op = operator(&app).await;
    let s = summary(&app, &op.token, &first_day, &second_day).await;
    assert_eq!(s["visitors"], 2, "one browser on two days is two visitors");
    assert_eq!(s["pageviews"], 3);
    assert_eq!(s["daily"].as_array().unwrap().len(), 2);
    assert_eq!(s["entry_pages"][0]["path"], "/");

    app.clock.advance(chrono::Duration::hours(25));
    regroup::site::housekeeping(&app.state).await;
    let left = app.store().analytics_salt_days().await.unwrap();
    assert!(
        !left.contains(&salts[0]),
        "the salt of a day more than 48 hours old is gone"
    );
    app.clock.advance(chrono::Duration::hours(24));
    regroup::site::housekeeping(&app.state).await;
    assert!(app.store().analytics_salt_days().await.unwrap().is_empty());
}

async fn thousands_of_page_views_from_one_client_are_capped_and_never_fail(app: TestApp) {
    let limit = regroup::site::analytics::VIEWS_PER_VISITOR_DAY;
    // A thousand page views from one browser, eight at a time.
    let mut workers = Vec::new();
    for worker in 0..8 {
        let client = app.api.clone();
        let base = app.base.clone();
        workers.push(tokio::spawn(async move {
            for i in 0..125 {
                let path = if (worker + i) % 2 == 0 {
                    "/"
                } else {
                    "/privacy"
                };
                let status = client
                    .get(format!("{base}{path}"))
                    .header("user-agent", IPHONE)
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::OK);
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let (views, visitors, _) = app
        .store()
        .analytics_totals(regroup::store::DayRange {
            from: 0,
            to: i64::MAX / 86_400,
        })
        .await
        .unwrap();
    assert_eq!(visitors, 1);
    // Eight requests may pass the check together; never many more.
    assert!(
        (limit..=limit + 8).contains(&views),
        "recording is capped per visitor: {views}"
    );
}

async fn tracked_links_redirect_only_to_stored_destinations_and_count_clicks(app: TestApp) {
    let destination = "https://example.org/welcome?ref=mail";
    let link = regroup::site::tracked_link(&app.state, "welcome", destination)
        .await
        .unwrap();
    let path = link.trim_start_matches(&app.base).to_string();
    assert!(path.starts_with("/r/"));
    assert!(!path.contains("example.org"));
    let followed = app.api.get(app.url(&path)).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::FOUND);
    assert_eq!(followed.headers()["location"], destination);
    // The request cannot choose where it goes.
    let forged = app
        .api
        .get(app.url(&format!("{path}?to=https://evil.example/")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.headers()["location"], destination);
    for unknown in [
        "/r/nope",
        "/r/https%3A%2F%2Fevil.example",
        "/r/%2F%2Fevil.example",
        &format!("/r/{}", "x".repeat(5000)),
    ] {
        let response = app.api.get(app.url(unknown)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{unknown}");
        assert!(response.headers().get("location").is_none());
    }
    let unclicked = regroup::site::tracked_link(&app.state, "welcome", "https://example.org/b")
        .await
        .unwrap();
    assert!(unclicked.contains("/r/"));
    assert!(
        !every_stored_row(&app).await.contains("example.org"),
        "destinations are stored sealed"
    );

    let op = operator(&app).await;
    let day = today(&app);
    let s = summary(&app, &op.token, &day, &day).await;
    assert_eq!(
        s["email_clicks"],
        json!([{"campaign": "welcome", "sent": 2, "clicked": 1}])
    );
    let (_, dashboard) = page_as(&app, &op.browser, "/admin").await;
    assert!(dashboard.contains("welcome"));
    assert!(
        !dashboard.contains("example.org"),
        "destinations are never shown"
    );
}

async fn a_new_policy_version_takes_effect_on_its_date_and_is_acknowledged_once(app: TestApp) {
    let (status, privacy) = app.page("/privacy").await;
    assert_eq!(status, StatusCode::OK);
    assert!(privacy.contains("Version 1"));
    assert!(privacy.contains("crypto-shredding"));
    assert!(!privacy.contains("Google Analytics"));

    app.verified_therapist("ana@example.com").await;
    let op = operator(&app).await;
    let tomorrow = (app.clock.now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let body = "# Version two\n\nWe changed things.\n\n<script>alert('x')</script>\n\n<a href=\"javascript:alert(1)\" onclick=\"x()\">click</a>";
    let published = submit_as(
        &app,
        &op.browser,
        "/admin/policies",
        "/admin/policies",
        &[
            ("kind", "privacy"),
            ("effective", &tomorrow),
            ("body", body),
        ],
    )
    .await;
    assert_eq!(published.status(), StatusCode::SEE_OTHER);

    // Not yet in force: the page still shows version 1, and version 2 is not readable.
    let (_, privacy) = app.page("/privacy").await;
    assert!(privacy.contains("Version 1") && !privacy.contains("Version two"));
    assert_eq!(
        app.page("/privacy/versions/2").await.0,
        StatusCode::NOT_FOUND
    );
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    let (_, profile) = app.page("/profile").await;
    assert!(!profile.contains("I have read it"));

    app.clock.advance(chrono::Duration::days(1));
    let (_, privacy) = app.page("/privacy").await;
    assert!(privacy.contains("Version 2"));
    assert!(privacy.contains("<h1>Version two</h1>"));
    assert!(!privacy.contains("<script>alert"));
    assert!(!privacy.contains("javascript:"));
    assert!(!privacy.contains("onclick"));
    assert_eq!(app.page("/privacy/versions/1").await.0, StatusCode::OK);

    // The old session idled out; a fresh one sees the notice.
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    let (_, profile) = app.page("/profile").await;
    assert!(profile.contains("I have read it"), "{profile}");
    let acknowledged = app.submit("/profile", "/privacy/acknowledge", &[]).await;
    assert_eq!(acknowledged.status(), StatusCode::SEE_OTHER);
    let (_, profile) = app.page("/profile").await;
    assert!(!profile.contains("I have read it"));
    // A second acknowledgement (a double click) changes nothing.
    app.submit("/profile", "/privacy/acknowledge", &[]).await;

    let token = app.fresh_token("ana@example.com").await;
    let export: Value = app
        .get_auth("/api/v1/me/export", &token)
        .await
        .json()
        .await
        .unwrap();
    let acks = export["policy_acknowledgements"].as_array().unwrap();
    assert_eq!(acks.len(), 1, "{export}");
    assert_eq!(acks[0]["document"], "privacy");
    assert_eq!(acks[0]["version"], 2);
}

async fn a_privacy_question_is_due_in_30_days_and_spam_is_dropped(app: TestApp) {
    let spam = app
        .submit(
            "/contact",
            "/contact",
            &[
                ("name", "Buy Now"),
                ("email", "spam@spam.example"),
                ("message", "cheap pills"),
                ("website", "https://spam.example"),
            ],
        )
        .await;
    assert_eq!(spam.status(), StatusCode::OK);
    assert!(spam.text().await.unwrap().contains("Thank you"));
    assert!(app.store().inquiries().await.unwrap().is_empty());
    assert!(app.mail_to("spam@spam.example").is_empty());

    let invalid = app
        .submit(
            "/contact",
            "/contact",
            &[
                ("name", "Pat"),
                ("email", "not-an-email"),
                ("message", "Hi"),
            ],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let sent = app
        .submit(
            "/contact",
            "/contact",
            &[
                ("name", "Pat Visitor"),
                ("email", "pat@example.net"),
                ("message", "What do you keep about my visit?"),
                ("website", ""),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let inquiries = app.store().inquiries().await.unwrap();
    assert_eq!(inquiries.len(), 1);
    assert_eq!(inquiries[0].due_at - inquiries[0].created_at, 30 * 86_400);
    assert_eq!(app.mail_to("pat@example.net").len(), 1);

    for _ in 0..4 {
        let again = app
            .submit(
                "/contact",
                "/contact",
                &[
                    ("name", "Pat"),
                    ("email", "pat@example.net"),
                    ("message", "Again"),
                ],
            )
            .await;
        assert_eq!(again.status(), StatusCode::OK);
    }
    let throttled = app
        .submit(
            "/contact",
            "/contact",
            &[
                ("name", "Pat"),
                ("email", "pat@example.net"),
                ("message", "Again"),
            ],
        )
        .await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);

    let op = operator(&app).await;
    let (_, queue) = page_as(&app, &op.browser, "/admin/inquiries").await;
    assert!(queue.contains("Pat Visitor"));
    assert!(queue.contains("29 days left") || queue.contains("30 days left"));
    let id = inquiries[0].id.clone();
    let answered = submit_as(
        &app,
        &op.browser,
        &format!("/admin/inquiries/{id}"),
        &format!("/admin/inquiries/{id}"),
        &[("reply", "Only the hour, the page and coarse browser data.")],
    )
    .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    let mails = app.mail_to("pat@example.net");
    assert!(mails
        .last()
        .unwrap()
        .text
        .contains("Only the hour, the page and coarse browser data."));
    assert_eq!(
        app.store().inquiry(&id).await.unwrap().unwrap().status,
        "answered"
    );
}

async fn announcements_skip_therapists_who_opted_out(app: TestApp) {
    for email in ["ana@example.com", "ben@example.com", "cy@example.com"] {
        app.verified_therapist(email).await;
    }
    let op = operator(&app).await;
    let draft = submit_as(
        &app,
        &op.browser,
        "/admin/announcements",
        "/admin/announcements",
        &[
            ("subject", "Maintenance on Sunday"),
            (
                "body",
                "We update the servers on Sunday.\nDetails: https://status.example.org/sunday",
            ),
        ],
    )
    .await;
    assert_eq!(draft.status(), StatusCode::SEE_OTHER);
    let preview_path = draft.headers()["location"].to_str().unwrap().to_string();
    let (_, preview) = page_as(&app, &op.browser, &preview_path).await;
    assert!(preview.contains("We update the servers on Sunday."));
    assert!(preview.contains("<strong>3</strong> therapists"));
    let sent = submit_as(
        &app,
        &op.browser,
        &preview_path,
        &format!("{preview_path}/send"),
        &[],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    for email in ["ana@example.com", "ben@example.com", "cy@example.com"] {
        let mail = app
            .mail_to(email)
            .into_iter()
            .find(|m| m.subject == "Maintenance on Sunday")
            .expect("announcement sent");
        assert!(mail.text.contains(&format!("{}/r/", app.base)));
        assert!(
            !mail.text.contains("status.example.org"),
            "links are tracked"
        );
        assert!(mail.text.contains("/unsubscribe/"));
    }
    // A second click on "send" sends nothing more.
    submit_as(
        &app,
        &op.browser,
        &preview_path,
        &format!("{preview_path}/send"),
        &[],
    )
    .await;
    assert_eq!(
        app.mail_to("ana@example.com")
            .iter()
            .filter(|m| m.subject == "Maintenance on Sunday")
            .count(),
        1
    );

    let opt_out = app.mailed_link("ben@example.com", "/unsubscribe/");
    let response = app.api.get(&opt_out).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let forged = app
        .api
        .get(app.url("/unsubscribe/someone.0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);

    let second = submit_as(
        &app,
        &op.browser,
        "/admin/announcements",
        "/admin/announcements",
        &[("subject", "New feature"), ("body", "Group chat is here.")],
    )
    .await;
    let path = second.headers()["location"].to_str().unwrap().to_string();
    submit_as(&app, &op.browser, &path, &format!("{path}/send"), &[]).await;
    let got = |email: &str| {
        app.mail_to(email)
            .iter()
            .any(|m| m.subject == "New feature")
    };
    assert!(got("ana@example.com") && got("cy@example.com"));
    assert!(!got("ben@example.com"), "opted-out therapists are skipped");

    let day = today(&app);
    let s = summary(&app, &op.token, &day, &day).await;
    assert_eq!(
        s["email_clicks"],
        json!([{"campaign": "announcement-maintenance-on-sunday", "sent": 3, "clicked": 0}])
    );
}

async fn therapists_open_tickets_and_operators_answer_them(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    let op = operator(&app).await;
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    let opened = app
        .submit(
            "/support",
            "/support",
            &[
                ("subject", "Cannot find the export"),
                ("message", "Where is it?"),
            ],
        )
        .await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let ticket_path = opened.headers()["location"].to_str().unwrap().to_string();
    let id = ticket_path.trim_start_matches("/support/").to_string();
    let notice = app.mail_to("oscar@regroup.example");
    assert_eq!(notice.len(), 1);
    assert!(
        !notice[0].text.contains("Where is it?"),
        "notices carry no text"
    );

    let (_, list) = page_as(&app, &op.browser, "/admin/tickets").await;
    assert!(list.contains("Cannot find the export"));
    let answered = submit_as(
        &app,
        &op.browser,
        &format!("/admin/tickets/{id}"),
        &format!("/admin/tickets/{id}"),
        &[("message", "Under Your data."), ("status", "waiting")],
    )
    .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    // The notice's link goes through /r/ and leads to the ticket.
    let link = app.mailed_link("ana@example.com", "/r/");
    let followed = app.api.get(&link).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::FOUND);
    assert_eq!(
        followed.headers()["location"].to_str().unwrap(),
        app.url(&ticket_path)
    );
    let (_, thread) = app.page(&ticket_path).await;
    assert!(thread.contains("Under Your data.") && thread.contains("waiting"));

    // Another therapist cannot read it.
    app.verified_therapist("ben@example.com").await;
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    submit_as(
        &app,
        &other,
        "/sign-in",
        "/sign-in",
        &[("email", "ben@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        page_as(&app, &other, &ticket_path).await.0,
        StatusCode::NOT_FOUND
    );

    let token = app.fresh_token("ana@example.com").await;
    let export: Value = app
        .get_auth("/api/v1/me/export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        export["support_tickets"][0]["subject"],
        "Cannot find the export"
    );
    assert_eq!(
        export["support_tickets"][0]["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn the_console_is_for_operators_with_totp_and_never_shows_clients(app: TestApp) {
    let anonymous = app.api.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    app.verified_therapist("ana@example.com").await;
    let token = app.fresh_token("ana@example.com").await;
    let client = app
        .api
        .post(app.url("/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({"name": "Zed Clientname", "email": "zed.client@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(client.status(), StatusCode::CREATED);
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(app.page("/admin").await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.page("/admin/therapists").await.0, StatusCode::FORBIDDEN);

    // An operator without a second factor is refused.
    let no_totp = crate::helpers::operator_token(&app).await;
    let refused = app
        .get_auth("/api/v1/admin/analytics/summary", &no_totp)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let op = operator(&app).await;
    for page in [
        "/admin",
        "/admin/therapists",
        "/admin/tickets",
        "/admin/inquiries",
        "/admin/announcements",
        "/admin/policies",
        "/admin/audit",
        "/admin/audit?action=sign_in&actor=therapist",
    ] {
        let (status, html) = page_as(&app, &op.browser, page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(!html.contains("Zed Clientname"), "{page}");
        assert!(!html.contains("zed.client@example.org"), "{page}");
    }
    let (_, directory) = page_as(&app, &op.browser, "/admin/therapists?q=ana").await;
    assert!(directory.contains("ana@example.com"));
    let (_, audit) = page_as(&app, &op.browser, "/admin/audit?action=client_created").await;
    assert!(audit.contains("client_created"));

    let therapist_id = app
        .store()
        .account_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let suspended = submit_as(
        &app,
        &op.browser,
        "/admin/therapists",
        &format!("/admin/therapists/{therapist_id}/suspend"),
        &[],
    )
    .await;
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    submit_as(
        &app,
        &op.browser,
        "/admin/therapists",
        &format!("/admin/therapists/{therapist_id}/reinstate"),
        &[],
    )
    .await;
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn support_cannot_publish_policies_send_announcements_or_suspend_therapists(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let therapist_id = app
        .store()
        .account_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let support =
        operator_with_role(&app, regroup::store::Role::Support, "sam@regroup.example").await;
    // Support is not offered what it may not do.
    let (_, policies) = page_as(&app, &support.browser, "/admin/policies").await;
    assert!(!policies.contains(">Publish<"));
    let (_, directory) = page_as(&app, &support.browser, "/admin/therapists").await;
    assert!(!directory.contains(">Suspend<") && directory.contains("Ana Ruiz"));
    let tomorrow = (app.clock.now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let publish = submit_as(
        &app,
        &support.browser,
        "/admin/policies",
        "/admin/policies",
        &[
            ("kind", "privacy"),
            ("effective", &tomorrow),
            ("body", "# Two"),
        ],
    )
    .await;
    assert_eq!(publish.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.store().policy_versions("privacy").await.unwrap().len(),
        1
    );

    // Support may draft an announcement, not send it.
    let draft = submit_as(
        &app,
        &support.browser,
        "/admin/announcements",
        "/admin/announcements",
        &[("subject", "Maintenance"), ("body", "On Sunday.")],
    )
    .await;
    assert_eq!(draft.status(), StatusCode::SEE_OTHER);
    let preview = draft.headers()["location"].to_str().unwrap().to_string();
    let send = submit_as(
        &app,
        &support.browser,
        &preview,
        &format!("{preview}/send"),
        &[],
    )
    .await;
    assert_eq!(send.status(), StatusCode::FORBIDDEN);
    app.run_jobs().await;
    assert!(app
        .mail_to("ana@example.com")
        .iter()
        .all(|m| m.subject != "Maintenance"));

    for action in ["suspend", "reinstate"] {
        let refused = submit_as(
            &app,
            &support.browser,
            "/admin/therapists",
            &format!("/admin/therapists/{therapist_id}/{action}"),
            &[],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::OK,
        "still signed in: not suspended"
    );

    // An admin may do each of them.
    let admin = operator(&app).await;
    let send = submit_as(
        &app,
        &admin.browser,
        &preview,
        &format!("{preview}/send"),
        &[],
    )
    .await;
    assert_eq!(send.status(), StatusCode::SEE_OTHER);
    let suspend = submit_as(
        &app,
        &admin.browser,
        "/admin/therapists",
        &format!("/admin/therapists/{therapist_id}/suspend"),
        &[],
    )
    .await;
    assert_eq!(suspend.status(), StatusCode::SEE_OTHER);
}
