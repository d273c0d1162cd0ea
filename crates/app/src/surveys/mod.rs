//! Anonymous satisfaction surveys after a session (docs/surveys.md).
//!
//! When a session ends, everyone still in the room gets a signed ticket
//! (`ticket`); with it they may answer once: two ratings from 1 to 5 and an
//! optional comment. The answer is stored under its week, session kind, size
//! bucket and role only. Operators see sums per week and kind, and a
//! therapist sees their clients' averages, each only where at least
//! `MIN_ANSWERS` answers stand behind a figure.

pub mod ticket;

use axum::http::StatusCode;
use serde::Serialize;

use crate::domain::{clean_text, Lines};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{SurveyAnswer, SurveyCell, SurveyTotals};
pub use ticket::{Ticket, TicketProblem};

/// No figure is shown that fewer answers stand behind.
pub const MIN_ANSWERS: i64 = 5;
/// A week's comments are shown only when it has at least this many.
pub const MIN_COMMENTS: i64 = 5;
pub const MAX_COMMENT: usize = 500;
/// Weeks the operators' table goes back.
const WEEKS_SHOWN: i64 = 26;

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
        match Ticket::verify(&state.settings.survey_key, submission.ticket, now) {
            Ok(ticket) => ticket,
            Err(TicketProblem::Invalid) => return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "invalid_ticket",
                "This survey link is not valid. Only people who were in the session can answer.",
            )
            .with_field("ticket")),
            Err(TicketProblem::Expired) => {
                return Err(AppError::new(
                    StatusCode::GONE,
                    "survey_closed",
                    "The survey for this session has closed.",
                ))
            }
        };
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

/// Averages behind at least `MIN_ANSWERS` answers, or nothing.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Averages {
    /// How many answers the figures stand on; null when fewer than the minimum.
    pub answers: Option<i64>,
    /// Average rating of the call's sound and picture, 1 to 5.
    pub quality: Option<f64>,
    /// Average rating of the session as a whole, 1 to 5.
    pub experience: Option<f64>,
}

impl Averages {
    fn of(answers: i64, quality_sum: i64, experience_sum: i64) -> Self {
        if answers < MIN_ANSWERS {
            return Self {
                answers: None,
                quality: None,
                experience: None,
            };
        }
        let average = |sum: i64| (sum as f64 / answers as f64 * 10.0).round() / 10.0;
        Self {
            answers: Some(answers),
            quality: Some(average(quality_sum)),
            experience: Some(average(experience_sum)),
        }
    }

    pub fn hidden(&self) -> bool {
        self.answers.is_none()
    }

    /// "4.3" or "–", as pages show it.
    pub fn shown(value: Option<f64>) -> String {
        value.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
    }
}

/// A therapist's own figures: their clients' answers only.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TherapistSummary {
    #[serde(flatten)]
    pub averages: Averages,
    /// Figures are shown from this many answers on.
    pub minimum_answers: i64,
    /// Answers are added in steps of this many, so the figures never change
    /// by one client's answer.
    pub added_in_steps_of: i64,
}

pub async fn therapist_summary(state: &AppState, account_id: &str) -> AppResult<TherapistSummary> {
    let SurveyTotals {
        answers,
        quality_sum,
        experience_sum,
    } = state.store.survey_totals_of(account_id).await?;
    Ok(TherapistSummary {
        averages: Averages::of(answers, quality_sum, experience_sum),
        minimum_answers: MIN_ANSWERS,
        added_in_steps_of: crate::store::TOTALS_STEP,
    })
}

/// One row of the operators' table: one ISO week and session kind.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WeekRow {
    /// ISO week, e.g. `2026-W49`.
    pub week: String,
    /// `individual` or `group`.
    pub kind: String,
    #[serde(flatten)]
    pub averages: Averages,
}

impl WeekRow {
    pub fn label(&self) -> &'static str {
        if self.kind == "group" {
            "Group"
        } else {
            "One-to-one"
        }
    }
}

/// A week's comments, when it has enough of them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WeekComments {
    pub week: String,
    /// In alphabetical order, not in order of arrival.
    pub comments: Vec<String>,
}

/// What operators see of the surveys.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OperatorView {
    /// The last 26 weeks that have answers, newest first; the figures of a
    /// cell are null when fewer than `minimum_answers` stand behind it.
    pub weeks: Vec<WeekRow>,
    /// Weeks with at least `minimum_comments` comments.
    pub comments: Vec<WeekComments>,
    pub minimum_answers: i64,
    pub minimum_comments: i64,
}

/// The operators' view: recent weeks per session kind, and the comments of
/// weeks with at least `MIN_COMMENTS`.
pub async fn operator_view(state: &AppState) -> AppResult<OperatorView> {
    let first = ticket::iso_week(state.clock.unix() - WEEKS_SHOWN * 7 * 86_400);
    let cells = state.store.survey_cells(&first).await?;
    let rows = cells
        .iter()
        .map(|c| WeekRow {
            week: c.week.clone(),
            kind: c.kind.clone(),
            averages: Averages::of(c.answers, c.quality_sum, c.experience_sum),
        })
        .collect();
    let mut weeks: Vec<(&str, i64)> = Vec::new();
    for SurveyCell { week, comments, .. } in &cells {
        match weeks.last_mut() {
            Some((w, n)) if w == week => *n += comments,
            _ => weeks.push((week, *comments)),
        }
    }
    let mut comments = Vec::new();
    for (week, count) in weeks {
        if count >= MIN_COMMENTS {
            comments.push(WeekComments {
                week: week.to_owned(),
                comments: state.store.survey_comments(week).await?,
            });
        }
    }
    Ok(OperatorView {
        weeks: rows,
        comments,
        minimum_answers: MIN_ANSWERS,
        minimum_comments: MIN_COMMENTS,
    })
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
    Ticket::new(kind, people, role, therapist, now).sign(&state.settings.survey_key)
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

    #[test]
    fn averages_hide_below_five_answers() {
        assert!(Averages::of(4, 20, 20).hidden());
        let five = Averages::of(5, 21, 17);
        assert_eq!(
            (five.answers, five.quality, five.experience),
            (Some(5), Some(4.2), Some(3.4))
        );
        assert_eq!(Averages::shown(None), "–");
        assert_eq!(Averages::shown(Some(4.0)), "4.0");
    }
}
