//! Short-lived TURN credentials in the form coturn's `use-auth-secret` checks
//! (the "TURN REST API" draft): username `expiry:participant`, password
//! base64(HMAC-SHA1(secret, username)). The secret never leaves the server.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::protocol::IceServer;

/// How long handed-out credentials stay valid.
pub const LIFETIME_SECS: i64 = 4 * 3600;

/// The TURN servers for one participant, or none when TURN is not configured.
pub fn ice_servers(urls: &[String], secret: Option<&str>, who: &str, now: i64) -> Vec<IceServer> {
    let Some(secret) = secret else {
        return Vec::new();
    };
    if urls.is_empty() {
        return Vec::new();
    }
    let username = format!("{}:{who}", now + LIFETIME_SECS);
    vec![IceServer {
        urls: urls.to_vec(),
        credential: password(secret, &username),
        username,
    }]
}

fn password(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_match_coturns_formula() {
        // Reference value: `echo -n "1700014400:p1" | openssl dgst -sha1 -hmac s3cret -binary | base64`
        let servers = ice_servers(
            &["turn:turn.example.org:3478".into()],
            Some("s3cret"),
            "p1",
            1_700_000_000,
        );
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].username, "1700014400:p1");
        assert_eq!(servers[0].credential, "fCGsHm+FuYWdl9jwHRTnFR0GJC4=");
    }

    #[test]
    fn no_turn_without_a_secret_or_urls() {
        assert!(ice_servers(&["turn:x".into()], None, "p", 0).is_empty());
        assert!(ice_servers(&[], Some("s"), "p", 0).is_empty());
    }
}
