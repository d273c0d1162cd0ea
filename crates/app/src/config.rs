use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Everything `regroup serve` needs, already parsed. Secrets (keys, and URLs
/// that may hold a password) are `SecretString`s, so `Debug` never shows them.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None` means the embedded SQLite file in the data directory.
    pub database_url: Option<SecretString>,
    /// `None` means `http://` plus the bound address.
    pub public_url: Option<Url>,
    /// `None` means mail is written to the outbox folder instead of sent.
    pub smtp_url: Option<SecretString>,
    /// Serve `/dev/outbox` even though the public URL is not plain-http
    /// loopback (see `dev_outbox_served`).
    pub dev_outbox: bool,
    pub mail_from: String,
    pub session_idle: Duration,
    pub session_max: Duration,
    /// Base64 master key from the environment; `None` means the key file.
    pub master_key: Option<SecretString>,
    /// How often due jobs (invitations, reminders) are looked for; `None`
    /// turns the background runner off (tests run jobs by hand).
    pub job_interval: Option<Duration>,
    /// The media engine and TURN: see `MediaConfig`.
    pub media: MediaConfig,
    /// A MaxMind-format (`.mmdb`) city database; `None` records no region or city.
    pub geoip_db: Option<PathBuf>,
    /// Reverse proxies (addresses or networks) allowed to name the client in
    /// `X-Forwarded-For`; empty means the socket's peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// PEM certificate chain and private key: serve HTTPS directly.
    pub tls: Option<TlsFiles>,
    /// Encrypted backups: where, how many, with which key, how often.
    pub backup: BackupConfig,
    /// Days page views are kept (the privacy policy states the default).
    pub analytics_retention_days: u32,
    /// Where Prometheus scrapes `/metrics`; `None` (the default) serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// Certificates from an ACME authority instead of `tls` files.
    pub acme: Option<crate::tls::acme::AcmeSettings>,
    /// This server as a node among several sharing the database.
    pub node: crate::nodes::NodeConfig,
}

/// Encrypted backups of the main database (never the key store).
#[derive(Clone, Debug)]
pub struct BackupConfig {
    /// `None` means `DATA_DIR/backups`.
    pub dir: Option<PathBuf>,
    /// How many of the newest backups rotation keeps (at least 1).
    pub keep: usize,
    /// Base64 backup key from the environment; `None` means `DATA_DIR/backup.key`.
    pub key: Option<SecretString>,
    /// How often `serve` makes a backup; `None` turns scheduled backups off.
    pub every: Option<Duration>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: None,
            keep: 14,
            key: None,
            every: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where the media engine listens and what it tells browsers.
#[derive(Clone)]
pub struct MediaConfig {
    /// The one UDP port for all media (ICE-lite). Port 0 picks a free port.
    pub udp: SocketAddr,
    /// Passive ICE-TCP for networks that block UDP; `None` turns it off.
    pub tcp: Option<SocketAddr>,
    /// Addresses announced to browsers (behind NAT: the public IP, same ports forwarded).
    pub public_ips: Vec<IpAddr>,
    /// Announce only the TCP candidate (tests and UDP-hostile deployments).
    pub tcp_only: bool,
    /// `turn:`/`turns:` URLs handed to browsers with short-lived credentials.
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret`; TURN is off without it.
    pub turn_secret: Option<String>,
}

impl std::fmt::Debug for MediaConfig {
    /// By hand, to leave out the TURN secret (a plain `String`, as the room
    /// hands it on); naming every field makes a new one a compile error here.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            udp,
            tcp,
            public_ips,
            tcp_only,
            turn_urls,
            turn_secret,
        } = self;
        f.debug_struct("MediaConfig")
            .field("udp", udp)
            .field("tcp", tcp)
            .field("public_ips", public_ips)
            .field("tcp_only", tcp_only)
            .field("turn_urls", turn_urls)
            .field("turn_secret", &turn_secret.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl MediaConfig {
    /// The engine's configuration: 16 people per room, defaults otherwise.
    pub fn sfu_config(&self) -> regroup_sfu::SfuConfig {
        regroup_sfu::SfuConfig {
            udp_addr: self.udp,
            tcp_addr: self.tcp,
            public_ips: self.public_ips.clone(),
            max_participants: 16,
            ..regroup_sfu::SfuConfig::default()
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            udp: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            public_ips: Vec::new(),
            tcp_only: false,
            turn_urls: Vec::new(),
            turn_secret: None,
        }
    }
}

impl Config {
    /// A configuration for tests and local runs: port 0, everything in `data_dir`.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            public_url: None,
            smtp_url: None,
            dev_outbox: false,
            mail_from: "Regroup <no-reply@regroup.localhost>".into(),
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(12 * 3600),
            master_key: None,
            job_interval: Some(Duration::from_secs(5)),
            media: MediaConfig::default(),
            geoip_db: None,
            trusted_proxies: Vec::new(),
            tls: None,
            backup: BackupConfig::default(),
            analytics_retention_days: crate::site::analytics::DEFAULT_RETENTION_DAYS,
            metrics_listen: None,
            acme: None,
            node: crate::nodes::NodeConfig::default(),
        }
    }

    /// The `--database-url` given, if any.
    pub fn given_database_url(&self) -> Option<&str> {
        self.database_url.as_ref().map(|url| url.expose_secret())
    }

    pub fn database_url(&self) -> String {
        match self.given_database_url() {
            Some(url) => url.to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("regroup.db").display()
            ),
        }
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Creates the data directory, private to this user (see `data_dir`).
    pub fn ensure_data_dir(&self) -> anyhow::Result<()> {
        crate::data_dir::prepare(&self.data_dir)
    }
}

/// Whether `/dev/outbox` is served. It shows every mail the server wrote,
/// reset links and client invitations included, to anyone who opens it, so
/// only when no SMTP server is set and either the public URL is plain http on
/// this machine (`localhost`, a loopback address) or the operator asked for
/// it. A public https site without SMTP would silently send nobody mail and
/// keep it in the outbox instead: that refuses to start unless asked for.
pub fn dev_outbox_served(public_url: &Url, smtp: bool, asked: bool) -> anyhow::Result<bool> {
    if smtp {
        return Ok(false);
    }
    if asked {
        return Ok(true);
    }
    if public_url.scheme() == "https" {
        anyhow::bail!(
            "the public URL {public_url} is https but no mail server is set, so mail would \
             never leave this machine: set --smtp-url (REGROUP_SMTP_URL), or pass --dev-outbox \
             (REGROUP_DEV_OUTBOX=true) to keep mail in the outbox on purpose"
        );
    }
    let local = match public_url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    Ok(local)
}

/// The address people open: the configured public URL, or the bound address
/// (https when the server speaks TLS itself).
pub fn resolve_public_url(configured: Option<&Url>, bound: SocketAddr, tls: bool) -> Url {
    match configured {
        Some(url) => url.clone(),
        None => {
            let scheme = if tls { "https" } else { "http" };
            // A literal address always parses as a URL host.
            Url::parse(&format!("{scheme}://{bound}")).expect("socket address forms a valid URL")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(url: &str, smtp: bool, asked: bool) -> anyhow::Result<bool> {
        dev_outbox_served(&Url::parse(url).unwrap(), smtp, asked)
    }

    #[test]
    fn the_outbox_is_served_only_on_plain_http_loopback_without_smtp() {
        assert!(served("http://127.0.0.1:8080", false, false).unwrap());
        assert!(served("http://[::1]:8080", false, false).unwrap());
        assert!(served("http://localhost:8080", false, false).unwrap());
        assert!(served("http://regroup.localhost", false, false).unwrap());
        assert!(!served("http://0.0.0.0:8080", false, false).unwrap());
        assert!(!served("http://192.168.1.20:8080", false, false).unwrap());
        assert!(!served("http://video.example.org", false, false).unwrap());
        assert!(!served("http://127.0.0.1:8080", true, false).unwrap());
        assert!(!served("http://127.0.0.1:8080", true, true).unwrap());
    }

    #[test]
    fn the_flag_serves_it_anywhere_without_smtp() {
        assert!(served("http://video.example.org", false, true).unwrap());
        assert!(served("https://video.example.org", false, true).unwrap());
    }

    #[test]
    fn https_without_smtp_refuses_to_start() {
        let err = served("https://video.example.org", false, false).unwrap_err();
        assert!(err.to_string().contains("--smtp-url"), "{err}");
        assert!(err.to_string().contains("--dev-outbox"), "{err}");
        assert!(!served("https://video.example.org", true, false).unwrap());
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let mut config = Config::for_data_dir("/srv/regroup".into());
        config.database_url = Some("postgres://app:db-pass-1@db/regroup".into());
        config.smtp_url = Some("smtps://mail:smtp-pass-2@mail.example.org".into());
        config.master_key = Some("master-key-3".into());
        config.backup.key = Some("backup-key-4".into());
        config.media.turn_secret = Some("turn-secret-5".into());
        let printed = format!("{config:?} {config:#?}");
        for secret in [
            "db-pass-1",
            "smtp-pass-2",
            "master-key-3",
            "backup-key-4",
            "turn-secret-5",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("/srv/regroup"), "{printed}");
    }
}
