use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice};
use url::Url;

use crate::clock::Clock;
use crate::keys::Keyring;
use crate::mail::Mailer;
use crate::store::Store;

/// What every handler can reach. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub keys: Keyring,
    /// Audit entries of requests, written in batches (see `audit::GroupCommit`).
    pub audit: crate::audit::GroupCommit,
    pub mailer: Arc<Mailer>,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    /// The media engine (its threads stop when the last clone drops).
    pub sfu: regroup_sfu::SfuHandle,
    /// Live video rooms, one actor each.
    pub rooms: crate::room::Rooms,
    /// This server among the nodes sharing the database.
    pub node: Arc<crate::nodes::Node>,
}

/// Settings derived from the configuration once the server knows its address.
#[derive(Debug)]
pub struct Settings {
    pub public_url: Url,
    pub session_idle: Duration,
    pub session_max: Duration,
    /// Keys the hashes of source addresses and emails in the throttling table.
    pub throttle_key: SecretSlice<u8>,
    /// Signs the satisfaction survey tickets sent when a session ends.
    pub survey_key: SecretSlice<u8>,
    pub job_interval: Option<Duration>,
    /// Region and city lookup for the analytics, when a database is configured.
    pub geoip: Option<crate::site::geo::GeoIp>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Days page views are kept before housekeeping deletes them.
    pub analytics_retention_days: u32,
    /// `/dev/outbox` is served (see `config::dev_outbox_served`).
    pub dev_outbox: bool,
}

impl Settings {
    /// Cookies get `Secure` and the `__Host-` prefix when people reach us over TLS.
    pub fn tls(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    pub fn throttle_key(&self) -> &[u8] {
        self.throttle_key.expose_secret()
    }

    pub fn survey_key(&self) -> &[u8] {
        self.survey_key.expose_secret()
    }

    /// An absolute link to `path` on the public site.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_holds_no_throttle_key() {
        let key = b"throttle-key-6".to_vec();
        let settings = Settings {
            public_url: Url::parse("https://video.example.org").unwrap(),
            session_idle: Duration::from_secs(60),
            session_max: Duration::from_secs(600),
            throttle_key: key.clone().into(),
            survey_key: b"survey-key-6".to_vec().into(),
            job_interval: None,
            geoip: None,
            trusted_proxies: Vec::new(),
            analytics_retention_days: 30,
            dev_outbox: false,
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains(&format!("{key:?}")), "{printed}");
        assert!(!printed.contains("throttle-key-6"), "{printed}");
        assert!(printed.contains("video.example.org"), "{printed}");
    }
}
