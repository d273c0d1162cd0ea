//! `TestApp`: a real server on a free port with its own database, on SQLite
//! (a temporary data directory) or PostgreSQL (a fresh database per test).

use std::path::PathBuf;

use mail_parser::{MessageParser, MimeHeaders};
use regroup::clock::Clock;
use regroup::config::Config;
use regroup::startup::Application;
use regroup::state::AppState;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

pub const PASSWORD: &str = "lantern-oyster-mosaic-41";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub browser: reqwest::Client,
    /// A plain API client without cookies.
    pub api: reqwest::Client,
    pub clock: Clock,
    pub data_dir: tempfile::TempDir,
    pub state: AppState,
    /// Where `/metrics` is served, when the test asked for it.
    pub metrics_port: Option<u16>,
    config: Config,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// What SIGTERM is to `regroup serve`: see `sigterm`.
    signal: std::sync::Arc<tokio::sync::Notify>,
    postgres_db: Option<String>,
    _turn: Turn,
}

/// One email from the outbox.
#[derive(Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The calendar attachment, if any.
    pub ics: Option<String>,
    /// Every address the message names (To, Cc, Bcc).
    pub recipients: Vec<String>,
}

fn admin_postgres_url() -> String {
    std::env::var("REGROUP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn fresh_postgres_database() -> (String, String) {
    let admin = admin_postgres_url();
    let name = format!("regroup_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
            "PostgreSQL is not reachable at {admin} ({e}); start it (pg_ctlcluster 15 main start) \
             or set REGROUP_TEST_POSTGRES_URL"
        )
        });
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("valid postgres URL");
    url.set_path(&name);
    (url.to_string(), name)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let turn = Turn::shared().await;
        Self::build(backend, adjust, turn).await
    }

    /// A server for a test that measures how fast it answers under a storm:
    /// no other test of this binary runs while it lives, so two cores shared
    /// with the rest of the suite do not decide the figure.
    pub async fn spawn_alone(backend: Backend) -> Self {
        let turn = Turn::alone().await;
        Self::build(backend, |_| {}, turn).await
    }

    async fn build(backend: Backend, adjust: impl FnOnce(&mut Config), turn: Turn) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_data_dir(data_dir.path().to_path_buf());
        let mut postgres_db = None;
        if let Backend::Postgres = backend {
            let (url, name) = fresh_postgres_database().await;
            config.database_url = Some(url.into());
            postgres_db = Some(name);
        }
        // Jobs run when a test says so, not on a timer racing the test.
        config.job_interval = None;
        adjust(&mut config);
        let clock = Clock::system();
        let app = Application::build(config.clone(), clock.clone())
            .await
            .expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let metrics_port = app.metrics_port();
        let signal = std::sync::Arc::new(tokio::sync::Notify::new());
        let server = tokio::spawn(serve(app, &signal, config.node.drain_timeout));
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let api = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base,
            browser,
            api,
            clock,
            data_dir,
            state,
            metrics_port,
            config,
            server,
            signal,
            postgres_db,
            _turn: turn,
        }
    }

    /// Stops the server and waits until it is gone (its data lock released).
    pub async fn stop(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
    }

    /// Stops the server and starts a new one on the same data (a restart).
    pub async fn restart(&mut self) {
        self.server.abort();
        let app = Application::build(self.config.clone(), self.clock.clone())
            .await
            .expect("app rebuilds");
        self.base = format!("http://127.0.0.1:{}", app.port());
        self.state = app.state().clone();
        self.server = tokio::spawn(serve(app, &self.signal, self.config.node.drain_timeout));
    }

    /// A second node on this app's database and data directory (its master
    /// key), as another machine of the same practice. PostgreSQL only. Its
    /// database goes when this app goes.
    #[allow(dead_code)]
    pub async fn another_node(&self) -> TestApp {
        self.another_node_with(|_| {}).await
    }

    /// As `another_node`, with its own settings on top of the shared ones
    /// (its node id and URL behind a proxy, say).
    #[allow(dead_code)]
    pub async fn another_node_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        assert!(
            self.postgres_db.is_some(),
            "several nodes share a PostgreSQL database"
        );
        let shared = self.config.clone();
        let turn = Turn::shared().await;
        let mut node = Self::build(
            Backend::Sqlite,
            move |c| {
                *c = shared;
                adjust(c);
            },
            turn,
        )
        .await;
        node.postgres_db = None;
        node
    }

    /// As SIGTERM to `regroup serve`: the first drains (no new rooms; the
    /// server stops once its rooms have ended), a second stops it at once.
    #[allow(dead_code)] // not every test binary that shares this file drains
    pub fn sigterm(&self) {
        self.signal.notify_waiters();
    }

    /// Whether the server has stopped serving.
    #[allow(dead_code)]
    pub fn stopped(&self) -> bool {
        self.server.is_finished()
    }

    /// `--database-url URL` for a command run on this app's data, when it
    /// is on PostgreSQL (SQLite lives in the data dir).
    #[allow(dead_code)] // used by the browser tests, which share this file
    pub fn database_url_args(&self) -> Vec<String> {
        match self.config.given_database_url() {
            Some(url) => vec!["--database-url".into(), url.to_owned()],
            None => Vec::new(),
        }
    }

    /// Runs the background jobs that are due now; returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        regroup::jobs::run_due(&self.state).await.expect("jobs run")
    }

    /// The configuration this server was built from (data dir, database URL).
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &regroup::store::Store {
        &self.state.store
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_auth(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.api
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// DELETE with a bearer token and, when given, a JSON body.
    pub async fn delete_auth(
        &self,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let request = self.api.delete(self.url(path)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        request.send().await.unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.api
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Every email written to the outbox, oldest first.
    pub fn outbox(&self) -> Vec<Mail> {
        let dir: PathBuf = self.data_dir.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|path| {
                let raw = std::fs::read(path).ok()?;
                let msg = MessageParser::default().parse(&raw)?;
                let addresses = |list: Option<&mail_parser::Address>| -> Vec<String> {
                    list.map(|a| {
                        a.iter()
                            .filter_map(|x| x.address().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
                };
                let mut recipients = addresses(msg.to());
                recipients.extend(addresses(msg.cc()));
                recipients.extend(addresses(msg.bcc()));
                let ics = msg.attachments().find_map(|a| {
                    let ct = a.content_type()?;
                    (ct.subtype() == Some("calendar"))
                        .then(|| String::from_utf8_lossy(a.contents()).to_string())
                });
                Some(Mail {
                    to: recipients.first().cloned().unwrap_or_default(),
                    subject: msg.subject().unwrap_or_default().to_string(),
                    text: msg.body_text(0).unwrap_or_default().to_string(),
                    ics,
                    recipients,
                })
            })
            .collect()
    }

    /// The mail sent to `to`, oldest first.
    pub fn mail_to(&self, to: &str) -> Vec<Mail> {
        self.outbox().into_iter().filter(|m| m.to == to).collect()
    }

    /// The newest link to `path_prefix` mailed to `to`.
    pub fn mailed_link(&self, to: &str, path_prefix: &str) -> String {
        let needle = format!("{}{}", self.base, path_prefix);
        self.outbox()
            .into_iter()
            .rev()
            .filter(|mail| mail.to == to)
            .find_map(|mail| {
                mail.text
                    .split_whitespace()
                    .find(|w| w.starts_with(&needle))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no {path_prefix} link mailed to {to}"))
    }

    /// The token at the end of the newest mailed link.
    pub fn mailed_token(&self, to: &str, path_prefix: &str) -> String {
        let link = self.mailed_link(to, path_prefix);
        link.rsplit('/').next().unwrap().to_string()
    }

    pub async fn sign_up(&self, name: &str, email: &str) -> Value {
        let response = self
            .post_json(
                "/api/v1/therapists",
                &json!({"name": name, "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// A therapist who signed up and verified the email.
    pub async fn verified_therapist(&self, email: &str) -> Value {
        let created = self.sign_up("Ana Ruiz", email).await;
        let token = self.mailed_token(email, "/verify-email/");
        let response = self
            .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        created
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login_with_code(
        &self,
        email: &str,
        password: &str,
        code: String,
    ) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password, "totp_code": code}),
        )
        .await
    }

    /// A new bearer token for an existing, verified therapist.
    pub async fn fresh_token(&self, email: &str) -> String {
        let body: Value = self.login(email, PASSWORD).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// A verified therapist's bearer token.
    pub async fn token_for(&self, email: &str) -> String {
        self.verified_therapist(email).await;
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// GETs a page with the browser client and returns (status, html).
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.browser.get(self.url(path)).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Submits a form the way a browser does, with the CSRF token from `from_page`.
    pub async fn submit(
        &self,
        from_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (_, html) = self.page(from_page).await;
        let token = csrf_token(&html);
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.browser
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Signs the browser client in through the pages.
    pub async fn browser_sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.submit(
            "/sign-in",
            "/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF token") + marker.len();
    html[start..start + 43].to_string()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_db.take() {
            // Dropped on a separate thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_postgres_url()).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Declares each scenario as two tests: one on SQLite and one on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await;
                }
            }
        )*
    };
}

/// Signs in an operator (admin) created straight in the store, as the CLI does.
pub async fn operator_token(app: &TestApp) -> String {
    let hash = regroup::auth::password::hash(PASSWORD).await.unwrap();
    app.state
        .store
        .insert_account(
            regroup::store::NewAccount {
                role: regroup::store::Role::Admin,
                name: "Olive Operator",
                email: "olive@regroup.example",
                password_hash: &hash,
                email_verified: true,
            },
            app.clock.unix(),
        )
        .await
        .unwrap();
    let response = app.login("olive@regroup.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// Serves as `regroup serve` does, with the test's `signal` for SIGTERM.
fn serve(
    app: Application,
    signal: &std::sync::Arc<tokio::sync::Notify>,
    timeout: std::time::Duration,
) -> impl std::future::Future<Output = anyhow::Result<()>> {
    let state = app.state().clone();
    let signal = signal.clone();
    let terminated = move || {
        let signal = signal.clone();
        async move { signal.notified().await }
    };
    app.run_until(regroup::nodes::stop_after_drain(state, terminated, timeout))
}

/// Who runs now: any number of tests share the binary, or one runs alone.
/// Shared turns are never refused while another shared turn is held, so a
/// test that starts a second server cannot deadlock; a test waiting to run
/// alone waits until no shared turn is left.
struct Turn {
    alone: bool,
}

struct Turns {
    shared: usize,
    alone: bool,
}

static TURNS: std::sync::Mutex<Turns> = std::sync::Mutex::new(Turns {
    shared: 0,
    alone: false,
});
static TURN_ENDED: tokio::sync::Notify = tokio::sync::Notify::const_new();

impl Turn {
    async fn shared() -> Self {
        Self::take(false).await
    }

    async fn alone() -> Self {
        Self::take(true).await
    }

    async fn take(alone: bool) -> Self {
        loop {
            // Registered before the check, so an end in between still wakes us.
            let ended = TURN_ENDED.notified();
            {
                let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
                let free = !turns.alone && (!alone || turns.shared == 0);
                if free {
                    if alone {
                        turns.alone = true;
                    } else {
                        turns.shared += 1;
                    }
                    return Self { alone };
                }
            }
            ended.await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        if self.alone {
            turns.alone = false;
        } else {
            turns.shared -= 1;
        }
        drop(turns);
        TURN_ENDED.notify_waiters();
    }
}
