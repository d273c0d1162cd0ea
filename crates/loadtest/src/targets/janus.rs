//! Janus (Debian's `janus` 1.1) with only the VideoRoom plugin and the HTTP
//! transport, configured in a temporary directory; and the harness's client
//! of its HTTP API: one Janus session, a publisher and a multistream
//! subscriber handle per peer.
//!
//! Janus never gathers loopback candidates (src/ice.c skips IFF_LOOPBACK),
//! so its media needs another address, and benchmarks may not use the
//! machine's own. `scripts/bench-sfu` runs the comparison in a network
//! namespace of its own with a test address and passes it as `--janus-ip`;
//! Janus is restricted to it with `ice_enforce_list`, and the peers bind it
//! too. The HTTP API listens on 127.0.0.1.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};

use super::http::request;
use super::janus_api as api;

/// Where Debian (and a source build) put the plugins and transports.
const LIB_DIRS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/janus",
    "/usr/lib/aarch64-linux-gnu/janus",
    "/usr/lib/janus",
    "/opt/janus/lib/janus",
];
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Janus answers a long poll after 30 s with a keepalive.
const LONG_POLL: Duration = Duration::from_secs(40);

pub struct JanusServer {
    child: Child,
    pub http: SocketAddr,
    dir: PathBuf,
}

impl JanusServer {
    /// Writes the configuration into a fresh temporary directory and starts
    /// `janus`, media on `ip` only; waits until its HTTP API answers.
    pub fn start(ip: IpAddr) -> anyhow::Result<JanusServer> {
        let lib = LIB_DIRS
            .iter()
            .map(Path::new)
            .find(|d| d.join("plugins/libjanus_videoroom.so").exists())
            .context("Janus's VideoRoom plugin is not installed (apt-get install janus)")?;
        let dir = std::env::temp_dir().join(format!(
            "regroup-bench-janus-{}-{}",
            std::process::id(),
            crate::stamp::micros(Instant::now())
        ));
        for sub in ["plugins", "transports", "none"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        // Only the plugin and transport under test get loaded.
        std::os::unix::fs::symlink(
            lib.join("plugins/libjanus_videoroom.so"),
            dir.join("plugins/libjanus_videoroom.so"),
        )?;
        std::os::unix::fs::symlink(
            lib.join("transports/libjanus_http.so"),
            dir.join("transports/libjanus_http.so"),
        )?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        fs::write(dir.join("janus.jcfg"), main_config(&dir, ip))?;
        fs::write(dir.join("janus.transport.http.jcfg"), http_config(port))?;
        fs::write(dir.join("janus.plugin.videoroom.jcfg"), "general: {\n}\n")?;
        let log = fs::File::create(dir.join("janus.out"))?;
        let child = Command::new("janus")
            .arg("--config")
            .arg(dir.join("janus.jcfg"))
            .arg("--configs-folder")
            .arg(&dir)
            .arg("--log-file")
            .arg(dir.join("janus.log"))
            .arg("--disable-colors")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting janus (apt-get install janus)")?;
        let mut server = JanusServer {
            child,
            http: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("janus exited ({status}); see {}", server.dir.display());
            }
            let info = request(server.http, "/janus/info", None, HTTP_TIMEOUT);
            if info.is_ok_and(|i| i["janus"] == "server_info") {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("janus did not answer on {}", server.http);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for JanusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Keep the directory (and Janus's log) when REGROUP_BENCH_KEEP is set.
        if std::env::var_os("REGROUP_BENCH_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn main_config(dir: &Path, ip: IpAddr) -> String {
    let d = dir.display();
    format!(
        r#"general: {{
	configs_folder = "{d}"
	plugins_folder = "{d}/plugins"
	transports_folder = "{d}/transports"
	events_folder = "{d}/none"
	loggers_folder = "{d}/none"
	debug_level = 3
	session_timeout = 0
	protected_folders = []
}}
media: {{
	rtp_port_range = "20000-60000"
}}
nat: {{
	nice_debug = false
	ice_enforce_list = "{ip}"
}}
plugins: {{
}}
transports: {{
}}
events: {{
}}
loggers: {{
}}
"#
    )
}

fn http_config(port: u16) -> String {
    format!(
        r#"general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
"#
    )
}

/// One Janus session over HTTP, with a long-poll thread for its events.
pub struct JanusClient {
    http: SocketAddr,
    session: u64,
    events: Receiver<Value>,
    next_transaction: u64,
    stop: Arc<AtomicBool>,
}

impl JanusClient {
    pub fn connect(http: SocketAddr) -> anyhow::Result<JanusClient> {
        let reply = request(
            http,
            "/janus",
            Some(&api::envelope("create", "create", json!({}))),
            HTTP_TIMEOUT,
        )?;
        let session = api::new_id(&reply).map_err(|e| anyhow!(e))?;
        let (tx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        let path = format!("/janus/{session}?maxev=20");
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let Ok(reply) = request(http, &path, None, LONG_POLL) else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let batch = match reply {
                    Value::Array(v) => v,
                    one => vec![one],
                };
                for e in batch {
                    if tx.send(e).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(JanusClient {
            http,
            session,
            events,
            next_transaction: 1,
            stop,
        })
    }

    fn transaction(&mut self) -> String {
        self.next_transaction += 1;
        format!("t{}", self.next_transaction)
    }

    /// A new VideoRoom handle.
    pub fn attach(&mut self) -> anyhow::Result<u64> {
        let t = self.transaction();
        let body = api::envelope("attach", &t, json!({ "plugin": api::VIDEOROOM }));
        let path = format!("/janus/{}", self.session);
        let reply = request(self.http, &path, Some(&body), HTTP_TIMEOUT)?;
        api::new_id(&reply).map_err(|e| anyhow!(e))
    }

    /// A synchronous VideoRoom request (`create`): its data.
    pub fn sync(&mut self, handle: u64, body: Value) -> anyhow::Result<Value> {
        let t = self.transaction();
        let path = format!("/janus/{}/{handle}", self.session);
        let reply = request(
            self.http,
            &path,
            Some(&api::message(&t, body, None)),
            HTTP_TIMEOUT,
        )?;
        api::plugin_data(&reply).cloned().map_err(|e| anyhow!(e))
    }

    /// An asynchronous request: Janus acks, then answers with an event on
    /// the long poll carrying the same transaction (and maybe a JSEP).
    pub fn call(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> anyhow::Result<(Value, Option<Value>)> {
        let t = self.transaction();
        let path = format!("/janus/{}/{handle}", self.session);
        let ack = request(
            self.http,
            &path,
            Some(&api::message(&t, body, jsep)),
            HTTP_TIMEOUT,
        )?;
        if ack["janus"] != "ack" {
            // Requests Janus refuses at once come back as a synchronous error.
            api::plugin_data(&ack).map_err(|e| anyhow!(e))?;
            bail!("Janus did not acknowledge: {}", ack["janus"]);
        }
        let deadline = Instant::now() + HTTP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self
                .events
                .recv_timeout(left)
                .context("no answer from Janus in time")?;
            if e["transaction"] == t.as_str() && e["janus"] == "event" {
                let data = api::plugin_data(&e).map_err(|e| anyhow!(e))?.clone();
                return Ok((data, e.get("jsep").cloned()));
            }
            // Others (webrtcup, media, slowlink) say nothing the bench needs.
        }
    }
}

impl Drop for JanusClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let path = format!("/janus/{}", self.session);
        let _ = request(
            self.http,
            &path,
            Some(&api::envelope("destroy", "bye", json!({}))),
            HTTP_TIMEOUT,
        );
    }
}

/// The SDP in a JSEP object.
pub fn sdp_of(jsep: Option<&Value>) -> anyhow::Result<&str> {
    jsep.and_then(|j| j["sdp"].as_str())
        .context("Janus sent no SDP")
}

/// Janus's room number for room `i` of a run.
fn room_id(i: usize) -> u64 {
    1000 + i as u64
}

/// One run against a fresh Janus.
pub fn run(cfg: &crate::bench::BenchConfig) -> anyhow::Result<super::Observed> {
    use crate::peer::{Peer, PeerSetup};
    use crate::stats::{peer_name, Counters};
    use std::sync::Mutex;

    let ip = cfg.janus_ip.context("janus needs --janus-ip")?;
    let server = JanusServer::start(ip)?;
    let mut janus = JanusClient::connect(server.http)?;
    let admin = janus.attach()?;
    for r in 0..cfg.rooms {
        janus.sync(admin, api::create_room(room_id(r), cfg.participants))?;
    }
    let mut crowd = super::Crowd::default();
    let spawn = |crowd: &mut super::Crowd, peer: Peer| -> anyhow::Result<()> {
        let stop = crowd.stop.clone();
        // Janus never renegotiates with these peers; nothing will be sent.
        let (_, control) = mpsc::channel();
        let t = std::thread::Builder::new()
            .name(format!(
                "{}{:02}",
                crate::bench::PEER_THREAD,
                crowd.threads.len() + 1
            ))
            .spawn(move || peer.run(control, stop))?;
        crowd.threads.push(t);
        Ok(())
    };
    let start = Instant::now();
    // Everyone publishes first; a subscription needs its feeds up.
    for r in 0..cfg.rooms {
        for i in 0..cfg.participants {
            let stats = Arc::new(Mutex::new(Counters::default()));
            crowd.stats.push((peer_name(i), stats.clone()));
            let setup = PeerSetup {
                ip,
                ..PeerSetup::new(i, cfg.simulcast)
            };
            let (mut peer, offer) = Peer::new(setup, stats)?;
            let handle = janus.attach()?;
            let body = api::publish(room_id(r), i as u64 + 1, &peer_name(i));
            let (_, jsep) = janus.call(handle, body, Some(api::jsep("offer", &offer, true)))?;
            peer.accept_answer(sdp_of(jsep.as_ref())?)?;
            spawn(&mut crowd, peer)?;
        }
    }
    let substream = api::substream(cfg.layer.cap_for(cfg.participants));
    for r in 0..cfg.rooms {
        for i in 0..cfg.participants {
            let feeds: Vec<u64> = (1..=cfg.participants as u64)
                .filter(|f| *f != i as u64 + 1)
                .collect();
            let handle = janus.attach()?;
            let (_, jsep) = subscribe_when_up(
                &mut janus,
                handle,
                room_id(r),
                &feeds,
                substream,
                start + cfg.connect_timeout,
            )?;
            let stats = crowd.stats[r * cfg.participants + i].1.clone();
            let (peer, answer) = Peer::subscriber(ip, sdp_of(jsep.as_ref())?, stats)?;
            janus.call(
                handle,
                api::start(),
                Some(api::jsep("answer", &answer, false)),
            )?;
            spawn(&mut crowd, peer)?;
        }
    }
    let observed = crowd.observe(cfg, start, server.pid());
    crowd.stop();
    observed
}

/// Subscribes once every feed is up: Janus refuses a feed whose publisher
/// connection has not started ("No such feed", 428) until then.
fn subscribe_when_up(
    janus: &mut JanusClient,
    handle: u64,
    room: u64,
    feeds: &[u64],
    substream: u64,
    deadline: Instant,
) -> anyhow::Result<(Value, Option<Value>)> {
    loop {
        match janus.call(handle, api::subscribe(room, feeds, substream), None) {
            Ok(r) => return Ok(r),
            Err(e) if e.to_string().contains("428") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.context("subscribing")),
        }
    }
}
