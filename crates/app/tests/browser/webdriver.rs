//! Video-room browsers over W3C WebDriver: Debian's Chromium (through
//! chromedriver) and Firefox ESR (through geckodriver).
//!
//! The protocol is fantoccini's: it opens and ends sessions, and sends the
//! commands (navigate, find by XPath, click, type, run scripts, window
//! size, screenshots). Ours is what the tests need around it: starting the
//! drivers in their own process group (`Service`), the browsers' arguments
//! (fake camera and microphone and the rest), and the steps a person takes
//! (find a visible element, click a button by its name, fill a labelled
//! field, wait for words, `settle`).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// A program on `PATH` (where `cargo install` and apt put drivers).
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A WebDriver server (chromedriver or geckodriver) in its own process
/// group, so that dropping it also ends every browser it started, even
/// after a panic mid-test.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    async fn start(program: &Path, args: &[String], port: u16) -> Service {
        let child = Command::new(program)
            .process_group(0)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
        let service = Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{}/status", service.base)).send().await {
                if r.status().is_success() {
                    return service;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer on port {port}",
                program.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // The group id is the driver's pid (process_group(0) above).
        let _ = Command::new("pkill")
            .args(["-KILL", "-g", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Engine {
    /// One chromedriver serves every Chromium of the test.
    Chromium {
        chromium: PathBuf,
        chromedriver: Service,
    },
    /// geckodriver serves one session at a time, so each Firefox gets its own.
    Firefox {
        firefox: PathBuf,
        geckodriver: PathBuf,
    },
}

/// Starts browsers of one kind; each `Browser` is a WebDriver session.
pub struct Driver {
    engine: Engine,
}

impl Driver {
    /// Debian's Chromium through chromedriver.
    pub async fn start() -> Driver {
        let chromium = find_program(
            "REGROUP_CHROMIUM",
            &["/usr/lib/chromium/chromium", "/usr/bin/chromium"],
        )
        .unwrap_or_else(|| panic!("Chromium not found: install it (apt-get install -y chromium chromium-driver) or set REGROUP_CHROMIUM"));
        let driver = find_program("REGROUP_CHROMEDRIVER", &["/usr/bin/chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver not found: install it (apt-get install -y chromium-driver) or set REGROUP_CHROMEDRIVER"));
        let port = free_port();
        let chromedriver = Service::start(&driver, &[format!("--port={port}")], port).await;
        Driver {
            engine: Engine::Chromium {
                chromium,
                chromedriver,
            },
        }
    }

    /// Debian's Firefox ESR through geckodriver (from crates.io).
    pub async fn firefox() -> Driver {
        let firefox = find_program(
            "REGROUP_FIREFOX",
            &["/usr/lib/firefox-esr/firefox-esr", "/usr/bin/firefox-esr", "/usr/bin/firefox"],
        )
        .unwrap_or_else(|| panic!("Firefox not found: install it (apt-get install -y firefox-esr) or set REGROUP_FIREFOX"));
        let geckodriver = std::env::var("REGROUP_GECKODRIVER")
            .ok()
            .map(PathBuf::from)
            .or_else(|| on_path("geckodriver"))
            .or_else(|| {
                let home = std::env::var_os("HOME")?;
                Some(PathBuf::from(home).join(".cargo/bin/geckodriver")).filter(|p| p.exists())
            })
            .unwrap_or_else(|| panic!("geckodriver not found: install it (cargo install geckodriver --locked) or set REGROUP_GECKODRIVER"));
        Driver {
            engine: Engine::Firefox {
                firefox,
                geckodriver,
            },
        }
    }

    pub async fn browser(&self) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let (service, base, caps) = match &self.engine {
            Engine::Chromium {
                chromium,
                chromedriver,
            } => (
                None,
                chromedriver.base.clone(),
                chromium_caps(chromium, profile.path()),
            ),
            Engine::Firefox {
                firefox,
                geckodriver,
            } => {
                let port = free_port();
                // geckodriver makes its Firefox profile under the root we
                // give it, so a killed run leaves nothing behind in /tmp.
                // Its own BiDi port too: the default (9222) is shared.
                let args = [
                    "--host=127.0.0.1".to_string(),
                    format!("--port={port}"),
                    format!("--websocket-port={}", free_port()),
                    format!("--profile-root={}", profile.path().display()),
                ];
                let service = Service::start(geckodriver, &args, port).await;
                let base = service.base.clone();
                (Some(service), base, firefox_caps(firefox))
            }
        };
        // Plain HTTP: the drivers listen on loopback only, so no TLS stack.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(serde_json::from_value(caps).expect("capabilities are an object"))
            .connect(&base)
            .await
            .unwrap_or_else(|e| panic!("the browser did not start: {e}"));
        Browser {
            client,
            _service: service,
            _profile: profile,
        }
    }
}

/// The `alwaysMatch` capabilities of a new session.
fn chromium_caps(chromium: &Path, profile: &Path) -> Value {
    let args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        // WebGL through ANGLE's software renderer, as a GPU would run it:
        // with `--disable-gpu` the background blur's segmentation took
        // 200–500 ms a frame here, this way about 10.
        "--use-angle=swiftshader".into(),
        "--enable-unsafe-swiftshader".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--use-fake-device-for-media-stream".into(),
        "--use-fake-ui-for-media-stream".into(),
        "--autoplay-policy=no-user-gesture-required".into(),
        "--disable-dev-shm-usage".into(),
        "--window-size=1200,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    json!({
        "browserName": "chrome",
        // "Cancel this session?" and the like: the person says yes.
        "unhandledPromptBehavior": "accept",
        "goog:chromeOptions": {"binary": chromium, "args": args}
    })
}

fn firefox_caps(firefox: &Path) -> Value {
    let prefs = json!({
        // A fake camera and microphone, allowed without a prompt.
        "media.navigator.streams.fake": true,
        "media.navigator.permission.disabled": true,
        // Real host addresses rather than mDNS names nobody here resolves.
        // (No loopback pref: this Firefox gathers no 127.0.0.1 candidate
        // even with `ice.loopback`, see `firefox.rs`.)
        "media.peerconnection.ice.obfuscate_host_addresses": false,
        "media.autoplay.default": 0,
        "media.autoplay.blocking_policy": 0,
        "browser.shell.checkDefaultBrowser": false,
        "app.update.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "toolkit.telemetry.enabled": false,
    });
    json!({
        "browserName": "firefox",
        "unhandledPromptBehavior": "accept",
        "moz:firefoxOptions": {
            "binary": firefox,
            "args": ["-headless", "-width=1200", "-height=900"],
            "prefs": prefs,
        }
    })
}

/// The XPath of the form field a label (by the start of its text) names.
fn labelled(label: &str) -> String {
    // Double quotes: labels such as "Client's name" hold apostrophes.
    format!("//*[@id=//label[starts-with(normalize-space(), \"{label}\")]/@for]")
}

/// The result of a command the test cannot go on without: a failure ends
/// the test with what the driver said.
fn must<T>(what: &str, result: Result<T, CmdError>) -> T {
    result.unwrap_or_else(|e| panic!("webdriver {what}: {e}"))
}

/// One browser window. Dropping it ends the session (fantoccini sends the
/// DELETE once the last handle is gone) and, for a Firefox, kills its
/// geckodriver.
pub struct Browser {
    client: Client,
    /// A Firefox's own geckodriver; dropped (killed) after the client.
    _service: Option<Service>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        must("goto", self.client.goto(url).await);
    }

    /// Runs `body` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, body: &str, args: Value) -> Value {
        let Value::Array(args) = args else {
            panic!("script arguments are a JSON array, not {args}");
        };
        must("script", self.client.execute(body, args).await)
    }

    /// Runs an async script: it must call `arguments[arguments.length - 1](result)`.
    pub async fn js_async(&self, body: &str) -> Value {
        must(
            "async script",
            self.client.execute_async(body, Vec::new()).await,
        )
    }

    /// Waits up to `secs` for a visible element matching `xpath`.
    async fn element(&self, xpath: &str, secs: u64) -> Element {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(element) = self.client.find(Locator::XPath(xpath)).await {
                // A stale element (the page changed under us) counts as hidden.
                if element.is_displayed().await.unwrap_or(false) {
                    return element;
                }
            }
            if Instant::now() > deadline {
                let text = self.text().await;
                panic!("no visible element {xpath} after {secs} s; page text: {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits up to `secs` for a visible element and returns its id.
    pub async fn find(&self, xpath: &str, secs: u64) -> String {
        self.element(xpath, secs).await.element_id().to_string()
    }

    /// Clicks a visible button by its name, the way a person would: its
    /// visible text, or for an icon button its accessible name (the words
    /// of its tooltip).
    pub async fn click_button(&self, text: &str) {
        self.click(&format!(
            "//button[normalize-space()='{text}' or @aria-label='{text}']"
        ))
        .await;
    }

    /// Clicks the visible element at `xpath`. Something drawn over it for a
    /// while (the room's "Reconnecting…" overlay on a busy machine) is
    /// waited out for up to 20 s, as a person would wait.
    pub async fn click(&self, xpath: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let element = self.element(xpath, 20).await;
            self.settle().await;
            match element.click().await {
                Err(CmdError::Standard(e))
                    if e.error == ErrorStatus::ElementClickIntercepted
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                result => return must("click", result),
            }
        }
    }

    /// Clicks a visible link by its visible text.
    pub async fn click_link(&self, text: &str) {
        self.click(&format!("//a[normalize-space()='{text}']"))
            .await;
    }

    /// Types into the field whose label starts with `label`, after clearing
    /// what the page had put there.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.element(&labelled(label), 20).await;
        must("clear", field.clear().await);
        must("send keys", field.send_keys(text).await);
    }

    /// Picks `option` (its visible text) in the list labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let list = labelled(label);
        self.click(&format!("{list}/option[normalize-space()=\"{option}\"]"))
            .await;
    }

    /// What the field labelled `label` holds.
    pub async fn value_of(&self, label: &str) -> String {
        let field = self.element(&labelled(label), 20).await;
        field.prop("value").await.ok().flatten().unwrap_or_default()
    }

    /// The HTTP status of the page the browser shows now, as the browser saw
    /// it (Navigation Timing), and its path.
    pub async fn page_status(&self) -> (u64, String) {
        let value = self
            .js(
                "const n = performance.getEntriesByType('navigation')[0]; \
                 return [n ? n.responseStatus : 0, location.pathname]",
                json!([]),
            )
            .await;
        (
            value[0].as_u64().unwrap_or(0),
            value[1].as_str().unwrap_or_default().to_string(),
        )
    }

    pub async fn type_into(&self, xpath: &str, text: &str) {
        let element = self.element(xpath, 20).await;
        must("send keys", element.send_keys(text).await);
    }

    /// Waits until the visible text of the page contains `needle`.
    pub async fn wait_text(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return;
            }
            if Instant::now() > deadline {
                let trace = self
                    .js(
                        "return window.regroup ? window.regroup.trace.join(' ') : ''",
                        json!([]),
                    )
                    .await;
                panic!("page never showed {needle:?}; it shows: {text:?}; messages: {trace}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn text(&self) -> String {
        self.js("return document.body.innerText", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves what the page looks like as `name`.png in the folder named by
    /// `REGROUP_SCREENSHOTS`, when set: a way to look at the room by eye.
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("REGROUP_SCREENSHOTS") else {
            return;
        };
        // A picture is for looking at by eye: a failed one fails no test.
        let png = self.client.screenshot().await.unwrap_or_default();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }

    /// Sets the window's outer size, e.g. a phone's 390×844.
    pub async fn set_window(&self, width: u32, height: u32) {
        must(
            "window size",
            self.client.set_window_size(width, height).await,
        );
        self.settle().await;
    }

    /// Waits until nothing on the page is still moving: two frames drawn
    /// (so a resize or a closed panel has been laid out), then no running
    /// transition of a box's place or size (tiles glide 0.2 s to a new
    /// layout). A person waits for a button to stop before clicking it; on
    /// a busy machine the frames come late, so a fixed sleep is not enough.
    /// Gives up after 5 s, by a timer as well (a page whose compositor is
    /// saturated, e.g. blurring a background in software, may draw no frame
    /// for a long while), and lets the next step say what it found.
    pub async fn settle(&self) {
        self.js_async(
            "const done = arguments[arguments.length - 1]; \
             let frames = 0; let finished = false; \
             const finish = () => { if (!finished) { finished = true; done(frames); } }; \
             setTimeout(finish, 5000); \
             const geometry = new Set(['left', 'top', 'width', 'height', 'inset', 'transform']); \
             const moving = () => document.getAnimations().some((a) => a.playState === 'running' \
                 && typeof CSSTransition !== 'undefined' && a instanceof CSSTransition && geometry.has(a.transitionProperty)); \
             const frame = () => { frames += 1; \
                 if (frames >= 2 && !moving()) finish(); \
                 else if (!finished) requestAnimationFrame(frame); }; \
             requestAnimationFrame(frame);",
        )
        .await;
    }

    /// Presses keys with the focus on the element at `xpath` (WebDriver
    /// Element Send Keys: it focuses the element first).
    pub async fn press_on(&self, xpath: &str, keys: &str) {
        self.type_into(xpath, keys).await;
    }

    /// As `screenshot`, at a phone's width; the window size comes back after.
    pub async fn phone_screenshot(&self, name: &str) {
        if std::env::var("REGROUP_SCREENSHOTS").is_err() {
            return;
        }
        let (width, height) = must("window size", self.client.get_window_size().await);
        self.set_window(390, 844).await;
        self.screenshot(name).await;
        self.set_window(width as u32, height as u32).await;
    }

    pub async fn quit(self) {
        let _ = self.client.close().await;
    }
}
