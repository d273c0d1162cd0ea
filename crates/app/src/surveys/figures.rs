//! The survey figures people may see: operators per ISO week and session
//! kind, therapists their own clients' averages; each only where at least
//! `MIN_ANSWERS` answers stand behind a figure.

use serde::Serialize;

use super::{MIN_ANSWERS, MIN_COMMENTS};
use crate::error::AppResult;
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::{SurveyCell, SurveyTotals};

/// Weeks the operators' table goes back.
const WEEKS_SHOWN: i64 = 26;

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

pub async fn therapist_summary(
    state: &AppState,
    account_id: &AccountId,
) -> AppResult<TherapistSummary> {
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
    let first = super::ticket::iso_week(state.clock.unix() - WEEKS_SHOWN * 7 * 86_400);
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

#[cfg(test)]
mod tests {
    use super::*;

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
