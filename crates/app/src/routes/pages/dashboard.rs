use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

use super::{render, Nav};
use crate::auth::csrf::CsrfToken;
use crate::auth::session::PageTherapist;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    totp_enabled: bool,
}

async fn dashboard(
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    let page = DashboardPage {
        nav: Nav::signed(&csrf, &signed),
        totp_enabled: signed.account.totp_enabled(),
    };
    render(StatusCode::OK, &page)
}
