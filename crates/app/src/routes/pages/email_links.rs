//! Pages behind emailed links. Opening a link only shows a button; the action
//! happens on the button's POST, so mail scanners that follow links change nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::sign_up::check_your_email;
use super::{Field, FormPage, MessagePage, Nav};
use crate::accounts;
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::email_links;
use crate::error::AppResult;
use crate::extract::PeerAddr;
use crate::state::AppState;
use crate::store::TokenPurpose;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/verify-email/{token}",
            get(show_verify).post(submit_verify),
        )
        .route("/resend-verification", get(show_resend).post(submit_resend))
        .route("/forgot-password", get(show_forgot).post(submit_forgot))
        .route(
            "/reset-password/{token}",
            get(show_reset).post(submit_reset),
        )
        .route(
            "/confirm-email/{token}",
            get(show_confirm).post(submit_confirm),
        )
}

#[derive(Deserialize, Default)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

#[derive(Deserialize, Default)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

fn expired(nav: Nav, retry_href: &str, retry_label: &str) -> Response {
    MessagePage::new(
        nav,
        "This link no longer works",
        &["It has expired or was already used."],
    )
    .link(retry_href, retry_label)
    .respond(StatusCode::GONE)
}

fn button_page(
    nav: Nav,
    title: &str,
    intro: &str,
    token: &str,
    base: &str,
    submit: &str,
) -> Response {
    FormPage::new(nav, title, &format!("{base}/{token}"), submit, Vec::new())
        .intro(intro)
        .respond(StatusCode::OK)
}

/// A link whose page is one button, and what to say before and after.
struct ButtonLink {
    purpose: TokenPurpose,
    base: &'static str,
    title: &'static str,
    intro: &'static str,
    submit: &'static str,
    retry: (&'static str, &'static str),
    done_title: &'static str,
    done_text: &'static str,
    done_link: (&'static str, &'static str),
}

const VERIFY: ButtonLink = ButtonLink {
    purpose: TokenPurpose::VerifyEmail,
    base: "/verify-email",
    title: "Confirm your email address",
    intro: "Press the button to confirm this address and finish creating your account.",
    submit: "Confirm my email",
    retry: ("/resend-verification", "Send a new verification link"),
    done_title: "Your email is confirmed",
    done_text: "You can sign in now.",
    done_link: ("/sign-in", "Sign in"),
};

const CONFIRM_CHANGE: ButtonLink = ButtonLink {
    purpose: TokenPurpose::ChangeEmail,
    base: "/confirm-email",
    title: "Confirm your new email address",
    intro: "Press the button to make this the email address of your Regroup account.",
    submit: "Confirm new email",
    retry: ("/profile", "Go to your profile"),
    done_title: "Your new email address is confirmed",
    done_text: "Use it the next time you sign in.",
    done_link: ("/dashboard", "Go to your dashboard"),
};

async fn show_button(
    state: &AppState,
    csrf: &CsrfToken,
    token: &str,
    link: &ButtonLink,
) -> Response {
    let nav = Nav::anonymous(csrf);
    match email_links::peek(state, token, link.purpose).await {
        Ok(Some(_)) => button_page(nav, link.title, link.intro, token, link.base, link.submit),
        Ok(None) => expired(nav, link.retry.0, link.retry.1),
        Err(err) => super::error_page(err.status, &err.message),
    }
}

fn button_done(csrf: &CsrfToken, result: AppResult<()>, link: &ButtonLink) -> Response {
    let nav = Nav::anonymous(csrf);
    match result {
        Ok(()) => MessagePage::new(nav, link.done_title, &[link.done_text])
            .link(link.done_link.0, link.done_link.1)
            .respond(StatusCode::OK),
        Err(err) if err.status == StatusCode::GONE => expired(nav, link.retry.0, link.retry.1),
        Err(err) => super::error_page(err.status, &err.message),
    }
}

async fn show_verify(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Response {
    show_button(&state, &csrf, &token, &VERIFY).await
}

async fn submit_verify(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<EmailForm>,
) -> Response {
    button_done(&csrf, accounts::verify_email(&state, &token).await, &VERIFY)
}

fn resend_page(nav: Nav) -> FormPage {
    FormPage::new(
        nav,
        "Send a new verification link",
        "/resend-verification",
        "Send link",
        vec![Field::email("email", "Email")],
    )
}

async fn show_resend(Extension(csrf): Extension<CsrfToken>) -> Response {
    resend_page(Nav::anonymous(&csrf)).respond(StatusCode::OK)
}

async fn submit_resend(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Response {
    match accounts::resend_verification(&state, &form.email, addr).await {
        Ok(()) => check_your_email(Nav::anonymous(&csrf), &state),
        Err(err) => resend_page(Nav::anonymous(&csrf))
            .with_error(&err)
            .respond(failed_status(&err)),
    }
}

fn forgot_page(nav: Nav) -> FormPage {
    FormPage::new(
        nav,
        "Forgot your password?",
        "/forgot-password",
        "Send reset link",
        vec![Field::email("email", "Email")],
    )
    .intro("Enter the email of your account and we will send you a link to choose a new password.")
}

async fn show_forgot(Extension(csrf): Extension<CsrfToken>) -> Response {
    forgot_page(Nav::anonymous(&csrf)).respond(StatusCode::OK)
}

async fn submit_forgot(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Response {
    match accounts::request_password_reset(&state, &form.email, addr).await {
        Ok(()) => MessagePage::new(
            Nav::anonymous(&csrf),
            "Check your email",
            &["If an account uses this address, we sent it a link to reset the password. The link works for 24 hours."],
        )
        .respond(StatusCode::OK),
        Err(err) => forgot_page(Nav::anonymous(&csrf)).with_error(&err).respond(failed_status(&err)),
    }
}

fn reset_page(nav: Nav, token: &str) -> FormPage {
    FormPage::new(
        nav,
        "Choose a new password",
        &format!("/reset-password/{token}"),
        "Save new password",
        vec![Field::password("password", "New password", "new-password")
            .hint("At least 12 characters. A few unrelated words work well.")],
    )
    .intro("Saving signs you out on every device.")
}

async fn show_reset(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Response {
    let nav = Nav::anonymous(&csrf);
    match email_links::peek(&state, &token, TokenPurpose::ResetPassword).await {
        Ok(Some(_)) => reset_page(nav, &token).respond(StatusCode::OK),
        Ok(None) => expired(nav, "/forgot-password", "Ask for a new reset link"),
        Err(err) => super::error_page(err.status, &err.message),
    }
}

async fn submit_reset(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let nav = Nav::anonymous(&csrf);
    match accounts::reset_password(&state, &token, &form.password, addr).await {
        Ok(()) => MessagePage::new(
            nav,
            "Your password is changed",
            &["You were signed out everywhere. Sign in with your new password."],
        )
        .link("/sign-in", "Sign in")
        .respond(StatusCode::OK),
        Err(err) if err.status == StatusCode::GONE => {
            expired(nav, "/forgot-password", "Ask for a new reset link")
        }
        Err(err) => reset_page(nav, &token)
            .with_error(&err)
            .respond(failed_status(&err)),
    }
}

async fn show_confirm(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Response {
    show_button(&state, &csrf, &token, &CONFIRM_CHANGE).await
}

async fn submit_confirm(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<EmailForm>,
) -> Response {
    button_done(
        &csrf,
        accounts::confirm_email_change(&state, &token).await,
        &CONFIRM_CHANGE,
    )
}
