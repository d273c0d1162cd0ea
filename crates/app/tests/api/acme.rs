//! Certificates from an ACME authority: Debian's pebble (a test CA that
//! validates for real over TLS-ALPN-01) with pebble-challtestsrv answering its
//! DNS, so `regroup.test` points at loopback.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use regroup::tls::acme::AcmeSettings;
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

const DOMAIN: &str = "regroup.test";

/// Pebble's certificates live this long, so renewal (at two thirds) comes
/// within the test.
const VALIDITY_SECS: u64 = 30;

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// pebble and its DNS server, stopped on drop.
struct Pebble {
    children: Vec<Child>,
    directory: String,
    management: String,
    /// Trusted for pebble's own HTTPS (directory and management).
    tls_root: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(program: &str, args: &[&str], envs: &[(&str, &str)], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|err| {
            panic!("cannot start {program} ({err}): install it with `apt-get install pebble` (scripts/test does)")
        })
}

impl Pebble {
    /// Starts both, validating challenges against `tls_port` on loopback.
    async fn start(tls_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let cert = dir.path().join("pebble.pem");
        let key = dir.path().join("pebble.key");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let (listen, management, dns, dns_admin) =
            (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": cert, "privateKey": key,
            "httpPort": free_port(), "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": false,
            "certificateValidityPeriod": VALIDITY_SECS,
        }});
        let config_path = dir.path().join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let dns_addr = format!("127.0.0.1:{dns}");
        let admin_addr = format!("127.0.0.1:{dns_admin}");
        let challtestsrv = spawn(
            "pebble-challtestsrv",
            &[
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                &dns_addr,
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &admin_addr,
            ],
            &[],
            &dir.path().join("challtestsrv.log"),
        );
        let pebble = spawn(
            "pebble",
            &[
                "-config",
                config_path.to_str().unwrap(),
                "-dnsserver",
                &dns_addr,
            ],
            // No random validation delays, no random nonce rejections.
            &[("PEBBLE_VA_NOSLEEP", "1"), ("PEBBLE_WFE_NONCEREJECT", "0")],
            &dir.path().join("pebble.log"),
        );
        let me = Self {
            children: vec![challtestsrv, pebble],
            directory: format!("https://127.0.0.1:{listen}/dir"),
            management: format!("https://127.0.0.1:{management}"),
            tls_root: cert,
            _dir: dir,
        };
        let client = me.client();
        let up = Instant::now();
        while client.get(&me.directory).send().await.is_err() {
            assert!(
                up.elapsed() < Duration::from_secs(20),
                "pebble did not start: {}",
                me.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        me
    }

    fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.tls_root).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap()
    }

    /// The root that pebble's issued certificates chain to.
    async fn issuing_root(&self) -> reqwest::Certificate {
        let pem = self
            .client()
            .get(format!("{}/roots/0", self.management))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        reqwest::Certificate::from_pem(&pem).unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("pebble.log")).unwrap_or_default()
    }
}

/// The leaf certificate the server presents for `DOMAIN`, once one that
/// pebble's root vouches for is served (hostname checked by the client).
async fn served_leaf(
    root: &reqwest::Certificate,
    port: u16,
    not: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root.clone())
        .resolve(DOMAIN, SocketAddr::from(([127, 0, 0, 1], port)))
        .tls_info(true)
        // A new connection each time, so a renewed certificate shows.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = client
        .get(format!("https://{DOMAIN}:{port}/healthz"))
        .send()
        .await
        .ok()?;
    assert_eq!(response.status(), StatusCode::OK);
    let leaf = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()?
        .to_vec();
    (Some(leaf.as_slice()) != not).then_some(leaf)
}

async fn wait_for_leaf(
    root: &reqwest::Certificate,
    port: u16,
    not: Option<&[u8]>,
    what: &str,
    pebble: &Pebble,
) -> Vec<u8> {
    let since = Instant::now();
    loop {
        if let Some(leaf) = served_leaf(root, port, not).await {
            return leaf;
        }
        assert!(
            since.elapsed() < Duration::from_secs(90),
            "no {what} certificate within 90 s; pebble's log:\n{}",
            pebble.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_certificate_is_obtained_over_acme_served_and_renewed_before_it_expires() {
    let port = free_port();
    let pebble = Pebble::start(port).await;
    let settings = AcmeSettings {
        domains: vec![DOMAIN.into()],
        email: "operations@regroup.test".into(),
        directory: pebble.directory.clone(),
        directory_root: Some(pebble.tls_root.clone()),
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.listen = SocketAddr::from(([127, 0, 0, 1], port));
        config.acme = Some(settings);
        // No SMTP server in tests: mail stays in the outbox on purpose.
        config.dev_outbox = true;
    })
    .await;
    assert_eq!(
        app.state.settings.public_url.as_str(),
        format!("https://{DOMAIN}:{port}/")
    );
    let root = pebble.issuing_root().await;

    let first = wait_for_leaf(&root, port, None, "first", &pebble).await;
    // Kept in the data directory, so a restart serves it without ordering again.
    assert!(app.data_dir.path().join("acme").read_dir().unwrap().count() > 0);

    let renewed = wait_for_leaf(&root, port, Some(&first), "renewed", &pebble).await;
    assert_ne!(first, renewed);
}
