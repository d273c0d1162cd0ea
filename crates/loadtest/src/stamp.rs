//! What a synthetic publisher writes into every payload so a receiver can
//! tell, whatever server sits between them, who sent it, whether anything
//! went missing and how long it took: publisher index, a sequence number and
//! the send time. All peers live in the harness process, so one clock
//! (`epoch`) serves both ends.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Bytes a stamp takes.
pub const STAMP_LEN: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Index of the publishing peer (0-based).
    pub publisher: u8,
    /// Counts the publisher's frames of one kind (or datagrams for the relay);
    /// a gap is a loss.
    pub seq: u32,
    /// Microseconds since [`epoch`] when the payload was made.
    pub sent_us: u64,
}

/// The harness's shared clock origin.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `at` as microseconds since [`epoch`].
pub fn micros(at: Instant) -> u64 {
    at.saturating_duration_since(epoch()).as_micros() as u64
}

impl Stamp {
    pub fn new(publisher: u8, seq: u32, at: Instant) -> Stamp {
        Stamp {
            publisher,
            seq,
            sent_us: micros(at),
        }
    }

    /// Writes the stamp at `offset`; the payload must have room for it.
    pub fn write(&self, payload: &mut [u8], offset: usize) {
        let out = &mut payload[offset..offset + STAMP_LEN];
        out[0] = self.publisher;
        out[1..5].copy_from_slice(&self.seq.to_be_bytes());
        out[5..13].copy_from_slice(&self.sent_us.to_be_bytes());
    }

    /// The stamp at `offset`, or `None` when the payload is too short.
    pub fn read(payload: &[u8], offset: usize) -> Option<Stamp> {
        let b = payload.get(offset..offset + STAMP_LEN)?;
        Some(Stamp {
            publisher: b[0],
            seq: u32::from_be_bytes([b[1], b[2], b[3], b[4]]),
            // The slice is 8 bytes long by construction.
            sent_us: u64::from_be_bytes(b[5..13].try_into().ok()?),
        })
    }

    /// One-way delay from the stamp to `now` (zero if the clock says it
    /// arrived before it left, which one clock cannot, but stay safe).
    pub fn delay(&self, now: Instant) -> Duration {
        Duration::from_micros(micros(now).saturating_sub(self.sent_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_as_written() {
        let at = epoch() + Duration::from_micros(1_234_567);
        let stamp = Stamp::new(15, 0xdead_beef, at);
        let mut payload = vec![0u8; 40];
        stamp.write(&mut payload, 10);
        assert_eq!(Stamp::read(&payload, 10), Some(stamp));
        assert_eq!(stamp.sent_us, 1_234_567);
        assert_eq!(
            stamp.delay(at + Duration::from_millis(3)),
            Duration::from_millis(3)
        );
    }

    #[test]
    fn a_short_payload_has_no_stamp() {
        assert_eq!(Stamp::read(&[0u8; 20], 10), None);
        assert_eq!(Stamp::read(&[0u8; 23], 10).map(|s| s.seq), Some(0));
    }
}
