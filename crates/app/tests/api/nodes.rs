//! This server as a node among several sharing the database: it writes its
//! row in `nodes`, and a drain (SIGTERM, or `regroup node drain` from any
//! machine) closes it to new rooms while its open rooms go on, then stops it
//! once they have ended. `/readyz` says so meanwhile.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, hello, open, send, setup, therapist};

on_both_backends!(a_second_signal_stops_a_draining_node_at_once);

/// PostgreSQL only, where several nodes run. On SQLite, `regroup node
/// drain` from another process beside the running server sometimes got
/// "database is locked" at once (not pinned down; SIGTERM is the way to
/// drain a single SQLite node, tested below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_request_closes_the_node_to_new_rooms_and_it_stops_when_its_rooms_end() {
    let app = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    drain_request_closes_the_node_to_new_rooms(app).await;
}

/// The socket address the session's room page gives the browser, as `app`
/// serves it: a path (this node) or a full URL (another node).
async fn socket_named_by(app: &TestApp, session: &str, cookie: &str) -> String {
    let page = app
        .api
        .get(app.url(&format!("/sessions/{session}/room")))
        .header("cookie", format!("regroup_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let attribute = |name: &str| {
        let value = page.split(&format!("{name}=\"")).nth(1).unwrap();
        value[..value.find('"').unwrap()].to_owned()
    };
    // The page always keeps this node's path as its way back; the room's
    // node, when it is another, comes first.
    let node = attribute("data-ws-node");
    let path = attribute("data-ws");
    assert!(path.starts_with('/'), "the way back is a path here: {path}");
    if node.is_empty() {
        path
    } else {
        node
    }
}

fn regroup(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regroup"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(app.data_dir.path())
        .args(app.database_url_args())
        .env_remove("REGROUP_DATABASE_URL");
    command.output().unwrap()
}

async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    let response = app.api.get(app.url("/readyz")).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn until(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn drain_request_closes_the_node_to_new_rooms(app: TestApp) {
    let id = app.state.node.id.clone();
    let listed = regroup(&app, &["node", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&format!("{id}\talive\t0\t0\t{}/", app.base)),
        "{listed}"
    );
    assert_eq!(readiness(&app).await.0, StatusCode::OK);

    // One session's room is open; another's is not.
    let open = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let closed = setup(
        &app,
        "cleo@example.com",
        "individual",
        &["dan@example.com"],
        10,
    )
    .await;
    let mut host = therapist(&app, &open).await;

    let unknown = regroup(&app, &["node", "drain", "no-such-node"]);
    assert!(!unknown.status.success());
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("no node is called"), "{said}");
    let asked = regroup(&app, &["node", "drain", &id]);
    assert!(
        asked.status.success(),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );

    // The node hears it on its next beat (every 2 s).
    until("readiness turning to draining", 6, async || {
        readiness(&app).await == (StatusCode::SERVICE_UNAVAILABLE, ready_error("draining"))
    })
    .await;
    let listed = regroup(&app, &["node", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&format!("{id}\tdraining\t1\t")));

    // The open room goes on: its client still gets in.
    let mut ben = client(&app, &open.tokens[0])
        .await
        .expect("the open room takes its client");
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    send(&mut host, json!({"type": "admit", "id": welcome["you"]})).await;
    expect(&mut ben, "admitted").await;
    // A room not yet open starts elsewhere, not here.
    assert_eq!(
        client(&app, &closed.tokens[0]).await.err(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!app.stopped(), "the node waits for its open room");

    // The therapist ends the session: the last room is gone, the node stops.
    send(&mut host, json!({"type": "end"})).await;
    until("the drained node stopping", 10, async || app.stopped()).await;
    let listed = regroup(&app, &["node", "list"]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&id),
        "a node that stopped cleanly takes its row away"
    );
}

async fn a_second_signal_stops_a_draining_node_at_once(app: TestApp) {
    let open = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let _host = therapist(&app, &open).await;
    app.sigterm();
    until("readiness turning to draining", 3, async || {
        readiness(&app).await.0 == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!app.stopped(), "the first signal waits for the open room");
    app.sigterm();
    until("the node stopping on the second signal", 5, async || {
        app.stopped()
    })
    .await;
}

fn ready_error(code: &str) -> Value {
    json!({"error": {"code": code, "message": "This node is draining: it takes no new rooms."}})
}

/// The real binary and a real SIGTERM: with no room open, `regroup serve`
/// drains at once, exits with success and takes its row away.
#[tokio::test]
async fn sigterm_stops_an_idle_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_regroup"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--media-udp", "127.0.0.1:0", "--media-tcp", "127.0.0.1:0"])
        .args(["--node-id", "east-1", "--data-dir"])
        .arg(dir.path())
        .env_remove("REGROUP_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("regroup serve starts");
    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    until("the server answering", 30, async || {
        http.get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    let list = || {
        let out = Command::new(env!("CARGO_BIN_EXE_regroup"))
            .args(["node", "list", "--data-dir"])
            .arg(dir.path())
            .env_remove("REGROUP_DATABASE_URL")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(list().contains("east-1\talive\t0\t0\t"), "{}", list());

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("regroup serve did not stop within 10 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    assert!(!list().contains("east-1"), "{}", list());
}

/// Two nodes on one PostgreSQL database: a room lives on exactly one of
/// them. Both room pages name the same node's socket, a socket that reaches
/// the other node is told to move there, and only one node ever runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_lives_on_one_node_and_sockets_elsewhere_are_moved_there() {
    let a = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let b = a.another_node().await;
    let nodes = a.store().nodes().await.unwrap();
    assert_eq!(nodes.len(), 2, "{nodes:?}");

    let s = setup(
        &a,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let (from_a, from_b) = (
        socket_named_by(&a, &s.session, &s.cookie).await,
        socket_named_by(&b, &s.session, &s.cookie).await,
    );
    // One of them says "here" (a path), the other names it (a full URL).
    let (home, away, other) = if from_a.starts_with('/') {
        (&a, &b, from_b)
    } else {
        (&b, &a, from_a)
    };
    let expected = format!(
        "{}/sessions/{}/ws",
        home.base.replace("http://", "ws://"),
        s.session
    );
    assert_eq!(other, expected);

    // The therapist's socket to the wrong node is moved, not served.
    let mut wrong = open(
        away,
        &format!("/sessions/{}/ws", s.session),
        Some(&s.cookie),
    )
    .await
    .expect("the socket opens, to be told where to go");
    let moved = expect(&mut wrong, "moved").await;
    assert_eq!(moved["url"], json!(other));
    let mut host = therapist(home, &s).await;
    // A client who reaches the other node is moved too.
    let mut ben = client(away, &s.tokens[0]).await.unwrap();
    let moved = expect(&mut ben, "moved").await;
    assert!(moved["url"]
        .as_str()
        .unwrap()
        .starts_with(&home.base.replace("http://", "ws://")));
    let mut ben = client(home, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    send(&mut host, json!({"type": "admit", "id": welcome["you"]})).await;
    expect(&mut ben, "admitted").await;
    assert_eq!(home.state.rooms.live(), 1);
    assert_eq!(away.state.rooms.live(), 0, "never served twice");
    drop(b);
}

/// Two nodes on one database and a group session with Ben and Cleo:
/// the node its room page names as home first, then the other.
async fn two_nodes_and_a_group() -> (TestApp, TestApp, crate::room::Setup) {
    let a = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let b = a.another_node().await;
    let s = setup(
        &a,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    if socket_named_by(&a, &s.session, &s.cookie)
        .await
        .starts_with('/')
    {
        (a, b, s)
    } else {
        (b, a, s)
    }
}

/// The node holding a room dies (its server and heartbeat stop at once, as
/// under `kill -9`). Within 15 s the room is back on the other node, the
/// client who was let in is in again without a second admission, and the
/// therapist's lock still holds for someone new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_rooms_node_dies_the_room_comes_back_on_another_as_it_was() {
    let (mut home, other, s) = two_nodes_and_a_group().await;
    let mut host = therapist(&home, &s).await;
    let mut ben = client(&home, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    send(&mut host, json!({"type": "admit", "id": welcome["you"]})).await;
    expect(&mut ben, "admitted").await;
    send(&mut host, json!({"type": "lock", "locked": true})).await;
    expect(&mut host, "roster").await;
    // Let the writes land before the crash.
    tokio::time::sleep(Duration::from_millis(300)).await;

    home.stop().await;
    let died = Instant::now();
    // Ben's browser reconnects, to the other node this time.
    let back = loop {
        assert!(
            died.elapsed() < Duration::from_secs(15),
            "the room did not come back within 15 s"
        );
        let mut ws = client(&other, &s.tokens[0]).await.unwrap();
        hello(&mut ws).await;
        let first = loop {
            let msg = expect_any(&mut ws).await;
            if ["welcome", "moved"].contains(&msg["type"].as_str().unwrap_or("")) {
                break msg;
            }
        };
        if first["type"] == "welcome" {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "room back on the other node {:?} after its node died",
        died.elapsed()
    );
    assert_eq!(back["state"], "admitted", "no second admission");
    assert_eq!(other.state.rooms.live(), 1);

    // The lock came along: Cleo, never let in, is turned away.
    let mut cleo = client(&other, &s.tokens[1]).await.unwrap();
    hello(&mut cleo).await;
    expect(&mut cleo, "locked").await;
    drop(home);
}

async fn expect_any(ws: &mut crate::room::Ws) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    break serde_json::from_str(text.as_str()).unwrap()
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a message within 10 s")
}

/// A change made through another node reaches the room where it is open:
/// the therapist removes one client through node B's API and cancels the
/// session, while the room lives on node A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_on_another_node_reach_the_open_room() {
    let (home, other, s) = two_nodes_and_a_group().await;
    let mut host = therapist(&home, &s).await;
    let mut guests = Vec::new();
    for token in &s.tokens {
        let mut ws = client(&home, token).await.unwrap();
        hello(&mut ws).await;
        let welcome = expect(&mut ws, "welcome").await;
        send(&mut host, json!({"type": "admit", "id": welcome["you"]})).await;
        expect(&mut ws, "admitted").await;
        guests.push(ws);
    }

    // Cleo comes off the session, through the other node.
    let since = Instant::now();
    let response = other
        .patch_auth(
            &format!("/api/v1/video-sessions/{}", s.session),
            &s.bearer,
            &json!({"client_ids": [s.clients[0]]}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    expect(&mut guests[1], "removed").await;
    let took = since.elapsed();
    eprintln!("a removal made on another node reached the room in {took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // Then the session is cancelled there: the room ends for everyone.
    let response = other
        .delete_auth(
            &format!("/api/v1/video-sessions/{}", s.session),
            &s.bearer,
            None,
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let ended = expect(&mut guests[0], "ended").await;
    assert_eq!(ended["message"], "Your therapist cancelled this session.");
    expect(&mut host, "ended").await;
}

/// Limits are the database's, not a node's: 60 wrong passwords for one
/// account, sent at once across three nodes, get at most five checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_throttle_holds_across_three_nodes() {
    let a = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let (b, c) = (a.another_node().await, a.another_node().await);
    a.verified_therapist("ana@example.com").await;
    let nodes = [&a, &b, &c];
    let attempts = (0..60).map(|i| {
        let node = nodes[i % 3];
        async move {
            node.api
                .post(node.url("/api/v1/auth/login"))
                .json(&json!({"email": "ana@example.com", "password": "not-the-password-1"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 5,
        "{checked} passwords were checked across three nodes"
    );
    assert_eq!(checked + throttled, 60, "{statuses:?}");
    assert_eq!(a.store().nodes().await.unwrap().len(), 3);
}

/// Jobs run once across nodes: three nodes look for due jobs at the same
/// moment, and the client gets one reminder, not three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_on_three_nodes_at_once_goes_out_once() {
    let a = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let (b, c) = (a.another_node().await, a.another_node().await);
    // Starts in 16 minutes: the 15-minute reminder is due in one.
    let _s = setup(
        &a,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        16,
    )
    .await;
    let reminders = |app: &TestApp| {
        app.mail_to("ben@example.com")
            .iter()
            .filter(|m| m.subject.starts_with("Starting soon"))
            .count()
    };
    assert_eq!(reminders(&a), 0);
    for node in [&a, &b, &c] {
        node.clock.advance(chrono::Duration::minutes(2));
    }
    let (ra, rb, rc) = tokio::join!(a.run_jobs(), b.run_jobs(), c.run_jobs());
    assert_eq!(
        ra + rb + rc,
        1,
        "one node ran the reminder ({ra}, {rb}, {rc})"
    );
    assert_eq!(reminders(&a), 1);
}

/// Three nodes find the scheduled backup due at the same moment: one of them
/// takes the slot and writes the backup, the others do nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_due_on_three_nodes_at_once_runs_once() {
    use regroup::backup::schedule::backup_if_due;
    let a = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let (b, c) = (a.another_node().await, a.another_node().await);
    let plan = regroup::backup::BackupPlan::from_config(a.config()).unwrap();
    let every = Duration::from_secs(3600);
    let (ra, rb, rc) = tokio::join!(
        backup_if_due(&a.state, &plan, every),
        backup_if_due(&b.state, &plan, every),
        backup_if_due(&c.state, &plan, every),
    );
    let ran = [ra, rb, rc]
        .into_iter()
        .map(|r| r.expect("the backup check works"))
        .filter(Option::is_some)
        .count();
    assert_eq!(ran, 1, "one node backed up");
    let files = std::fs::read_dir(a.data_dir.path().join("backups"))
        .unwrap()
        .count();
    assert!(files >= 1, "the backup was written");
}
