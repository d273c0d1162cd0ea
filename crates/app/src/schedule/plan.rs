//! Checking what a therapist asks for before anything is stored.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::{clean_text, Lines};
use crate::error::{AppError, AppResult};
use crate::ids::ClientId;

pub const MAX_GROUP_CLIENTS: usize = 15;
pub const MAX_WEEKLY_OCCURRENCES: u32 = 52;

/// The checked request to schedule a session.
pub struct Plan {
    pub kind: Kind,
    pub title: String,
    pub notes: String,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub time_zone: Tz,
    pub client_ids: Vec<ClientId>,
    pub weekly_occurrences: u32,
}

pub use crate::store::Kind;

impl Kind {
    pub fn parse(raw: &str) -> AppResult<Self> {
        match raw {
            "individual" => Ok(Kind::Individual),
            "group" => Ok(Kind::Group),
            _ => Err(AppError::invalid(
                "kind",
                "Choose \"individual\" or \"group\".",
            )),
        }
    }

    fn default_title(self) -> &'static str {
        match self {
            Kind::Individual => "Individual session",
            Kind::Group => "Group session",
        }
    }
}

pub fn parse_time_zone(raw: &str) -> AppResult<Tz> {
    raw.trim().parse::<Tz>().map_err(|_| {
        AppError::invalid(
            "time_zone",
            "Use an IANA time zone such as America/Chicago.",
        )
    })
}

pub fn parse_duration(minutes: i64) -> AppResult<i64> {
    if (15..=240).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(AppError::invalid(
            "duration_minutes",
            "A session lasts from 15 to 240 minutes.",
        ))
    }
}

/// A title is one line; notes may have several.
pub(super) fn check_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let lines = if field == "notes" {
        Lines::Multi
    } else {
        Lines::Single
    };
    clean_text(value, max, lines)
        .map_err(|problem| AppError::invalid(field, problem.message("This")))
}

/// How far ahead a session may start: a weekly series then still ends within
/// three years, far from any date the calendar code cannot hold.
pub const MAX_DAYS_AHEAD: i64 = 2 * 366;

/// A start time must be in the future, within two years, and a real second
/// (`23:59:60` is a leap second, which chrono keeps as `:59` plus a second).
pub fn check_start(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    use chrono::Timelike;
    if starts_at.nanosecond() >= 1_000_000_000 {
        return Err(AppError::invalid(
            "starts_at",
            "That time does not exist: seconds go up to 59.",
        ));
    }
    if starts_at <= now {
        return Err(AppError::invalid(
            "starts_at",
            "Choose a start time in the future.",
        ));
    }
    if starts_at > now + chrono::Duration::days(MAX_DAYS_AHEAD) {
        return Err(AppError::invalid(
            "starts_at",
            "Choose a start time within the next two years.",
        ));
    }
    Ok(starts_at)
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: &str,
        title: Option<&str>,
        notes: Option<&str>,
        starts_at: DateTime<Utc>,
        duration_minutes: i64,
        time_zone: &str,
        client_ids: Vec<ClientId>,
        weekly_occurrences: Option<u32>,
        now: DateTime<Utc>,
    ) -> AppResult<Self> {
        let kind = Kind::parse(kind)?;
        let title = check_text("title", title.unwrap_or(""), 200)?;
        let title = if title.is_empty() {
            kind.default_title().to_string()
        } else {
            title
        };
        let notes = check_text("notes", notes.unwrap_or(""), 5000)?;
        let starts_at = check_start(starts_at, now)?;
        let duration_minutes = parse_duration(duration_minutes)?;
        let time_zone = parse_time_zone(time_zone)?;
        let mut client_ids = client_ids;
        client_ids.sort();
        client_ids.dedup();
        check_participant_count(kind, client_ids.len())?;
        let weekly_occurrences = weekly_occurrences.unwrap_or(1);
        if !(1..=MAX_WEEKLY_OCCURRENCES).contains(&weekly_occurrences) {
            return Err(AppError::invalid(
                "weekly_occurrences",
                format!("A weekly series has 1 to {MAX_WEEKLY_OCCURRENCES} sessions."),
            ));
        }
        Ok(Self {
            kind,
            title,
            notes,
            starts_at,
            duration_minutes,
            time_zone,
            client_ids,
            weekly_occurrences,
        })
    }
}

pub(super) fn check_participant_count(kind: Kind, count: usize) -> AppResult<()> {
    match (kind, count) {
        (Kind::Individual, 1) => Ok(()),
        (Kind::Individual, _) => Err(AppError::invalid(
            "client_ids",
            "An individual session has exactly one client.",
        )),
        (Kind::Group, 1..=MAX_GROUP_CLIENTS) => Ok(()),
        (Kind::Group, _) => Err(AppError::invalid(
            "client_ids",
            format!("A group session has 1 to {MAX_GROUP_CLIENTS} clients."),
        )),
    }
}

/// A wall-clock date and time in `tz` (as typed in a form) as an instant.
pub fn local_to_utc(date: &str, time: &str, tz: Tz) -> AppResult<DateTime<Utc>> {
    use chrono::{LocalResult, NaiveDate, NaiveTime, TimeZone};
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid("date", "Choose a date."))?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .map_err(|_| AppError::invalid("time", "Choose a time, such as 09:30."))?;
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // When clocks go back, an hour happens twice; take the first.
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(AppError::invalid(
            "time",
            "This time does not exist on that day (the clocks change). Choose another.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_is_converted_with_its_zone() {
        let t = local_to_utc("2026-12-01", "09:00", chrono_tz::America::Chicago).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T15:00:00+00:00");
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_is_refused() {
        let err = local_to_utc("2026-03-08", "02:30", chrono_tz::America::Chicago).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("time"));
    }

    #[test]
    fn participant_counts_follow_the_kind() {
        assert!(check_participant_count(Kind::Individual, 1).is_ok());
        assert!(check_participant_count(Kind::Individual, 2).is_err());
        assert!(check_participant_count(Kind::Group, 15).is_ok());
        assert!(check_participant_count(Kind::Group, 16).is_err());
        assert!(check_participant_count(Kind::Group, 0).is_err());
    }
}
