//! Per-socket message rates. A client who floods chat or `self_state` would
//! otherwise make the room send a frame to everyone for each message, fill
//! the others' queues and get them (the therapist included) disconnected as
//! slow. Each socket has token buckets: one for every frame, and tighter
//! ones for the messages that fan out to the room. A refused frame gets an
//! `error` (`rate_limited`); a socket that keeps flooding is closed.

use std::time::Instant;

use super::protocol::{ClientMsg, Refusal};

/// Any frame: a joining browser sends a handful (hello, SDP, state), the
/// therapist's controls a few per click.
const FRAMES: Rate = Rate::new(20.0, 40.0);
/// Chat messages: faster than anyone types, with room for a pasted burst.
const CHAT: Rate = Rate::new(2.0, 10.0);
/// `self_state` and `screen`: each one sends a roster to everyone.
const STATE: Rate = Rate::new(4.0, 10.0);
/// Refusals a socket may collect (refilled slowly) before it is closed.
const STRIKES: Rate = Rate::new(1.0, 30.0);

#[derive(Clone, Copy)]
struct Rate {
    per_sec: f64,
    burst: f64,
}

impl Rate {
    const fn new(per_sec: f64, burst: f64) -> Self {
        Self { per_sec, burst }
    }
}

/// A token bucket: `burst` tokens at most, refilled at `per_sec`.
struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: Rate, now: Instant) -> Self {
        Self {
            rate,
            tokens: rate.burst,
            last: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate.per_sec).min(self.rate.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the socket does with a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer with this error and drop the frame.
    Refuse(Refusal),
    /// Refused too often: answer with this error and close the socket.
    Close(Refusal),
}

pub struct SocketRates {
    frames: Bucket,
    chat: Bucket,
    state: Bucket,
    strikes: Bucket,
}

impl SocketRates {
    pub fn new(now: Instant) -> Self {
        Self {
            frames: Bucket::new(FRAMES, now),
            chat: Bucket::new(CHAT, now),
            state: Bucket::new(STATE, now),
            strikes: Bucket::new(STRIKES, now),
        }
    }

    /// Any frame, before it is parsed (garbage counts too).
    pub fn frame(&mut self, now: Instant) -> Verdict {
        let ok = self.frames.take(now);
        self.verdict(now, ok)
    }

    /// A parsed message that fans out to the room.
    pub fn message(&mut self, now: Instant, msg: &ClientMsg) -> Verdict {
        let ok = match msg {
            ClientMsg::Chat { .. } => self.chat.take(now),
            ClientMsg::SelfState { .. } | ClientMsg::Screen { .. } => self.state.take(now),
            _ => true,
        };
        self.verdict(now, ok)
    }

    fn verdict(&mut self, now: Instant, ok: bool) -> Verdict {
        if ok {
            Verdict::Pass
        } else if self.strikes.take(now) {
            Verdict::Refuse(Refusal::new(
                "rate_limited",
                "Too many messages. Please slow down.",
            ))
        } else {
            Verdict::Close(Refusal::new(
                "rate_limited",
                "Too many messages; this connection is closed.",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn chat() -> ClientMsg {
        ClientMsg::Chat { text: "hi".into() }
    }

    #[test]
    fn a_chat_burst_passes_then_is_refused_then_closed() {
        let t = Instant::now();
        let mut rates = SocketRates::new(t);
        let verdicts: Vec<Verdict> = (0..60).map(|_| rates.message(t, &chat())).collect();
        let passed = verdicts.iter().filter(|v| **v == Verdict::Pass).count();
        assert_eq!(passed, CHAT.burst as usize);
        assert!(matches!(verdicts[10], Verdict::Refuse(_)));
        assert!(matches!(verdicts[59], Verdict::Close(_)));
    }

    #[test]
    fn a_steady_typist_is_never_refused() {
        let t = Instant::now();
        let mut rates = SocketRates::new(t);
        for i in 0..600u64 {
            let now = t + Duration::from_millis(i * 500);
            assert_eq!(rates.frame(now), Verdict::Pass);
            assert_eq!(rates.message(now, &chat()), Verdict::Pass, "message {i}");
        }
    }

    #[test]
    fn other_messages_only_count_as_frames() {
        let t = Instant::now();
        let mut rates = SocketRates::new(t);
        let ping = ClientMsg::Ping;
        for _ in 0..100 {
            assert_eq!(rates.message(t, &ping), Verdict::Pass);
        }
        let frames = (0..100).filter(|_| rates.frame(t) == Verdict::Pass).count();
        assert_eq!(frames, FRAMES.burst as usize);
    }
}
