//! The one storage interface. SQLite (the embedded default) and PostgreSQL sit
//! behind sqlx's `Any` driver; the SQL here is the subset both understand
//! (`$n` parameters, `ON CONFLICT`, `RETURNING`), and each backend has its own
//! migrations folder for the places where their types differ.

mod accounts;
mod analytics;
mod audit;
mod auth_sessions;
mod backup_runs;
mod calendar_feeds;
mod clients;
mod detached;
mod email_tokens;
mod jobs;
#[cfg(test)]
mod migration_folders;
mod nodes;
mod recovery_codes;
mod room_leases;
mod room_notices;
mod room_state;
mod secrets;
mod site;
mod surveys;
mod throttle;
mod video_sessions;

pub use accounts::{Account, AccountStatus, NewAccount, Role};
pub use analytics::{Breakdown, DayRange, PageView};
pub use audit::{AuditFields, AuditRow, ChainLink, OwnedFields};
pub use auth_sessions::{AuthSession, SessionKind};
pub use calendar_feeds::CalendarFeedRow;
pub use clients::{ClientRow, SealedClient};
pub use site::{
    Acknowledgement, AnnouncementRow, DirectoryRow, InquiryRow, PolicyVersion, TicketMessage,
    TicketRow, TrackedLink,
};

pub(crate) use detached::{detached, outside_transaction};
pub use email_tokens::{EmailToken, TokenPurpose};
pub use jobs::JobRow;
pub use nodes::{Beat, NodeRow, NODE_TIMEOUT_SECS};
pub use room_leases::LEASE_SECS;
pub use room_notices::RoomNoticeRow;
pub use room_state::KeptRoom;
pub use surveys::{SurveyAnswer, SurveyCell, SurveyTotals, TOTALS_STEP};
pub use video_sessions::{InvitationStatus, Kind, ParticipantRow, SessionRow, SessionStatus};

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;

/// A pooled connection idle this long is pinged before it is handed out, so
/// one the database dropped meanwhile (a restart, an idle timeout) is
/// replaced instead of failing a request.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Serialises audit appends on SQLite (see `append_audit_entry`).
    audit_append: Arc<tokio::sync::Mutex<()>>,
    /// Transactions running on their own tasks (see `detached`): one per
    /// pooled connection.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Store {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("the database URL must start with sqlite: or postgres://");
        };
        let options = AnyConnectOptions::from_str(url).context("while reading the database URL")?;
        let connections = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out, and again every one
            // given back: on SQLite each ping is a hand-off to the
            // connection's thread and back, on PostgreSQL a round trip. Only
            // a connection that sat idle is checked on the way out now; a
            // busy one was just checked on its way back.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if !outside_transaction(conn) {
                        return Ok(false);
                    }
                    if meta.idle_for >= PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_waits_and_wal(conn).await?;
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("while connecting to the database")?;
        Ok(Self {
            pool,
            backend,
            audit_append: Arc::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(connections as usize)),
        })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&self.pool)
            .await
            .context("while applying database migrations")
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.slots
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store {
    /// The row of `table` whose `key` column equals `value`, as `columns`:
    /// the lookup by id (or token hash) that many tables share. The names are
    /// `'static` so they can only be literals from this module, never input.
    async fn row_where<T>(
        &self,
        table: &'static str,
        columns: &'static str,
        key: &'static str,
        value: &str,
    ) -> Result<Option<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        sqlx::query_as(&format!("SELECT {columns} FROM {table} WHERE {key} = $1"))
            .bind(value)
            .fetch_optional(self.pool())
            .await
    }
}

/// A fresh random id: UUIDv7 keeps index locality, and its random tail keeps
/// it unguessable enough for URLs that are also access-checked.
/// Every SQLite connection, here and in the key store: busy_timeout first
/// and on its own, so that whatever follows waits for a lock instead of
/// failing; then WAL (pages read while a write is under way), set only when
/// the file is not in WAL yet: asking again takes a lock, which a tool run
/// beside a busy server (`regroup node drain`) then failed to get at once.
pub(crate) async fn sqlite_waits_and_wal(
    conn: &mut sqlx::AnyConnection,
) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA busy_timeout = 5000").await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.execute("PRAGMA journal_mode = WAL").await?;
    }
    Ok(())
}

pub use crate::ids::new_id;

/// A column held a value the code does not know (`column`, value): an error
/// when the row is read, never a silent default.
#[derive(Debug, thiserror::Error)]
#[error("unknown {0} {1:?} in the database")]
pub struct UnknownValue(pub &'static str, pub String);

/// True when the error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

impl Store {
    /// Overwrites the one probe row: proves the database takes writes now.
    pub async fn probe_write(&self, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
