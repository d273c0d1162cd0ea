use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use url::Url;

/// Everything `regroup serve` needs, already parsed.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None` means the embedded SQLite file in the data directory.
    pub database_url: Option<String>,
    /// `None` means `http://` plus the bound address.
    pub public_url: Option<Url>,
    /// `None` means mail is written to the outbox folder instead of sent.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub session_idle: Duration,
    pub session_max: Duration,
    /// Base64 master key from the environment; `None` means the key file.
    pub master_key: Option<String>,
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
}

/// Encrypted backups of the main database (never the key store).
#[derive(Clone, Debug)]
pub struct BackupConfig {
    /// `None` means `DATA_DIR/backups`.
    pub dir: Option<PathBuf>,
    /// How many of the newest backups rotation keeps (at least 1).
    pub keep: usize,
    /// Base64 backup key from the environment; `None` means `DATA_DIR/backup.key`.
    pub key: Option<String>,
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
#[derive(Clone, Debug)]
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
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
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

    pub fn ensure_data_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "while creating the data directory {}",
                self.data_dir.display()
            )
        })
    }
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
