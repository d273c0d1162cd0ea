//! Throttling of sign-in and of the forms that send mail. Attempts are kept in
//! the database so every node sees them; subjects are keyed hashes, so the
//! table holds neither emails nor addresses.
//!
//! An attempt is counted *before* it is checked: insert, then count. Of any
//! number of concurrent attempts, the one whose row lands (N+1)th sees at
//! least N+1 rows, so at most N of them ever reach the password check.
//!
//! Sign-in limits, and why three of them:
//! - per account *and address* (5): the owner's usual limit. Wrong passwords
//!   sent from one address lock that account only from that address, so an
//!   attacker cannot lock the owner out from every address by guessing;
//! - per account from anywhere (50): caps guessing spread over many
//!   addresses; an attacker needs at least ten addresses to reach it;
//! - per address, any accounts (20): one address trying many accounts.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{AppError, AppResult};
use crate::store::Store;

pub const WINDOW_SECS: i64 = 15 * 60;
/// Wrong sign-ins for one account from one address (group) within the window.
pub const PAIR_LIMIT: i64 = 5;
/// Wrong sign-ins for one account from all addresses within the window.
pub const ACCOUNT_LIMIT: i64 = 50;
/// Wrong sign-ins from one address (any accounts) within the window.
pub const ADDRESS_LIMIT: i64 = 20;

/// What one sign-in is counted against.
pub struct Subjects {
    account: String,
    pair: String,
    address: String,
}

fn keyed(key: &[u8], label: &str, value: &str) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// IPv6 clients usually hold a whole /64, so they are throttled as one.
fn address_group(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl Subjects {
    pub fn new(key: &[u8], email: &str, addr: IpAddr) -> Self {
        let email = email.trim().to_lowercase();
        let group = address_group(addr);
        Self {
            account: keyed(key, "account", &email),
            pair: keyed(key, "account+address", &format!("{email}\0{group}")),
            address: keyed(key, "address", &group),
        }
    }

    fn limits(&self) -> [(&str, i64); 3] {
        [
            (&self.pair, PAIR_LIMIT),
            (&self.account, ACCOUNT_LIMIT),
            (&self.address, ADDRESS_LIMIT),
        ]
    }
}

/// A keyed subject for other throttles: `label` keeps each throttle's
/// subjects apart, `value` is an email or an address.
pub fn subject(key: &[u8], label: &str, value: &str) -> String {
    keyed(key, label, value)
}

/// A subject for the address a request came from (IPv6: its /64).
pub fn address_subject(key: &[u8], label: &str, addr: IpAddr) -> String {
    keyed(key, label, &address_group(addr))
}

/// One counted attempt; its rows stay as a failure unless it is forgotten.
#[must_use = "a right attempt must be forgotten, or it counts as a failure"]
pub struct Attempt {
    id: String,
}

impl Attempt {
    /// The attempt was right: it no longer counts.
    pub async fn forget(self, store: &Store) -> AppResult<()> {
        store.forget_attempt(&self.id).await?;
        Ok(())
    }
}

/// Counts one attempt against each subject, then refuses with 429 and a wait
/// time if that made any subject go over its limit; a refused attempt is not
/// counted (it was never checked). Within `window` seconds, every request
/// counts until `Attempt::forget`.
pub async fn take(
    store: &Store,
    limits: &[(&str, i64)],
    window: i64,
    now: i64,
) -> AppResult<Attempt> {
    let attempt = Attempt {
        id: crate::store::new_id(),
    };
    for (subject, _) in limits {
        store.record_attempt(subject, &attempt.id, now).await?;
    }
    let since = now - window;
    let mut wait = 0;
    for (subject, limit) in limits {
        let (count, oldest) = store.login_failures_since(subject, since).await?;
        if count > *limit {
            let until = oldest.unwrap_or(now) + window;
            wait = wait.max(until - now);
        }
    }
    if wait > 0 {
        metrics::counter!(crate::monitoring::names::THROTTLED).increment(1);
        attempt.forget(store).await?;
        return Err(AppError::too_many_attempts(wait.max(1) as u64));
    }
    Ok(attempt)
}

/// `take` for requests that count whatever their outcome (forms that send
/// mail): the attempt is never forgotten.
pub async fn count(store: &Store, limits: &[(&str, i64)], window: i64, now: i64) -> AppResult<()> {
    let _counted = take(store, limits, window, now).await?;
    Ok(())
}

/// `take` for a sign-in step (password or second factor).
pub async fn begin(store: &Store, subjects: &Subjects, now: i64) -> AppResult<Attempt> {
    take(store, &subjects.limits(), WINDOW_SECS, now).await
}

/// Every factor was right: the account's failures, and this address's
/// failures for it, are forgiven (not the address's failures elsewhere).
pub async fn clear(store: &Store, subjects: &Subjects) -> AppResult<()> {
    store.clear_login_failures(&subjects.account).await?;
    store.clear_login_failures(&subjects.pair).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_hide_the_email_and_address() {
        let s = Subjects::new(b"key", "Ana@Example.com", "203.0.113.9".parse().unwrap());
        assert!(!s.account.contains("ana"));
        assert!(!s.address.contains("203"));
        assert!(!s.pair.contains("ana") && !s.pair.contains("203"));
        assert_eq!(
            s.account,
            Subjects::new(b"key", "ana@example.com", "10.0.0.1".parse().unwrap()).account
        );
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_a_subject() {
        let a = Subjects::new(b"k", "x@y.z", "2001:db8:1:2::1".parse().unwrap());
        let b = Subjects::new(b"k", "x@y.z", "2001:db8:1:2:ffff::9".parse().unwrap());
        let c = Subjects::new(b"k", "x@y.z", "2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a.address, b.address);
        assert_ne!(a.address, c.address);
    }
}
