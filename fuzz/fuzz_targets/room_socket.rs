//! The room actor's input, as two strangers could send it: a therapist's
//! and a client's socket to one live room of a real in-process server
//! (SQLite in a temporary directory). Each input is split into lines; a
//! line's first byte picks the socket, the rest is sent as one text frame.
//! After every input the server must still admit a fresh therapist socket
//! to a room (a new session when the input ended or emptied the old one)
//! and answer `/healthz`.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use regroup::clock::Clock;
use regroup::config::Config;
use regroup::startup::Application;
use regroup::store::{NewAccount, Role, SessionKind};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    runtime: tokio::runtime::Runtime,
    base: String,
    data_dir: std::path::PathBuf,
    cookie: String,
    bearer: String,
    http: reqwest::Client,
    /// The session and client link the current inputs go to.
    room: Mutex<Option<(String, String)>>,
    /// A session no input touches, opened after each input to prove the
    /// server still runs rooms.
    canary: Mutex<Option<String>>,
}

const PASSWORD: &str = "correct horse battery staple 42";

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let data_dir = std::env::temp_dir().join(format!("regroup-fuzz-{}", std::process::id()));
        let (base, cookie, bearer) = runtime.block_on(async {
            let mut config = Config::for_data_dir(data_dir.clone());
            config.listen = "127.0.0.1:0".parse().expect("an address");
            config.media.udp = "127.0.0.1:0".parse().expect("an address");
            config.media.tcp = None;
            config.job_interval = None;
            let app = Application::build(config, Clock::system()).await.expect("the app builds");
            let base = format!("http://127.0.0.1:{}", app.port());
            let state = app.state().clone();
            tokio::spawn(app.run_until(std::future::pending()));
            let hash = regroup::auth::password::hash(PASSWORD).await.expect("a hash");
            let account = state
                .store
                .insert_account(
                    NewAccount {
                        role: Role::Therapist,
                        name: "Ana Ruiz",
                        email: "ana@example.com",
                        password_hash: &hash,
                        email_verified: true,
                    },
                    state.clock.unix(),
                )
                .await
                .expect("the therapist is stored");
            let start = |kind| regroup::auth::session::start(&state, &account.id, kind);
            let (cookie, _) = start(SessionKind::Cookie).await.expect("a cookie session");
            let (bearer, _) = start(SessionKind::Bearer).await.expect("an API session");
            (base, cookie, bearer)
        });
        Server {
            runtime,
            base,
            data_dir,
            cookie,
            bearer,
            http: reqwest::Client::new(),
            room: Mutex::new(None),
            canary: Mutex::new(None),
        }
    })
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.bearer)
            .json(&body)
            .send()
            .await
            .expect("the API answers");
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    /// A new group session with one new client, starting now; returns the
    /// session id and the client's join token (from the outbox).
    async fn new_room(&self) -> (String, String) {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let email = format!("c{n}@example.com");
        let client = self.post("/api/v1/clients", json!({"name": "Ben Okafor", "email": email})).await;
        let starts = (chrono_now() + 60).to_string();
        let session = self
            .post(
                "/api/v1/video-sessions",
                json!({"kind": "group", "starts_at": rfc3339(&starts), "duration_minutes": 240,
                       "time_zone": "UTC", "client_ids": [client["id"]]}),
            )
            .await;
        let token = mailed_join_token(&self.data_dir, &email);
        (session["id"].as_str().expect("an id").to_string(), token)
    }

    async fn open(&self, path: &str, cookie: bool) -> Result<Ws, u16> {
        let url = format!("{}{path}", self.base).replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("a request");
        let headers = request.headers_mut();
        headers.insert("origin", self.base.parse().expect("a header"));
        if cookie {
            let value = format!("regroup_session={}", self.cookie);
            headers.insert("cookie", value.parse().expect("a header"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(ws),
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("the socket failed: {other}"),
        }
    }
}

fn chrono_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 of a Unix time given as text (no date crate needed here).
fn rfc3339(unix: &str) -> String {
    let secs: i64 = unix.parse().unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The join token in the newest invitation mailed to `to`.
fn mailed_join_token(data_dir: &std::path::Path, to: &str) -> String {
    let mut found = None;
    for entry in std::fs::read_dir(data_dir.join("outbox")).expect("the outbox").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        // Undo quoted-printable soft line breaks before looking for the link.
        let text = text.replace("=\r\n", "").replace("=\n", "");
        if !text.contains(to) {
            continue;
        }
        if let Some(at) = text.find("/join/") {
            let token: String = text[at + 6..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            found = Some(token);
        }
    }
    found.expect("an invitation was mailed")
}

async fn drain(ws: &mut Ws) {
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(2), ws.next()).await {}
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    server.runtime.block_on(async {
        let mut room = server.room.lock().await;
        if room.is_none() {
            *room = Some(server.new_room().await);
        }
        let (session, token) = room.clone().expect("a room");
        let therapist = server.open(&format!("/sessions/{session}/ws"), true).await;
        let client = server.open(&format!("/join/{token}/ws"), false).await;
        let (Ok(mut therapist), Ok(mut client)) = (therapist, client) else {
            // An earlier input ended the session or removed the client: a
            // new room for the next inputs.
            *room = Some(server.new_room().await);
            return;
        };
        for line in data.split(|b| *b == b'\n').take(64) {
            let Some((&pick, frame)) = line.split_first() else {
                continue;
            };
            let ws = if pick % 2 == 0 { &mut therapist } else { &mut client };
            let text = String::from_utf8_lossy(frame).into_owned();
            if ws.send(Message::Text(text.into())).await.is_err() {
                break;
            }
            drain(ws).await;
        }
        let _ = therapist.close(None).await;
        let _ = client.close(None).await;

        // Still serving: healthz, and a therapist socket to a room says welcome.
        let health = server
            .http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("the server answers");
        assert!(health.status().is_success(), "healthz: {}", health.status());
        let mut canary = server.canary.lock().await;
        if canary.is_none() {
            *canary = Some(server.new_room().await.0);
        }
        let fresh = canary.clone().expect("a canary room");
        let mut ws = server
            .open(&format!("/sessions/{fresh}/ws"), true)
            .await
            .expect("a new room opens");
        ws.send(Message::Text(json!({"v": 1, "type": "hello"}).to_string().into()))
            .await
            .expect("hello is sent");
        let welcome = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Text(text) = frame {
                    if text.contains("\"welcome\"") {
                        return true;
                    }
                }
            }
            false
        })
        .await;
        assert_eq!(welcome, Ok(true), "a fresh room no longer says welcome");
        let _ = ws.close(None).await;
    });
});
