//! Signing up as a therapist, and the "check your email" page after it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::{Field, FormPage, MessagePage, Nav};
use crate::accounts;
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::extract::PeerAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/sign-up", get(show).post(submit))
}

#[derive(Deserialize, Default)]
struct SignUpForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// Filled from the browser by web/app.js; the therapist may change it.
    #[serde(default)]
    time_zone: String,
}

fn page(nav: Nav, form: &SignUpForm) -> FormPage {
    FormPage::new(
        nav,
        "Create your therapist account",
        "/sign-up",
        "Create account",
        vec![
            Field::text("name", "Your name")
                .value(&form.name)
                .autocomplete("name"),
            Field::email("email", "Email").value(&form.email),
            Field::password("password", "Password", "new-password")
                .hint("At least 12 characters. A few unrelated words work well."),
            Field::text("time_zone", "Time zone")
                .value(&form.time_zone)
                .optional()
                .maxlength(64)
                .autocomplete("off")
                .hint("Filled in from this device; an IANA name such as America/Chicago."),
        ],
    )
    .intro("Clients never need an account: you will enter them yourself once you are in.")
    .link("/sign-in", "Already have an account? Sign in")
}

async fn show(Extension(csrf): Extension<CsrfToken>) -> Response {
    page(Nav::anonymous(&csrf), &SignUpForm::default()).respond(StatusCode::OK)
}

async fn submit(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Response {
    let nav = Nav::anonymous(&csrf);
    match accounts::register(
        &state,
        &form.name,
        &form.email,
        &form.password,
        &form.time_zone,
        addr,
    )
    .await
    {
        Ok(_) => check_your_email(nav, &state),
        Err(err) => {
            let form = SignUpForm {
                password: String::new(),
                ..form
            };
            page(nav, &form)
                .with_error(&err)
                .respond(failed_status(&err))
        }
    }
}

/// Shown after anything that mails a link.
pub fn check_your_email(nav: Nav, state: &AppState) -> Response {
    let mut page = MessagePage::new(
        nav,
        "Check your email",
        &[
            "We sent you a link. Open it within 24 hours to continue.",
            "No email? Check your spam folder, or ask for a new link.",
        ],
    )
    .link("/resend-verification", "Send a new verification link");
    if state.mailer.outbox().is_some() {
        page = page.link(
            "/dev/outbox",
            "Open the local outbox (no mail server is configured)",
        );
    }
    page.respond(StatusCode::OK)
}
