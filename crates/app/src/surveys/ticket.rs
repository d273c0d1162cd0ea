//! Survey tickets: the proof that someone was in a session when it ended.
//!
//! The room signs one ticket per person still in it at the end and sends it
//! in their `ended` message. A ticket names only what the answer will be
//! filed under (session kind, size bucket, ISO week, role), the therapist
//! whose running totals a client's answer adds to, a random nonce (so it
//! works once) and an expiry rounded up to the hour (so not even the used
//! nonce's row dates the session to the second). The server keeps nothing
//! when it signs, so a ticket links no stored row to a person.
//!
//! Form: `base64url(JSON payload) "." base64url(HMAC-SHA256)`, keyed with the
//! `survey` server secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::auth::tokens::constant_time_eq;

/// A ticket can be used for this long after the session ended (then up to
/// the next full hour).
pub const LIFETIME_SECS: i64 = 12 * 3600;
/// Tickets are longer than this only if someone made them up.
pub const MAX_LEN: usize = 600;
/// Binds the signature to this use of the key and this version of the form.
const DOMAIN: &[u8] = b"regroup survey ticket v1\0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// `individual` or `group`.
    pub kind: String,
    /// See `size_bucket`.
    pub size: String,
    /// ISO week of the session's end, e.g. `2026-W49`.
    pub week: String,
    /// `client` or `therapist`.
    pub role: String,
    /// The therapist's account: a client's answer adds to their totals.
    pub therapist: String,
    /// Random; recorded when the ticket is used, so it works once.
    pub nonce: String,
    /// Unix seconds, on the hour.
    pub expires: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketProblem {
    /// Not a ticket this server made (garbled, forged or from another key).
    Invalid,
    Expired,
}

impl Ticket {
    /// The ticket for someone in a session of `kind` that ended at `now`
    /// with `people` in it (the therapist included).
    pub fn new(kind: &str, people: usize, role: &str, therapist: &str, now: i64) -> Self {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        Self {
            kind: kind.to_owned(),
            size: size_bucket(people).to_owned(),
            week: iso_week(now),
            role: role.to_owned(),
            therapist: therapist.to_owned(),
            nonce: hex::encode(nonce),
            expires: (now + LIFETIME_SECS).div_euclid(3600) * 3600 + 3600,
        }
    }

    pub fn sign(&self, key: &[u8]) -> String {
        // Serialising a struct of strings and an integer cannot fail.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mac = URL_SAFE_NO_PAD.encode(mac(key, &payload));
        format!("{payload}.{mac}")
    }

    /// The ticket `text` stands for, if this server signed it and it is still valid.
    pub fn verify(key: &[u8], text: &str, now: i64) -> Result<Self, TicketProblem> {
        if text.len() > MAX_LEN {
            return Err(TicketProblem::Invalid);
        }
        let (payload, signature) = text.split_once('.').ok_or(TicketProblem::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TicketProblem::Invalid)?;
        if !constant_time_eq(&signature, &mac(key, payload)) {
            return Err(TicketProblem::Invalid);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TicketProblem::Invalid)?;
        let ticket: Ticket = serde_json::from_slice(&json).map_err(|_| TicketProblem::Invalid)?;
        if now >= ticket.expires {
            return Err(TicketProblem::Expired);
        }
        Ok(ticket)
    }
}

fn mac(key: &[u8], payload: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(DOMAIN);
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Group sizes in coarse steps, so a rare size cannot single a session out.
pub fn size_bucket(people: usize) -> &'static str {
    match people {
        0..=2 => "2",
        3..=4 => "3-4",
        5..=8 => "5-8",
        _ => "9+",
    }
}

/// The ISO week of a Unix time, as `2026-W49`.
pub fn iso_week(unix: i64) -> String {
    let week = DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    // Wednesday 2026-12-02 10:20:00 UTC.
    const NOW: i64 = 1_796_206_800;

    #[test]
    fn a_signed_ticket_verifies_until_it_expires() {
        let ticket = Ticket::new("group", 4, "client", "acc-1", NOW);
        let text = ticket.sign(KEY);
        assert_eq!(Ticket::verify(KEY, &text, NOW + 60), Ok(ticket.clone()));
        assert_eq!(ticket.expires % 3600, 0, "the expiry is on the hour");
        assert!(ticket.expires > NOW + LIFETIME_SECS);
        assert_eq!(
            Ticket::verify(KEY, &text, ticket.expires),
            Err(TicketProblem::Expired)
        );
    }

    #[test]
    fn forged_changed_and_garbled_tickets_are_invalid() {
        let text = Ticket::new("individual", 2, "client", "acc-1", NOW).sign(KEY);
        let other_key = b"another key of thirty-two bytes!";
        assert_eq!(
            Ticket::verify(other_key, &text, NOW),
            Err(TicketProblem::Invalid)
        );
        // A payload changed to another role keeps the old signature.
        let (_, signature) = text.split_once('.').unwrap();
        let mut forged = Ticket::new("individual", 2, "therapist", "acc-1", NOW);
        forged.expires += 365 * 86_400;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let changed = format!("{payload}.{signature}");
        for bad in ["", ".", "abc", "abc.def", &changed, &"a".repeat(700)] {
            assert_eq!(
                Ticket::verify(KEY, bad, NOW),
                Err(TicketProblem::Invalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn two_tickets_of_one_session_differ_only_in_the_nonce() {
        let a = Ticket::new("group", 6, "client", "acc-1", NOW);
        let b = Ticket::new("group", 6, "client", "acc-1", NOW);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!((a.size.as_str(), a.week.as_str()), ("5-8", "2026-W49"));
        assert_eq!(a.expires, b.expires);
    }

    #[test]
    fn sizes_fall_in_coarse_buckets_and_weeks_follow_iso() {
        let buckets: Vec<&str> = [1, 2, 3, 4, 5, 8, 9, 16]
            .into_iter()
            .map(size_bucket)
            .collect();
        assert_eq!(buckets, ["2", "2", "3-4", "3-4", "5-8", "5-8", "9+", "9+"]);
        // 2027-01-01 is a Friday: it belongs to the last ISO week of 2026.
        assert_eq!(iso_week(1_798_761_600), "2026-W53");
        assert_eq!(iso_week(0), "1970-W01");
    }
}
