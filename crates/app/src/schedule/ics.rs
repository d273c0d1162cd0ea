//! iCalendar (RFC 5545) events for invitation emails: one VEVENT per session,
//! with a stable UID and an increasing SEQUENCE so that calendar apps replace
//! the event on every update and remove it on cancellation. Also the
//! therapist's subscribed feed (`feed`), which carries no METHOD or attendees.

use chrono::{DateTime, Utc};

pub enum Method {
    Request,
    Cancel,
}

pub struct Event<'a> {
    pub uid: &'a str,
    pub sequence: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub stamp: DateTime<Utc>,
    pub summary: &'a str,
    pub description: &'a str,
    pub url: &'a str,
    pub organizer_name: &'a str,
    pub organizer_email: &'a str,
    pub attendee_name: &'a str,
    pub attendee_email: &'a str,
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes TEXT values: backslash, semicolon, comma and newlines.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Parameter values are quoted and may not hold quotes or control characters.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Folds a content line at 75 octets, never inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

pub fn calendar(method: Method, event: &Event<'_>) -> String {
    let (method, status) = match method {
        Method::Request => ("REQUEST", "CONFIRMED"),
        Method::Cancel => ("CANCEL", "CANCELLED"),
    };
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Regroup//Video sessions//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", event.uid),
        format!("SEQUENCE:{}", event.sequence),
        format!("DTSTAMP:{}", utc(event.stamp)),
        format!("DTSTART:{}", utc(event.starts_at)),
        format!("DTEND:{}", utc(event.ends_at)),
        format!("SUMMARY:{}", text(event.summary)),
        format!("DESCRIPTION:{}", text(event.description)),
        format!("URL:{}", event.url),
        format!("STATUS:{status}"),
        format!(
            "ORGANIZER;CN={}:mailto:{}",
            param(event.organizer_name),
            event.organizer_email
        ),
        format!(
            "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{}",
            param(event.attendee_name),
            event.attendee_email
        ),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    let mut out = String::new();
    for line in &lines {
        fold(line, &mut out);
    }
    out
}

/// One event of a subscribed feed: no people, only times, a title and a link.
pub struct FeedEvent<'a> {
    pub uid: &'a str,
    pub sequence: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: &'a str,
    pub url: &'a str,
}

/// A published calendar (no METHOD: it is subscribed to, not an invitation).
pub fn feed(name: &str, stamp: DateTime<Utc>, events: &[FeedEvent<'_>]) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Regroup//Calendar feed//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        format!("X-WR-CALNAME:{}", text(name)),
    ] {
        fold(&line, &mut out);
    }
    for event in events {
        for line in [
            "BEGIN:VEVENT".to_string(),
            format!("UID:{}", event.uid),
            format!("SEQUENCE:{}", event.sequence),
            format!("DTSTAMP:{}", utc(stamp)),
            format!("DTSTART:{}", utc(event.starts_at)),
            format!("DTEND:{}", utc(event.ends_at)),
            format!("SUMMARY:{}", text(event.summary)),
            format!("URL:{}", event.url),
            "STATUS:CONFIRMED".to_string(),
            "TRANSP:OPAQUE".to_string(),
            "END:VEVENT".to_string(),
        ] {
            fold(&line, &mut out);
        }
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(summary: &'a str, description: &'a str) -> Event<'a> {
        let start = DateTime::parse_from_rfc3339("2026-12-01T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Event {
            uid: "s-1@regroup",
            sequence: 2,
            starts_at: start,
            ends_at: start + chrono::Duration::minutes(50),
            stamp: start,
            summary,
            description,
            url: "https://regroup.example/join/abc",
            organizer_name: "Dr. Ana \"AR\" Ruiz",
            organizer_email: "no-reply@regroup.example",
            attendee_name: "Ben",
            attendee_email: "ben@example.com",
        }
    }

    #[test]
    fn a_request_has_utc_times_uid_sequence_and_crlf_lines() {
        let ics = calendar(Method::Request, &event("Video session", "Join here"));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("METHOD:REQUEST\r\n"));
        assert!(ics.contains("UID:s-1@regroup\r\n"));
        assert!(ics.contains("SEQUENCE:2\r\n"));
        assert!(ics.contains("DTSTART:20261201T150000Z\r\n"));
        assert!(ics.contains("DTEND:20261201T155000Z\r\n"));
        assert!(ics.contains("ORGANIZER;CN=\"Dr. Ana AR Ruiz\""));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "only CRLF line ends"
        );
    }

    #[test]
    fn a_feed_holds_one_event_per_session_and_no_method() {
        let start = event("", "").starts_at;
        let events = [FeedEvent {
            uid: "s-1@regroup",
            sequence: 0,
            starts_at: start,
            ends_at: start + chrono::Duration::minutes(50),
            summary: "Group session",
            url: "https://regroup.example/sessions/s-1/room",
        }];
        let ics = feed("Regroup; sessions", start, &events);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("X-WR-CALNAME:Regroup\\; sessions\r\n"));
        assert!(!ics.contains("METHOD:"));
        assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 1);
        assert!(ics.contains("DTEND:20261201T155000Z\r\n"));
        assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    }

    #[test]
    fn a_cancellation_says_so() {
        let ics = calendar(Method::Cancel, &event("Video session", ""));
        assert!(ics.contains("METHOD:CANCEL\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
    }

    #[test]
    fn text_is_escaped_and_long_lines_are_folded_at_75_octets() {
        let long = "Ünïcödé, text; with\nbreaks ".repeat(10);
        let ics = calendar(Method::Request, &event("a,b;c", &long));
        assert!(ics.contains("SUMMARY:a\\,b\\;c\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("DESCRIPTION:Ünïcödé\\, text\\; with\\nbreaks"));
    }
}
