//! Satisfaction surveys: tickets from the room's `ended` message, anonymous
//! rows, one answer per ticket (also under a storm), and figures hidden
//! until five answers stand behind them.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Column, Row};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, hello, send, setup, therapist, Setup};
use crate::site::operator;

on_both_backends!(
    an_answer_with_a_ticket_is_stored_once_without_any_id,
    forged_expired_and_malformed_answers_are_refused_and_store_nothing,
    two_hundred_concurrent_answers_with_one_ticket_store_one_row,
    operators_see_a_week_only_from_five_answers_and_comments_from_five_comments,
    a_therapist_sees_their_own_figures_from_five_answers_and_no_one_elses,
    only_people_in_the_room_when_it_ends_get_a_ticket,
);

/// A session that ran and ended: the therapist and every client were in
/// the room when the therapist pressed End. Returns the session and the
/// tickets (clients in order, then the therapist's).
async fn ended_session(
    app: &TestApp,
    email: &str,
    kind: &str,
    clients: &[&str],
) -> (Setup, Vec<String>, String) {
    let s = setup(app, email, kind, clients, 5).await;
    let mut host = therapist(app, &s).await;
    let mut sockets = Vec::new();
    for token in &s.tokens {
        let mut ws = client(app, token).await.expect("the link opens");
        hello(&mut ws).await;
        expect(&mut ws, "waiting").await;
        sockets.push(ws);
    }
    send(&mut host, json!({"type": "admit_all"})).await;
    for ws in &mut sockets {
        expect(ws, "admitted").await;
    }
    send(&mut host, json!({"type": "end"})).await;
    let ticket = |msg: Value| msg["survey"].as_str().expect("a survey ticket").to_string();
    let mut tickets = Vec::new();
    for ws in &mut sockets {
        tickets.push(ticket(expect(ws, "ended").await));
    }
    let own = ticket(expect(&mut host, "ended").await);
    (s, tickets, own)
}

async fn answer(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/surveys", &body).await
}

async fn answer_with(
    app: &TestApp,
    ticket: &str,
    quality: i64,
    experience: i64,
    comment: Option<&str>,
) -> StatusCode {
    answer(
        app,
        json!({"ticket": ticket, "quality": quality, "experience": experience, "comment": comment}),
    )
    .await
    .status()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.store().pool())
        .await
        .unwrap()
}

async fn an_answer_with_a_ticket_is_stored_once_without_any_id(app: TestApp) {
    let (s, tickets, own) =
        ended_session(&app, "ana@example.com", "individual", &["ben@example.com"]).await;

    let sent = answer_with(&app, &tickets[0], 4, 5, Some("Clear sound.\nThank you.")).await;
    assert_eq!(sent, StatusCode::NO_CONTENT);

    // Exactly one row, holding only what the aggregates are grouped by.
    assert_eq!(count(&app, "survey_answers").await, 1);
    let row = sqlx::query("SELECT * FROM survey_answers")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    let columns: BTreeSet<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        columns,
        BTreeSet::from([
            "week",
            "kind",
            "size_bucket",
            "role",
            "quality",
            "experience",
            "comment"
        ]),
        "no participant, session or account id, no address, no time"
    );
    let text = |name: &str| row.try_get::<String, _>(name).unwrap();
    assert_eq!(text("kind"), "individual");
    assert_eq!(text("size_bucket"), "2");
    assert_eq!(text("role"), "client");
    assert_eq!(
        text("week"),
        regroup::surveys::ticket::iso_week(app.clock.unix())
    );
    assert_eq!(row.try_get::<i64, _>("quality").unwrap(), 4);
    assert_eq!(row.try_get::<i64, _>("experience").unwrap(), 5);
    assert_eq!(text("comment"), "Clear sound.\nThank you.");

    // No table the survey writes names the session, the invitation, the
    // client or the therapist (the totals row names the therapist only).
    let account: String = sqlx::query_scalar("SELECT owner_id FROM video_sessions WHERE id = $1")
        .bind(&s.session)
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    let participant: String =
        sqlx::query_scalar("SELECT id FROM session_participants WHERE session_id = $1")
            .bind(&s.session)
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    for table in ["survey_answers", "survey_tickets_used"] {
        let dump = table_text(&app, table).await;
        for id in [&s.session, &participant, &s.clients[0], &account] {
            assert!(!dump.contains(id.as_str()), "{table} holds an id");
        }
    }

    // The same ticket again: refused, nothing more stored.
    let again = answer(
        &app,
        json!({"ticket": tickets[0], "quality": 1, "experience": 1}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "already_answered");
    assert_eq!(count(&app, "survey_answers").await, 1);

    // The therapist has a ticket of their own, filed under their role.
    assert_eq!(
        answer_with(&app, &own, 3, 3, None).await,
        StatusCode::NO_CONTENT
    );
    let roles: Vec<String> = sqlx::query_scalar("SELECT role FROM survey_answers ORDER BY role")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert_eq!(roles, ["client", "therapist"]);
}

/// Every value of every row of `table`, as text.
async fn table_text(app: &TestApp, table: &str) -> String {
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    let mut out = String::new();
    for row in rows {
        for i in 0..row.columns().len() {
            let value = row
                .try_get::<Option<String>, _>(i)
                .ok()
                .flatten()
                .or_else(|| row.try_get::<i64, _>(i).ok().map(|n| n.to_string()))
                .unwrap_or_default();
            out.push_str(&value);
            out.push('|');
        }
    }
    out
}

async fn forged_expired_and_malformed_answers_are_refused_and_store_nothing(app: TestApp) {
    // The policy says what the survey keeps.
    let (_, policy) = app.page("/privacy").await;
    assert!(policy.contains("Satisfaction surveys after a session"));
    assert!(policy.contains("no day or time"));

    let (_, tickets, _) = ended_session(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
    )
    .await;
    let good = &tickets[0];

    // A ticket signed with another key, or changed after signing.
    let now = app.clock.unix();
    let foreign =
        regroup::surveys::Ticket::new("group", 3, "client", "x", now).sign(b"not the server's key");
    let (payload, signature) = good.split_once('.').unwrap();
    let mut altered = payload.to_string();
    altered.replace_range(0..1, if altered.starts_with('A') { "B" } else { "A" });
    let altered = format!("{altered}.{signature}");
    for bad in [
        foreign.as_str(),
        altered.as_str(),
        "",
        "garbage",
        &"x".repeat(5000),
    ] {
        let response = answer(&app, json!({"ticket": bad, "quality": 5, "experience": 5})).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{bad:.20}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_ticket");
    }

    // Bad ratings and comments: 422 naming the field, the ticket unspent.
    for (body, field) in [
        (
            json!({"ticket": good, "quality": 0, "experience": 5}),
            "quality",
        ),
        (
            json!({"ticket": good, "quality": 6, "experience": 5}),
            "quality",
        ),
        (
            json!({"ticket": good, "quality": 5, "experience": -1}),
            "experience",
        ),
        (
            json!({"ticket": good, "quality": 5, "experience": 5, "comment": "a".repeat(501)}),
            "comment",
        ),
        (
            json!({"ticket": good, "quality": 5, "experience": 5, "comment": "tab\there"}),
            "comment",
        ),
        (
            json!({"ticket": good, "quality": 5, "experience": 5, "comment": "nul\u{0}"}),
            "comment",
        ),
        (
            json!({"ticket": good, "quality": 5, "experience": 5, "comment": "esc\u{1b}[31m"}),
            "comment",
        ),
    ] {
        let response = answer(&app, body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field);
    }
    for body in [
        json!({"ticket": good, "quality": 4.5, "experience": 5}),
        json!({"ticket": good, "quality": "5", "experience": 5}),
        json!({"ticket": good, "quality": 5}),
        json!({"quality": 5, "experience": 5}),
        json!({"ticket": good, "quality": 5, "experience": 5, "session": "x"}),
    ] {
        let status = answer(&app, body).await.status();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(count(&app, "survey_answers").await, 0);
    // 500 characters (not bytes) and line breaks are fine.
    let long = format!("{}\r\n{}", "é".repeat(300), "ü".repeat(198));
    assert_eq!(
        answer_with(&app, good, 5, 5, Some(&long)).await,
        StatusCode::NO_CONTENT
    );

    // Past its expiry a ticket is refused, even unused.
    app.clock.advance(chrono::Duration::hours(14));
    let late = answer(
        &app,
        json!({"ticket": tickets[1], "quality": 5, "experience": 5}),
    )
    .await;
    assert_eq!(late.status(), StatusCode::GONE);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["error"]["code"], "survey_closed");
    assert_eq!(count(&app, "survey_answers").await, 1);

    // Housekeeping forgets the nonces of expired tickets.
    assert_eq!(count(&app, "survey_tickets_used").await, 1);
    regroup::surveys::housekeeping(&app.state).await;
    assert_eq!(count(&app, "survey_tickets_used").await, 0);
}

async fn two_hundred_concurrent_answers_with_one_ticket_store_one_row(app: TestApp) {
    let (_, tickets, _) =
        ended_session(&app, "ana@example.com", "individual", &["ben@example.com"]).await;
    let body = json!({"ticket": tickets[0], "quality": 5, "experience": 4});
    let started = std::time::Instant::now();
    let storm = (0..200).map(|_| {
        let (http, url, body) = (app.api.clone(), app.url("/api/v1/surveys"), body.clone());
        tokio::spawn(async move { http.post(url).json(&body).send().await.unwrap().status() })
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(storm)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // A figure to read, not a limit: two cores are shared with other tests.
    eprintln!(
        "200 concurrent answers with one ticket ({:?}): {:?}",
        app.store().backend(),
        started.elapsed()
    );
    let stored = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((stored, refused), (1, 199), "{statuses:?}");
    assert_eq!(count(&app, "survey_answers").await, 1);
    assert_eq!(count(&app, "survey_tickets_used").await, 1);
    let pending: i64 = sqlx::query_scalar("SELECT pending_answers FROM survey_therapist_totals")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(pending, 1, "the therapist's totals counted it once");
}

const CLIENTS: [&str; 5] = [
    "ben@example.com",
    "cleo@example.com",
    "dev@example.com",
    "eli@example.com",
    "fay@example.com",
];

async fn operators_see_a_week_only_from_five_answers_and_comments_from_five_comments(app: TestApp) {
    let (_, tickets, own) = ended_session(&app, "ana@example.com", "group", &CLIENTS[..4]).await;
    let op = operator(&app).await;
    let console = || async {
        let response = op
            .browser
            .get(app.url("/admin/surveys"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    };
    let week = regroup::surveys::ticket::iso_week(app.clock.unix());
    for (i, ticket) in tickets.iter().enumerate() {
        let comment = format!("Comment number {i}");
        assert_eq!(
            answer_with(&app, ticket, 4, 2 + i as i64 % 2, Some(&comment)).await,
            StatusCode::NO_CONTENT
        );
    }
    let page = console().await;
    assert!(
        page.contains(&week) && page.contains("fewer than 5"),
        "{page}"
    );
    assert!(
        !page.contains("Comment number"),
        "four comments stay hidden"
    );

    // The fifth answer (the therapist's) shows the cell and the comments.
    assert_eq!(
        answer_with(&app, &own, 2, 5, Some("Comment from the host")).await,
        StatusCode::NO_CONTENT
    );
    let page = console().await;
    assert!(!page.contains("fewer than 5"), "{page}");
    // Quality 4,4,4,4,2 → 3.6; experience 2,3,2,3,5 → 3.0.
    let row = format!("<td>{week}</td><td>Group</td><td class=\"num\">5</td><td class=\"num\">3.6</td><td class=\"num\">3.0</td>");
    assert!(page.contains(&row), "{page}");
    for i in 0..4 {
        assert!(page.contains(&format!("Comment number {i}")));
    }
    assert!(page.contains("Comment from the host"));
    // The same figures in the operators' API.
    let api: Value = app
        .get_auth("/api/v1/admin/surveys", &op.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["weeks"][0]["week"], week.as_str());
    assert_eq!(api["weeks"][0]["kind"], "group");
    assert_eq!(api["weeks"][0]["answers"], 5);
    assert_eq!(api["weeks"][0]["quality"], 3.6);
    assert_eq!(api["comments"][0]["comments"].as_array().unwrap().len(), 5);

    // Five answers but fewer than five comments in a week: no comments.
    let (_, more, _) =
        ended_session(&app, "bo@example.com", "individual", &["gus@example.com"]).await;
    assert_eq!(
        answer_with(&app, &more[0], 5, 5, None).await,
        StatusCode::NO_CONTENT
    );
    let page = console().await;
    assert!(page.contains("One-to-one") && page.contains("fewer than 5"));

    let api: Value = app
        .get_auth("/api/v1/admin/surveys", &op.token)
        .await
        .json()
        .await
        .unwrap();
    let one_to_one = api["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "individual")
        .expect("a one-to-one cell");
    assert_eq!(one_to_one["answers"], Value::Null);
    assert_eq!(one_to_one["quality"], Value::Null);

    // Therapists reach neither the console nor its API.
    let visitor = app.api.get(app.url("/admin/surveys")).send().await.unwrap();
    assert_ne!(visitor.status(), StatusCode::OK);
    let bearer = app.fresh_token("ana@example.com").await;
    let refused = app.get_auth("/api/v1/admin/surveys", &bearer).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

async fn a_therapist_sees_their_own_figures_from_five_answers_and_no_one_elses(app: TestApp) {
    let (s, tickets, own) = ended_session(&app, "ana@example.com", "group", &CLIENTS).await;
    let other = app.token_for("bo@example.com").await;
    let summary = |token: String| {
        let app = &app;
        async move {
            let response = app.get_auth("/api/v1/me/survey-summary", &token).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    // The therapist's own answer never counts towards their figures.
    assert_eq!(
        answer_with(&app, &own, 5, 5, None).await,
        StatusCode::NO_CONTENT
    );
    for ticket in &tickets[..4] {
        assert_eq!(
            answer_with(&app, ticket, 3, 4, None).await,
            StatusCode::NO_CONTENT
        );
        let hidden = summary(s.bearer.clone()).await;
        assert_eq!(hidden["answers"], Value::Null, "{hidden}");
        assert_eq!(hidden["quality"], Value::Null);
        assert_eq!(hidden["minimum_answers"], 5);
    }
    assert_eq!(
        answer_with(&app, &tickets[4], 5, 5, None).await,
        StatusCode::NO_CONTENT
    );
    let shown = summary(s.bearer.clone()).await;
    assert_eq!(shown["answers"], 5);
    assert_eq!(shown["quality"], 3.4);
    assert_eq!(shown["experience"], 4.2);

    // Another therapist sees nothing of it.
    let theirs = summary(other).await;
    assert_eq!(theirs["answers"], Value::Null);
    assert_eq!(theirs["quality"], Value::Null);
    // Without a token: 401.
    let anonymous = app
        .api
        .get(app.url("/api/v1/me/survey-summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The dashboard shows the same figures to their owner.
    app.browser_sign_in("ana@example.com", crate::helpers::PASSWORD)
        .await;
    let (_, dashboard) = app.page("/dashboard").await;
    assert!(dashboard.contains("What your clients said"));
    assert!(
        dashboard.contains("3.4") && dashboard.contains("4.2"),
        "{dashboard}"
    );
    // And the export carries them as shown, no more.
    let export: Value = app
        .get_auth("/api/v1/me/export", &s.bearer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["survey_summary"]["answers"], 5);
    assert_eq!(export["survey_summary"]["quality"], 3.4);

    // Deleting the account takes its totals along; the anonymous rows stay.
    let deleted = app
        .delete_auth(
            "/api/v1/me",
            &s.bearer,
            Some(&json!({"password": crate::helpers::PASSWORD})),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(count(&app, "survey_therapist_totals").await, 0);
    assert_eq!(count(&app, "survey_answers").await, 6);
}

async fn only_people_in_the_room_when_it_ends_get_a_ticket(app: TestApp) {
    // Ben is let in; Cleo is still waiting when the therapist ends it.
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        5,
    )
    .await;
    let mut host = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    expect(&mut ben, "waiting").await;
    send(&mut host, json!({"type": "admit_all"})).await;
    expect(&mut ben, "admitted").await;
    let mut cleo = client(&app, &s.tokens[1]).await.unwrap();
    hello(&mut cleo).await;
    expect(&mut cleo, "waiting").await;
    send(&mut host, json!({"type": "end"})).await;
    assert!(expect(&mut ben, "ended").await["survey"].is_string());
    assert!(expect(&mut host, "ended").await["survey"].is_string());
    let waited = expect(&mut cleo, "ended").await;
    assert!(waited.get("survey").is_none(), "{waited}");

    // A session cancelled while under way offers no survey.
    let c = setup(
        &app,
        "bo@example.com",
        "individual",
        &["dev@example.com"],
        5,
    )
    .await;
    let mut host = therapist(&app, &c).await;
    let mut dev = client(&app, &c.tokens[0]).await.unwrap();
    hello(&mut dev).await;
    expect(&mut dev, "waiting").await;
    send(&mut host, json!({"type": "admit_all"})).await;
    expect(&mut dev, "admitted").await;
    let cancelled = app
        .delete_auth(
            &format!("/api/v1/video-sessions/{}", c.session),
            &c.bearer,
            None,
        )
        .await;
    assert!(cancelled.status().is_success());
    let ended = expect(&mut dev, "ended").await;
    assert!(ended.get("survey").is_none(), "{ended}");

    // A session whose time runs out offers the survey, as one ended by hand.
    let t = setup(
        &app,
        "cy@example.com",
        "individual",
        &["eli@example.com"],
        5,
    )
    .await;
    let mut host = therapist(&app, &t).await;
    let mut eli = client(&app, &t.tokens[0]).await.unwrap();
    hello(&mut eli).await;
    expect(&mut eli, "waiting").await;
    send(&mut host, json!({"type": "admit_all"})).await;
    expect(&mut eli, "admitted").await;
    // Past the end and the 15 minutes a room with its therapist may run over.
    app.clock.advance(chrono::Duration::minutes(55));
    let over = expect(&mut eli, "ended").await;
    assert_eq!(over["message"], "The time for this session is over.");
    let ticket = over["survey"]
        .as_str()
        .expect("a ticket when time runs out");
    assert_eq!(
        answer_with(&app, ticket, 5, 5, None).await,
        StatusCode::NO_CONTENT
    );
}
