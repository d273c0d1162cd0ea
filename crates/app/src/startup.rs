use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::backup::BackupPlan;
use crate::clock::Clock;
use crate::config::{resolve_public_url, Config};
use crate::keys::{open_master_key, KeyStore, Keyring};
use crate::mail::Mailer;
use crate::state::{AppState, Settings};
use crate::store::Store;
use crate::tls::files::FileCert;
use crate::tls::TlsListener;

/// A bound, ready server. Tests build one on port 0 and ask for its port.
pub struct Application {
    listener: TcpListener,
    /// Set when the server speaks TLS itself (`--tls-cert`, `--tls-key`, `--acme-domain`).
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Certificate files to watch for renewals.
    cert_files: Option<Arc<FileCert>>,
    state: AppState,
    /// Bound when `--metrics-listen` asks for Prometheus metrics.
    metrics: Option<TcpListener>,
    /// Scheduled backups: the plan and the interval (`--backup-every`).
    backups: Option<(BackupPlan, Duration)>,
    /// How often this node writes its row in `nodes`.
    beat_every: Duration,
    /// Shared with other servers, refused to a master key rotation; dropped
    /// (released) when `run_until` returns.
    _data_lock: crate::data_lock::DataLock,
}

impl Application {
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        config.ensure_data_dir()?;
        // Held until the server stops: a master key rotation waits for it.
        let data_lock = crate::data_lock::for_serving(&config).await?;
        // Read first: a wrong certificate path should stop the start at once.
        let mut cert_files = None;
        let certificates: Option<Arc<dyn rustls::server::ResolvesServerCert>> =
            match (&config.tls, &config.acme) {
                (Some(files), _) => {
                    let loaded = FileCert::load(&files.cert, &files.key, crate::tls::provider())?;
                    cert_files = Some(loaded.clone());
                    Some(loaded)
                }
                (None, Some(acme)) => Some(crate::tls::acme::start(acme, &config.data_dir)?),
                (None, None) => None,
            };
        let tls = certificates.map(crate::tls::server_config).transpose()?;
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        let key_store =
            KeyStore::open(store.backend(), &config.data_dir, &config.database_url()).await?;
        let keys = Keyring::new(open_master_key(&config, &key_store).await?, key_store);
        let sealed = crate::auth::second_factor::seal_clear_secrets(&store, &keys).await?;
        if sealed > 0 {
            tracing::info!(
                count = sealed,
                "sealed authenticator secrets stored in clear"
            );
        }
        // Resolved before serving, so a missing or exposed backup key stops
        // the start instead of failing silently hours later.
        let backups = match config.backup.every {
            Some(every) => Some((BackupPlan::from_config(&config)?, every)),
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("while binding {}", config.listen))?;
        let bound = listener
            .local_addr()
            .context("while reading the bound address")?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(crate::monitoring::bind(addr).await?),
            None => None,
        };
        let mailer = Mailer::new(
            config.smtp_url.as_ref().map(|url| url.expose_secret()),
            &config.outbox_dir(),
            &config.mail_from,
        )?;
        let configured_url = config.public_url.clone().or_else(|| {
            let acme = config.acme.as_ref()?;
            crate::tls::acme::public_url(acme.domains.first()?, bound.port())
        });
        let public_url = resolve_public_url(configured_url.as_ref(), bound, tls.is_some());
        let dev_outbox = crate::config::dev_outbox_served(
            &public_url,
            config.smtp_url.is_some(),
            config.dev_outbox,
        )?;
        let settings = Settings {
            public_url,
            dev_outbox,
            session_idle: config.session_idle,
            session_max: config.session_max,
            throttle_key: store.server_secret("throttle").await?.into(),
            survey_key: store.server_secret("survey").await?.into(),
            job_interval: config.job_interval,
            geoip: crate::site::geo::GeoIp::open(config.geoip_db.as_deref())?,
            trusted_proxies: config.trusted_proxies.clone(),
            analytics_retention_days: config.analytics_retention_days,
        };
        let (sfu, sfu_events) = regroup_sfu::Sfu::start(config.media.sfu_config())
            .context("while starting the media engine")?;
        let rooms = crate::room::Rooms::new(&config.media);
        let audit = crate::audit::GroupCommit::start(store.clone(), keys.store().clone());
        let node = crate::nodes::Node::new(
            config.node.id.clone().unwrap_or_else(crate::store::new_id),
            config
                .node
                .url
                .clone()
                .unwrap_or_else(|| settings.public_url.clone()),
            // Milliseconds: a node restarted at once (systemd) must not look
            // like the run that was asked to drain.
            chrono::Utc::now().timestamp_millis(),
        );
        let state = AppState {
            store,
            keys,
            audit,
            mailer: Arc::new(mailer),
            clock,
            settings: Arc::new(settings),
            sfu,
            rooms,
            node: Arc::new(node),
        };
        crate::site::policy::seed(&state).await?;
        // Leases an earlier run of this node left behind are not rooms here.
        state.store.release_rooms_of(&state.node.id).await?;
        // The first beat before serving: other nodes see this one at once.
        crate::nodes::beat_once(&state).await;
        // Engine events (offers, speakers, disconnects) go to their room's actor.
        tokio::spawn(crate::room::dispatch_events(
            state.rooms.clone(),
            sfu_events,
        ));
        Ok(Self {
            listener,
            tls,
            cert_files,
            metrics,
            state,
            backups,
            beat_every: config.node.beat_every,
            _data_lock: data_lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The metrics listener's port, when metrics are served.
    pub fn metrics_port(&self) -> Option<u16> {
        let addr = self.metrics.as_ref()?.local_addr().ok()?;
        Some(addr.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets open requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        // Stops with the server even when the serving future is dropped
        // rather than finished: a node that is gone must look gone.
        let notices = AbortOnDrop(tokio::spawn(crate::room::across::follow_forever(
            self.state.clone(),
        )));
        let heartbeat = AbortOnDrop(tokio::spawn(crate::nodes::beat_forever(
            self.state.clone(),
            self.beat_every,
        )));
        let jobs = self
            .state
            .settings
            .job_interval
            .map(|every| tokio::spawn(crate::jobs::run_forever(self.state.clone(), every)));
        let backups = self.backups.map(|(plan, every)| {
            tokio::spawn(crate::backup::schedule::run_forever(
                self.state.clone(),
                plan,
                every,
            ))
        });
        let cert_watch = self.cert_files.map(|files| tokio::spawn(files.watch()));
        let metrics = self
            .metrics
            .map(|listener| tokio::spawn(crate::monitoring::serve(listener, self.state.clone())));
        let service = crate::routes::router(self.state.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = match self.tls {
            None => {
                axum::serve(self.listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Some(config) => {
                // tap_io: the wrapper axum gives the peer address for.
                let listener = TlsListener::new(self.listener, config)?.tap_io(|_| {});
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        }
        .context("while serving HTTP");
        housekeeping.abort();
        drop(heartbeat);
        drop(notices);
        if let Err(err) = self.state.store.node_gone(&self.state.node.id).await {
            tracing::warn!(error = %err, "could not remove this node's row");
        }
        self.state.rooms.shutdown();
        self.state.sfu.shutdown();
        if let Some(jobs) = jobs {
            jobs.abort();
        }
        if let Some(backups) = backups {
            backups.abort();
        }
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        if let Some(cert_watch) = cert_watch {
            cert_watch.abort();
        }
        self.state.store.close().await;
        self.state.keys.store().close().await;
        result
    }
}

/// A task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Periodic clean-up of expired sessions and old sign-in failures.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let now = state.clock.unix();
        let idle = state.settings.session_idle.as_secs() as i64;
        if let Err(err) = state.store.purge_expired_auth_sessions(now, idle).await {
            tracing::warn!(error = %err, "could not purge expired sessions");
        }
        if let Err(err) = state.store.purge_login_failures(now - 24 * 3600).await {
            tracing::warn!(error = %err, "could not purge old sign-in failures");
        }
        crate::site::housekeeping(&state).await;
        crate::surveys::housekeeping(&state).await;
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
