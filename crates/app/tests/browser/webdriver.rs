//! Just enough W3C WebDriver to drive Debian's Chromium through chromedriver:
//! open pages, find elements by XPath, click, type, run scripts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// One chromedriver process; each `Browser` is a session (a Chromium) in it.
pub struct Driver {
    child: Child,
    base: String,
    chromium: PathBuf,
    http: reqwest::Client,
}

impl Driver {
    pub async fn start() -> Driver {
        let chromium = find_program(
            "REGROUP_CHROMIUM",
            &["/usr/lib/chromium/chromium", "/usr/bin/chromium"],
        )
        .unwrap_or_else(|| panic!("Chromium not found: install it (apt-get install -y chromium chromium-driver) or set REGROUP_CHROMIUM"));
        let driver = find_program("REGROUP_CHROMEDRIVER", &["/usr/bin/chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver not found: install it (apt-get install -y chromium-driver) or set REGROUP_CHROMEDRIVER"));
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // Its own process group, so that dropping the driver can also end
        // any Chromium it started, even after a panic mid-test.
        let child = Command::new(driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver {
            child,
            base,
            chromium,
            http,
        }
    }

    pub async fn browser(&self) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
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
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self.chromium, "args": args}
        }}});
        let response: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .unwrap();
        let id = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {response}"))
            .to_string();
        Browser {
            url: format!("{}/session/{id}", self.base),
            driver_addr: self.base.trim_start_matches("http://").to_string(),
            session_id: id,
            http: self.http.clone(),
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0) above).
        let _ = Command::new("pkill")
            .args(["-KILL", "-g", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Browser {
    url: String,
    driver_addr: String,
    session_id: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Ends the WebDriver session so chromedriver quits this Chromium. Drop
    /// cannot await, so this is one blocking HTTP/1.1 request by hand.
    fn drop(&mut self) {
        let Ok(mut stream) = std::net::TcpStream::connect(&self.driver_addr) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session_id, self.driver_addr
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.expect("chromedriver answers");
        let value: Value = response.json().await.unwrap_or(Value::Null);
        value["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let value = self.call(reqwest::Method::POST, path, body).await;
        if let Some(err) = value.get("error") {
            panic!("webdriver {path}: {err}: {}", value["message"]);
        }
        value
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn add_cookie(&self, name: &str, value: &str) {
        self.post(
            "/cookie",
            json!({"cookie": {"name": name, "value": value, "path": "/"}}),
        )
        .await;
    }

    /// Runs `body` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, body: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": body, "args": args }))
            .await
    }

    /// Runs an async script: it must call `arguments[arguments.length - 1](result)`.
    pub async fn js_async(&self, body: &str) -> Value {
        self.post("/execute/async", json!({ "script": body, "args": [] }))
            .await
    }

    async fn try_find(&self, xpath: &str) -> Option<String> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "xpath", "value": xpath}),
            )
            .await;
        value[ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits up to `secs` for an element and returns its id.
    pub async fn find(&self, xpath: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(id) = self.try_find(xpath).await {
                let shown = self
                    .call(
                        reqwest::Method::GET,
                        &format!("/element/{id}/displayed"),
                        Value::Null,
                    )
                    .await;
                if shown.as_bool() == Some(true) {
                    return id;
                }
            }
            if Instant::now() > deadline {
                let text = self.js("return document.body.innerText", json!([])).await;
                panic!("no visible element {xpath} after {secs} s; page text: {text}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks a visible button by its visible text, the way a person would.
    pub async fn click_button(&self, text: &str) {
        self.click(&format!("//button[normalize-space()='{text}']"))
            .await;
    }

    pub async fn click(&self, xpath: &str) {
        let id = self.find(xpath, 20).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    pub async fn type_into(&self, xpath: &str, text: &str) {
        let id = self.find(xpath, 20).await;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await;
    }

    /// Waits until the visible text of the page contains `needle`.
    pub async fn wait_text(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.js("return document.body.innerText", json!([])).await;
            if text.as_str().is_some_and(|t| t.contains(needle)) {
                return;
            }
            if Instant::now() > deadline {
                let trace = self
                    .js(
                        "return window.regroup ? window.regroup.trace.join(' ') : ''",
                        json!([]),
                    )
                    .await;
                panic!("page never showed {needle:?}; it shows: {text}; messages: {trace}");
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

    pub async fn quit(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}
