use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The source of "now" for everything that expires. Tests use a manual
/// clock so that idle timeouts and token expiry can be checked without sleeping.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time; only ever changed by tests.
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset.load(Ordering::Relaxed))
    }

    /// Unix seconds, the form every timestamp takes in the database.
    pub fn unix(&self) -> i64 {
        self.now().timestamp()
    }

    /// Moves this clock forward; used by tests to cross expiry boundaries.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// Unix seconds as the API and exports write times: RFC 3339 in UTC, whole
/// seconds (`2026-03-01T09:30:00Z`).
pub fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
