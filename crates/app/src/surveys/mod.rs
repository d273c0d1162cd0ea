//! Anonymous satisfaction surveys after a session (docs/surveys.md).
//!
//! When a session ends, everyone still in the room gets a signed ticket
//! (`ticket`); with it they may answer once: two ratings from 1 to 5 and an
//! optional comment. The answer is stored under its week, session kind, size
//! bucket and role only. Operators see sums per week and kind, and a
//! therapist sees their clients' averages, each only where at least
//! `MIN_ANSWERS` answers stand behind a figure.

mod figures;
pub mod ticket;

use axum::http::StatusCode;

use crate::domain::{clean_text, Lines};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::SurveyAnswer;
pub use figures::{
    operator_view, therapist_summary, Averages, OperatorView, TherapistSummary, WeekComments,
    WeekRow,
};
pub use ticket::{Ticket, TicketProblem};

/// No figure is shown that fewer answers stand behind.
pub const MIN_ANSWERS: i64 = 5;
/// A week's comments are shown only when it has at least this many.
pub const MIN_COMMENTS: i64 = 5;
pub const MAX_COMMENT: usize = 500;

/// What a person sends with their ticket.
pub struct Submission<'a> {
    pub ticket: &'a str,
    pub quality: i64,
    pub experience: i64,
    pub comment: Option<&'a str>,
}

/// Checks and stores one answer. Nothing about the sender (address, time,
/// the ticket itself) is logged or kept beyond the ticket's nonce.
pub async fn submit(state: &AppState, submission: Submission<'_>) -> AppResult<()> {
    let quality = rating("quality", submission.quality)?;
    let experience = rating("experience", submission.experience)?;
    let comment = comment(submission.comment)?;
    let now = state.clock.unix();
    let ticket =
        Ticket::verify(state.settings.survey_key(), submission.ticket, now).map_err(refusal)?;
    let answer = SurveyAnswer {
        week: ticket.week,
        kind: ticket.kind,
        size_bucket: ticket.size,
        role: ticket.role,
        quality,
        experience,
        comment,
    };
    // Only clients' answers count towards the therapist's own figures.
    let therapist = (answer.role == "client").then_some(ticket.therapist.as_str());
    // The read only spares the write lock; the insert below decides.
    let stored = !state.store.survey_ticket_used(&ticket.nonce).await?
        && state
            .store
            .record_survey_answer(&answer, &ticket.nonce, ticket.expires, therapist)
            .await?;
    if !stored {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "already_answered",
            "This survey was already answered. Thank you.",
        ));
    }
    Ok(())
}

/// What a person is told about a ticket the server does not take.
fn refusal(problem: TicketProblem) -> AppError {
    match problem {
        TicketProblem::Invalid => AppError::new(
            StatusCode::FORBIDDEN,
            "invalid_ticket",
            "This survey cannot be answered here. Only people who were in the session can answer it.",
        )
        .with_field("ticket"),
        TicketProblem::Expired => AppError::new(
            StatusCode::GONE,
            "survey_closed",
            "The survey for this session has closed.",
        ),
    }
}

fn rating(field: &str, value: i64) -> AppResult<i64> {
    if (1..=5).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(field, "Choose a rating from 1 to 5."))
    }
}

/// The comment as stored: trimmed, `None` when empty; line breaks are the
/// only control characters allowed.
fn comment(raw: Option<&str>) -> AppResult<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let problem =
        |p: crate::domain::TextProblem| AppError::invalid("comment", p.message("A comment"));
    let text = clean_text(raw, MAX_COMMENT, Lines::Multi).map_err(problem)?;
    if text.contains('\t') {
        return Err(problem(crate::domain::TextProblem::ControlCharacter));
    }
    Ok(Some(text.replace("\r\n", "\n")).filter(|t| !t.is_empty()))
}

/// Housekeeping: nonces of expired tickets are no longer needed.
pub async fn housekeeping(state: &AppState) {
    if let Err(err) = state
        .store
        .purge_used_survey_tickets(state.clock.unix())
        .await
    {
        tracing::warn!(error = %err, "could not purge used survey tickets");
    }
}

/// The ticket for someone still in a room that ends now.
pub fn ticket_for(
    state: &AppState,
    kind: &str,
    people: usize,
    role: &str,
    therapist: &str,
) -> String {
    let now = state.clock.unix();
    Ticket::new(kind, people, role, therapist, now).sign(state.settings.survey_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_whole_numbers_from_one_to_five() {
        for ok in 1..=5 {
            assert_eq!(rating("quality", ok).unwrap(), ok);
        }
        for bad in [0, 6, -1, i64::MAX] {
            assert_eq!(
                rating("quality", bad).unwrap_err().field.as_deref(),
                Some("quality")
            );
        }
    }

    #[test]
    fn comments_keep_line_breaks_and_refuse_other_control_characters() {
        assert_eq!(comment(None).unwrap(), None);
        assert_eq!(comment(Some("  ")).unwrap(), None);
        assert_eq!(
            comment(Some(" Clear sound.\r\nThanks "))
                .unwrap()
                .as_deref(),
            Some("Clear sound.\nThanks")
        );
        for bad in ["a\0b", "a\tb", "a\u{1b}[31m", "a\u{7f}"] {
            assert!(comment(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(comment(Some(&"é".repeat(500))).is_ok());
        assert!(comment(Some(&"é".repeat(501))).is_err());
    }
}
