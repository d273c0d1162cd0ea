//! Satisfaction surveys as operators see them: per ISO week and session
//! kind, counts and averages where at least five answers stand behind a
//! cell, and the comments of weeks with at least five comments.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

use super::super::{render, Nav};
use crate::auth::csrf::CsrfToken;
use crate::auth::operator::PageOperator;
use crate::error::AppResult;
use crate::state::AppState;
use crate::surveys::{self, Averages, OperatorView};

#[derive(Template)]
#[template(path = "admin_surveys.html")]
struct SurveysPage {
    nav: Nav,
    view: OperatorView,
}

impl SurveysPage {
    fn shown(&self, value: &Option<f64>) -> String {
        Averages::shown(*value)
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    let view = surveys::operator_view(&state).await?;
    Ok(render(
        StatusCode::OK,
        &SurveysPage {
            nav: Nav::signed(&csrf, &signed),
            view,
        },
    ))
}
