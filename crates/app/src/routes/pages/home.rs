//! The public front page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

use super::{render, Nav};
use crate::auth::csrf::CsrfToken;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
}

async fn home(Extension(csrf): Extension<CsrfToken>) -> Response {
    render(
        StatusCode::OK,
        &HomePage {
            nav: Nav::anonymous(&csrf),
        },
    )
}
