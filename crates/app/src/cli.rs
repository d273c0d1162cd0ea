use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::audit::Action;
use crate::auth::{password, second_factor, totp};
use crate::backup::BackupPlan;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{DisplayName, Email, NewPassword};
use crate::keys::{open_master_key, rotate_master as rotate_master_keys, KeyStore, Keyring};
use crate::startup::{shutdown_signal, Application};
use crate::store::{NewAccount, Role, Store};
use regroup_vault::MasterKey;

#[derive(Parser, Debug)]
#[command(
    name = "regroup",
    version,
    about = "Private video sessions for therapists and their clients"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(StorageArgs),
    /// Manage operator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// See and drain the nodes (servers) that share the database.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write one encrypted backup of the main database (never the key store),
    /// then delete all but the newest --keep backups.
    Backup {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        backup: BackupArgs,
    },
    /// Decrypt, verify and restore a backup into the configured database.
    Restore {
        /// The `.backup` file to restore.
        file: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
        /// Replace an existing SQLite file or a non-empty PostgreSQL database.
        #[arg(long)]
        force: bool,
        /// Base64 backup key; default: the key file DATA_DIR/backup.key.
        #[arg(long, env = "REGROUP_BACKUP_KEY", hide_env_values = true)]
        backup_key: Option<SecretString>,
    },
}

/// Where backups go and how they are encrypted; shared by `backup` and `serve`.
#[derive(Args, Debug)]
struct BackupArgs {
    /// Folder for encrypted backups (default: DATA_DIR/backups).
    #[arg(long, env = "REGROUP_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// How many of the newest backups to keep; older ones are deleted.
    #[arg(
        long = "keep",
        visible_alias = "backup-keep",
        env = "REGROUP_BACKUP_KEEP",
        default_value_t = 14,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    keep: u32,
    /// Base64 backup key (32 bytes); default: the key file DATA_DIR/backup.key, created on first backup.
    #[arg(long, env = "REGROUP_BACKUP_KEY", hide_env_values = true)]
    backup_key: Option<SecretString>,
}

impl BackupArgs {
    fn apply(&self, config: &mut Config) {
        config.backup.dir = self.backup_dir.clone();
        config.backup.keep = self.keep as usize;
        config.backup.key = self.backup_key.clone();
    }
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-wrap every therapist's data key under a new master key. The new key
    /// is written to DATA_DIR/master.key (the old one is kept as
    /// master.key.old until you delete it), or printed once when the master
    /// key comes from REGROUP_MASTER_KEY.
    RotateMaster(StorageArgs),
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// List the nodes, alive or dead, with their rooms and participants.
    List(StorageArgs),
    /// Ask a node to drain: it takes no new rooms and stops once its open
    /// rooms have ended (as SIGTERM does on its own machine).
    Drain {
        /// The node's id (`regroup node list`).
        id: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Walk the hash chain; exit non-zero naming the first altered, removed or inserted entry.
    Verify(StorageArgs),
}

#[derive(Args, Debug)]
struct StorageArgs {
    /// Folder for the SQLite database, keys and the mail outbox.
    #[arg(long, env = "REGROUP_DATA_DIR", default_value = "./regroup-data")]
    data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; default: SQLite in the data directory.
    #[arg(long, env = "REGROUP_DATABASE_URL", hide_env_values = true)]
    database_url: Option<SecretString>,
    /// Base64 master key (32 bytes); default: the key file DATA_DIR/master.key, created on first run.
    #[arg(long, env = "REGROUP_MASTER_KEY", hide_env_values = true)]
    master_key: Option<SecretString>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Address and port to listen on.
    #[arg(long, env = "REGROUP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The address people open, used in emailed links (default: http:// + listen address).
    #[arg(long, env = "REGROUP_PUBLIC_URL")]
    public_url: Option<Url>,
    /// `smtps://user:pass@host:465` or `smtp://host:587?tls=required`; unset: write mail to DATA_DIR/outbox.
    #[arg(long, env = "REGROUP_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<SecretString>,
    /// Without SMTP, list the outbox at /dev/outbox even when the public URL is not
    /// plain-http localhost (and allow an https public URL without SMTP). Never on a real site.
    #[arg(long, env = "REGROUP_DEV_OUTBOX")]
    dev_outbox: bool,
    /// The sender of every email.
    #[arg(
        long,
        env = "REGROUP_MAIL_FROM",
        default_value = "Regroup <no-reply@regroup.localhost>"
    )]
    mail_from: String,
    /// Minutes without activity after which a signed-in session ends.
    #[arg(long, env = "REGROUP_SESSION_IDLE_MINUTES", default_value_t = 30)]
    session_idle_minutes: u64,
    /// A MaxMind-format city database (.mmdb) for the region and city of page views.
    #[arg(long, env = "REGROUP_GEOIP_DB")]
    geoip_db: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For names the client, comma-separated
    /// addresses or networks (e.g. `127.0.0.1,10.0.0.0/8`).
    #[arg(long, env = "REGROUP_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// PEM certificate chain: serve HTTPS directly (with --tls-key).
    #[arg(long, env = "REGROUP_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "REGROUP_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    acme: AcmeArgs,
    /// Hours after which a signed-in session ends, active or not.
    #[arg(long, env = "REGROUP_SESSION_MAX_HOURS", default_value_t = 12)]
    session_max_hours: u64,
    #[command(flatten)]
    media: MediaArgs,
    /// Make an encrypted backup every this many hours (off when unset).
    #[arg(long, env = "REGROUP_BACKUP_EVERY_HOURS", value_parser = clap::value_parser!(u32).range(1..))]
    backup_every: Option<u32>,
    #[command(flatten)]
    backup: BackupArgs,
    /// Days page views (first-party analytics) are kept before they are deleted.
    #[arg(long, env = "REGROUP_ANALYTICS_RETENTION_DAYS",
          default_value_t = crate::site::analytics::DEFAULT_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    analytics_retention_days: u32,
    /// Serve Prometheus metrics at http://ADDRESS/metrics (e.g. 127.0.0.1:9464);
    /// off when unset. Keep it off the public network: it needs no sign-in.
    #[arg(long, env = "REGROUP_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    node: NodeArgs,
}

/// This server among several that share one PostgreSQL database.
#[derive(Args, Debug)]
struct NodeArgs {
    /// This node's name among the servers sharing the database (letters,
    /// digits, `-`, `_`, `.`); default: a new random id each start.
    #[arg(long, env = "REGROUP_NODE_ID", value_parser = parse_node_id)]
    node_id: Option<String>,
    /// The URL browsers reach this very node at (default: --public-url).
    #[arg(long, env = "REGROUP_NODE_URL")]
    node_url: Option<Url>,
    /// After SIGTERM or `regroup node drain`, how long to wait for open
    /// rooms to end before stopping anyway.
    #[arg(long, env = "REGROUP_DRAIN_TIMEOUT_MINUTES", default_value_t = 120)]
    drain_timeout_minutes: u64,
}

fn parse_node_id(id: &str) -> Result<String, String> {
    if crate::nodes::valid_id(id) {
        Ok(id.to_owned())
    } else {
        Err("use 1 to 64 letters, digits, '-', '_' or '.'".into())
    }
}

/// Certificates from an ACME authority (Let's Encrypt by default).
#[derive(Args, Debug)]
struct AcmeArgs {
    /// Obtain and renew HTTPS certificates for these domains (comma-separated)
    /// over ACME TLS-ALPN-01; the listen port must be reachable on 443 from the internet.
    #[arg(
        long,
        env = "REGROUP_ACME_DOMAIN",
        value_delimiter = ',',
        requires = "acme_email",
        conflicts_with = "tls_cert"
    )]
    acme_domain: Vec<String>,
    /// Contact address for the ACME account (expiry warnings).
    #[arg(long, env = "REGROUP_ACME_EMAIL")]
    acme_email: Option<String>,
    /// The ACME directory URL.
    #[arg(long, env = "REGROUP_ACME_DIRECTORY", default_value = crate::tls::acme::LETS_ENCRYPT)]
    acme_directory: String,
    /// PEM root certificate to trust for the ACME directory (staging or test authorities).
    #[arg(long, env = "REGROUP_ACME_DIRECTORY_ROOT")]
    acme_directory_root: Option<PathBuf>,
}

impl AcmeArgs {
    fn settings(self) -> Option<crate::tls::acme::AcmeSettings> {
        if self.acme_domain.is_empty() {
            return None;
        }
        Some(crate::tls::acme::AcmeSettings {
            domains: self.acme_domain,
            email: self.acme_email.unwrap_or_default(),
            directory: self.acme_directory,
            directory_root: self.acme_directory_root,
        })
    }
}

/// The media engine's sockets and what browsers are told about them.
#[derive(Args, Debug)]
struct MediaArgs {
    /// UDP address for all video and audio (port 0: any free port).
    #[arg(long, env = "REGROUP_MEDIA_UDP", default_value = "127.0.0.1:50000")]
    media_udp: SocketAddr,
    /// Passive ICE-TCP address for networks that block UDP.
    #[arg(long, env = "REGROUP_MEDIA_TCP", default_value = "127.0.0.1:50000")]
    media_tcp: SocketAddr,
    /// Turn ICE-TCP off.
    #[arg(long, env = "REGROUP_MEDIA_NO_TCP")]
    media_no_tcp: bool,
    /// Announce only the TCP candidate to browsers.
    #[arg(long, env = "REGROUP_MEDIA_TCP_ONLY")]
    media_tcp_only: bool,
    /// Public address(es) announced to browsers, comma-separated (required when binding 0.0.0.0).
    #[arg(long, env = "REGROUP_MEDIA_PUBLIC_IP", value_delimiter = ',')]
    media_public_ip: Vec<IpAddr>,
    /// TURN server URLs, comma-separated (e.g. `turn:turn.example.org:3478?transport=udp`).
    #[arg(long, env = "REGROUP_TURN_URLS", value_delimiter = ',')]
    turn_urls: Vec<String>,
    /// The TURN server's shared secret (coturn `static-auth-secret`).
    #[arg(long, env = "REGROUP_TURN_SECRET", hide_env_values = true)]
    turn_secret: Option<SecretString>,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create an operator account (admin or support) with a TOTP second factor.
    Create {
        #[command(flatten)]
        storage: StorageArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "support"])]
        role: String,
        /// Read the password from standard input (required, so it never shows in `ps`).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

impl StorageArgs {
    fn config(&self) -> Config {
        let mut config = Config::for_data_dir(self.data_dir.clone());
        config.database_url = self.database_url.clone();
        config.master_key = self.master_key.clone();
        config
    }

    async fn store(&self) -> anyhow::Result<Store> {
        let config = self.config();
        config.ensure_data_dir()?;
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        Ok(store)
    }
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve(*args).await,
            Command::Migrate(storage) => {
                storage.store().await?.close().await;
                println!("migrations applied");
                Ok(())
            }
            Command::Admin {
                command:
                    AdminCommand::Create {
                        storage,
                        email,
                        name,
                        role,
                        password_stdin: _,
                    },
            } => create_operator(&storage, &email, &name, &role).await,
            Command::Keys {
                command: KeysCommand::RotateMaster(storage),
            } => rotate_master(&storage).await,
            Command::Node {
                command: NodeCommand::List(storage),
            } => list_nodes(&storage).await,
            Command::Node {
                command: NodeCommand::Drain { id, storage },
            } => drain_node(&storage, &id).await,
            Command::Audit {
                command: AuditCommand::Verify(storage),
            } => verify_audit_log(&storage).await,
            Command::Backup { storage, backup } => make_backup(&storage, &backup).await,
            Command::Restore {
                file,
                storage,
                force,
                backup_key,
            } => {
                let mut config = storage.config();
                config.backup.key = backup_key;
                restore_backup(&config, &file, force).await
            }
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.storage.config();
    config.listen = args.listen;
    config.public_url = args.public_url;
    config.smtp_url = args.smtp_url;
    config.dev_outbox = args.dev_outbox;
    config.mail_from = args.mail_from;
    config.geoip_db = args.geoip_db;
    config.trusted_proxies = args.trusted_proxies;
    config.analytics_retention_days = args.analytics_retention_days;
    config.metrics_listen = args.metrics_listen;
    config.acme = args.acme.settings();
    config.tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::config::TlsFiles { cert, key }),
        _ => None,
    };
    config.session_idle = Duration::from_secs(args.session_idle_minutes.max(1) * 60);
    config.session_max = Duration::from_secs(args.session_max_hours.max(1) * 3600);
    config.media = crate::config::MediaConfig {
        udp: args.media.media_udp,
        tcp: (!args.media.media_no_tcp).then_some(args.media.media_tcp),
        public_ips: args.media.media_public_ip,
        tcp_only: args.media.media_tcp_only,
        turn_urls: args.media.turn_urls,
        turn_secret: args
            .media
            .turn_secret
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| !s.is_empty()),
    };
    args.backup.apply(&mut config);
    config.backup.every = args
        .backup_every
        .map(|hours| Duration::from_secs(u64::from(hours) * 3600));
    config.node = crate::nodes::NodeConfig {
        id: args.node.node_id,
        url: args.node.node_url,
        drain_timeout: Duration::from_secs(args.node.drain_timeout_minutes * 60),
        ..crate::nodes::NodeConfig::default()
    };
    let drain_timeout = config.node.drain_timeout;
    let app = Application::build(config, Clock::system()).await?;
    let state = app.state().clone();
    let url = state.settings.public_url.clone();
    tracing::info!(node = %state.node.id, "Regroup is running: open {url}");
    app.run_until(crate::nodes::stop_after_drain(
        state,
        shutdown_signal,
        drain_timeout,
    ))
    .await
}

async fn list_nodes(storage: &StorageArgs) -> anyhow::Result<()> {
    let store = storage.store().await?;
    let nodes = store.nodes().await.context("while reading the nodes");
    store.close().await;
    let now = chrono::Utc::now().timestamp();
    println!("id\tstate\trooms\tparticipants\turl");
    for node in nodes? {
        let state = match (node.is_alive(now), node.is_draining()) {
            (false, _) => "dead",
            (true, true) => "draining",
            (true, false) => "alive",
        };
        println!(
            "{}\t{state}\t{}\t{}\t{}",
            node.id, node.rooms, node.participants, node.url
        );
    }
    Ok(())
}

async fn drain_node(storage: &StorageArgs, id: &str) -> anyhow::Result<()> {
    let store = storage.store().await?;
    let asked = store.request_drain(id).await;
    store.close().await;
    let asked = asked.context("while asking the node to drain")?;
    anyhow::ensure!(asked, "no node is called {id:?}: see `regroup node list`");
    println!("node {id} drains: it takes no new rooms and stops once its rooms have ended");
    Ok(())
}

async fn make_backup(storage: &StorageArgs, args: &BackupArgs) -> anyhow::Result<()> {
    let mut config = storage.config();
    args.apply(&mut config);
    // The store first: it creates the data directory the key file goes in.
    let store = storage.store().await?;
    let plan = match BackupPlan::from_config(&config) {
        Ok(plan) => plan,
        Err(err) => {
            store.close().await;
            return Err(err);
        }
    };
    let made = crate::backup::create(&store, &plan).await;
    let traced = match &made {
        Ok(_) => crate::backup::audit_by_tool(&config, &store, Action::BackupMade).await,
        Err(_) => Ok(()),
    };
    store.close().await;
    let made = made?;
    traced?;
    println!(
        "wrote {} ({} bytes before encryption)",
        made.path.display(),
        made.bytes
    );
    for old in &made.removed {
        println!("deleted old backup {}", old.display());
    }
    Ok(())
}

async fn restore_backup(
    config: &Config,
    file: &std::path::Path,
    force: bool,
) -> anyhow::Result<()> {
    let restored = crate::backup::restore(config, file, force).await?;
    let made = chrono::DateTime::from_timestamp(restored.header.created_at, 0).map_or_else(
        || restored.header.created_at.to_string(),
        |t| t.to_rfc3339(),
    );
    println!(
        "restored the {} backup made {made} into {}: {} accounts, {} clients",
        restored.header.source.as_str(),
        restored.target,
        restored.accounts,
        restored.clients
    );
    println!("start the server with the same master key and key store; clients of therapists deleted since the backup stay unreadable");
    match restored.anchored {
        Some(seq) => println!("the audit log's anchor now points at entry {seq}, the newest in the backup"),
        None => println!("keys.db is not here yet, so the audit anchor was not moved: put keys.db in place and run this restore again with --force, or `regroup audit verify` will report the log as cut off"),
    }
    // A restore without the key store (or master key) still succeeds, but
    // every client would be unreadable: say so before the server starts.
    if config.database_url.is_none() {
        for (name, missing) in [
            ("keys.db", true),
            ("master.key", config.master_key.is_none()),
        ] {
            let path = config.data_dir.join(name);
            if missing && !path.exists() {
                println!(
                    "warning: {} is missing: put the one from the old machine there before starting, or no client will open",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

async fn verify_audit_log(storage: &StorageArgs) -> anyhow::Result<()> {
    let store = storage.store().await?;
    let config = storage.config();
    let key_store =
        KeyStore::open(store.backend(), &config.data_dir, &config.database_url()).await?;
    let report = crate::audit::verify(&store).await;
    let anchor = crate::audit::anchor::check(&store, &key_store).await;
    store.close().await;
    key_store.close().await;
    let (report, anchor) = (report?, anchor?);
    if let Some(b) = report.broken {
        anyhow::bail!("audit log broken at entry {}: {}", b.seq, b.problem);
    }
    if !anchor.holds() {
        anyhow::bail!("audit log does not match its anchor: {anchor}");
    }
    println!("audit log intact: {} entries ({anchor})", report.entries);
    Ok(())
}

async fn create_operator(
    storage: &StorageArgs,
    email: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<()> {
    let role = Role::parse(role).context("role must be admin or support")?;
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let name = DisplayName::parse(name).map_err(anyhow::Error::msg)?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("while reading the password from standard input")?;
    let chosen = input.trim_end_matches(['\r', '\n']);
    let chosen = NewPassword::parse(chosen, &[name.as_str(), email.as_str()])
        .map_err(|m| anyhow::anyhow!("password refused: {m}"))?;
    let store = storage.store().await?;
    let clock = Clock::system();
    let hash = password::hash(chosen.expose()).await?;
    let account = store
        .insert_account(
            NewAccount {
                role,
                name: name.as_str(),
                email: email.as_str(),
                password_hash: &hash,
                email_verified: true,
            },
            clock.unix(),
        )
        .await
        .map_err(|e| match crate::store::is_unique_violation(&e) {
            true => anyhow::anyhow!("an account with this email already exists"),
            false => anyhow::Error::new(e).context("while creating the operator"),
        })?;
    // Operators always sign in with a second factor.
    let secret = totp::new_secret();
    let config = storage.config();
    let key_store =
        KeyStore::open(store.backend(), &config.data_dir, &config.database_url()).await?;
    let keys = Keyring::new(open_master_key(&config, &key_store).await?, key_store);
    second_factor::store_pending(&store, &keys, &account.id, &secret, clock.unix())
        .await
        .map_err(|e| anyhow::anyhow!("while storing the authenticator secret: {e:?}"))?;
    store.enable_totp(&account.id, 0, clock.unix()).await?;
    println!("created {} operator {}", role.as_str(), account.id);
    println!("add this to an authenticator app (shown once):");
    println!("{}", totp::provisioning_uri(&secret, email.as_str())?);
    store.close().await;
    Ok(())
}

async fn rotate_master(storage: &StorageArgs) -> anyhow::Result<()> {
    let config = storage.config();
    config.ensure_data_dir()?;
    // Held to the end: no server may start (or run) on the old key meanwhile.
    let _alone = crate::data_lock::for_rotation(&config).await?;
    let store = storage.store().await?;
    let key_store =
        KeyStore::open(store.backend(), &config.data_dir, &config.database_url()).await?;
    let old = open_master_key(&config, &key_store).await?;
    match &config.master_key {
        Some(_) => {
            let new = MasterKey::generate();
            let count = rotate_master_keys(&key_store, &old, &new).await?;
            println!("re-wrapped {count} data keys; set REGROUP_MASTER_KEY to this new key (shown once):");
            println!("{}", new.to_base64().as_str());
        }
        None => {
            let path = config.data_dir.join("master.key");
            let new_path = config.data_dir.join("master.key.new");
            let old_path = config.data_dir.join("master.key.old");
            // The new key is on disk before any data key depends on it.
            let new = MasterKey::create_new(&new_path).context(
                "while writing master.key.new (if it is left from an interrupted rotation, remove it and retry)",
            )?;
            if let Err(err) = rotate_master_keys(&key_store, &old, &new).await {
                std::fs::remove_file(&new_path).ok();
                return Err(err);
            }
            std::fs::rename(&path, &old_path).context("while setting the old master key aside")?;
            std::fs::rename(&new_path, &path)
                .context("while putting the new master key in place")?;
            println!(
                "re-wrapped {count} data keys under a new master key ({}).",
                new.fingerprint(),
                count = key_store.all().await?.len()
            );
            println!(
                "the old key is in {}: delete it once backups of the key store made before now are gone.",
                old_path.display()
            );
        }
    }
    key_store.close().await;
    store.close().await;
    Ok(())
}

/// A network (`10.0.0.0/8`) or a single address (`127.0.0.1`).
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a network like 10.0.0.0/8"))
}
