//! Sign-in throttling per account and per source address. Failures are kept in
//! the database so every node sees them; subjects are keyed hashes, so the
//! table holds neither emails nor addresses.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{AppError, AppResult};
use crate::store::Store;

pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one account within the window before it is locked for a while.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures from one address (any accounts) within the window.
pub const ADDRESS_LIMIT: i64 = 20;

pub struct Subjects {
    account: String,
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
        Self {
            account: keyed(key, "account", &email.trim().to_lowercase()),
            address: keyed(key, "address", &address_group(addr)),
        }
    }
}

/// Refuses with 429 and a wait time when either subject failed too often.
pub async fn check(store: &Store, subjects: &Subjects, now: i64) -> AppResult<()> {
    let since = now - WINDOW_SECS;
    let mut wait = 0;
    for (subject, limit) in [
        (&subjects.account, ACCOUNT_LIMIT),
        (&subjects.address, ADDRESS_LIMIT),
    ] {
        let (count, oldest) = store.login_failures_since(subject, since).await?;
        if count >= limit {
            let until = oldest.unwrap_or(now) + WINDOW_SECS;
            wait = wait.max(until - now);
        }
    }
    if wait > 0 {
        return Err(AppError::too_many_attempts(wait.max(1) as u64));
    }
    Ok(())
}

pub async fn record_failure(store: &Store, subjects: &Subjects, now: i64) -> AppResult<()> {
    store.record_login_failure(&subjects.account, now).await?;
    store.record_login_failure(&subjects.address, now).await?;
    Ok(())
}

/// A successful sign-in forgives the account's failures (not the address's).
pub async fn clear(store: &Store, subjects: &Subjects) -> AppResult<()> {
    store.clear_login_failures(&subjects.account).await?;
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
