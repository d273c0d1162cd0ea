//! Signing in (password, then the second factor when enrolled) and signing out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::form::failed_status;
use super::{Field, FormPage, Nav};
use crate::audit::{self, Action};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::{self, cookie_name, pending_cookie_name, removal_cookie, token_cookie};
use crate::auth::signin;
use crate::error::AppError;
use crate::extract::{PeerAddr, QueryString};
use crate::state::AppState;
use crate::store::{Account, SessionKind};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(show).post(submit))
        .route("/sign-in/code", get(show_code).post(submit_code))
        .route("/sign-out", post(sign_out))
}

#[derive(Deserialize, Default)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
struct Notice {
    expired: Option<String>,
    signed_out: Option<String>,
}

fn page(nav: Nav, email: &str) -> FormPage {
    FormPage::new(
        nav,
        "Sign in",
        "/sign-in",
        "Sign in",
        vec![
            Field::email("email", "Email")
                .value(email)
                .autocomplete("username"),
            Field::password("password", "Password", "current-password"),
        ],
    )
    .link("/forgot-password", "Forgot your password?")
    .link(
        "/resend-verification",
        "Need a new email confirmation link?",
    )
    .link("/sign-up", "New to Regroup? Create an account")
}

async fn show(
    Extension(csrf): Extension<CsrfToken>,
    QueryString(notice): QueryString<Notice>,
) -> Response {
    let mut page = page(Nav::anonymous(&csrf), "");
    if notice.expired.is_some() {
        page = page
            .notice("You were signed out after a while without activity. Please sign in again.");
    } else if notice.signed_out.is_some() {
        page = page.notice("You are signed out.");
    }
    page.respond(StatusCode::OK)
}

async fn submit(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Response {
    let result = signin::check_password(&state, &form.email, &form.password, addr).await;
    let account = match result {
        Ok(account) => account,
        Err(err) => return refused(page(Nav::anonymous(&csrf), &form.email), err),
    };
    if account.totp_enabled() {
        return match session::start(&state, &account.id, SessionKind::SecondFactor).await {
            Ok((token, _)) => {
                let jar = jar.add(token_cookie(
                    &state.settings,
                    pending_cookie_name(&state.settings),
                    token,
                ));
                (jar, Redirect::to("/sign-in/code")).into_response()
            }
            Err(err) => err.into_response(),
        };
    }
    establish(&state, jar, &account, addr).await
}

/// A refused sign-in re-shows the form; a throttle keeps its Retry-After.
fn refused(page: FormPage, err: AppError) -> Response {
    let mut response = page.with_error(&err).respond(failed_status(&err));
    if let Some(secs) = err.retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    response
}

/// Ends any session this browser had and starts a fresh one: a new id at
/// every sign-in, so a planted cookie is worth nothing.
async fn establish(
    state: &AppState,
    jar: CookieJar,
    account: &Account,
    addr: std::net::IpAddr,
) -> Response {
    let name = cookie_name(&state.settings);
    let result = async {
        if let Some(old) = jar.get(name) {
            state
                .store
                .delete_auth_session(&crate::auth::tokens::hash_token(old.value()))
                .await?;
        }
        signin::finish(state, account, addr).await?;
        session::start(state, &account.id, SessionKind::Cookie).await
    }
    .await;
    match result {
        Ok((token, _)) => {
            let jar = jar
                .add(token_cookie(&state.settings, name, token))
                .add(removal_cookie(
                    &state.settings,
                    pending_cookie_name(&state.settings),
                ));
            // Operators land in their console; therapists on their dashboard.
            let home = if account.role().is_operator() {
                "/admin"
            } else {
                "/dashboard"
            };
            (jar, Redirect::to(home)).into_response()
        }
        Err(err) => err.into_response(),
    }
}

fn code_page(nav: Nav) -> FormPage {
    FormPage::new(
        nav,
        "Enter your code",
        "/sign-in/code",
        "Continue",
        vec![
            Field::code("code", "Six-digit code from your authenticator app")
                .hint("Lost your phone? Enter one of your recovery codes instead."),
        ],
    )
}

async fn pending_account(state: &AppState, jar: &CookieJar) -> Result<Option<Account>, AppError> {
    let Some(cookie) = jar.get(pending_cookie_name(&state.settings)) else {
        return Ok(None);
    };
    Ok(
        session::resolve(state, cookie.value(), SessionKind::SecondFactor)
            .await?
            .map(|signed| signed.account),
    )
}

async fn show_code(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    jar: CookieJar,
) -> Response {
    match pending_account(&state, &jar).await {
        Ok(Some(_)) => code_page(Nav::anonymous(&csrf)).respond(StatusCode::OK),
        Ok(None) => Redirect::to("/sign-in?expired=1").into_response(),
        Err(err) => err.into_response(),
    }
}

async fn submit_code(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    let account = match pending_account(&state, &jar).await {
        Ok(Some(account)) => account,
        Ok(None) => return Redirect::to("/sign-in?expired=1").into_response(),
        Err(err) => return err.into_response(),
    };
    if let Err(err) = signin::check_second_factor(&state, &account, &form.code, addr).await {
        return refused(code_page(Nav::anonymous(&csrf)), err);
    }
    if let Some(cookie) = jar.get(pending_cookie_name(&state.settings)) {
        let hash = crate::auth::tokens::hash_token(cookie.value());
        if let Err(err) = state.store.delete_auth_session(&hash).await {
            return AppError::from(err).into_response();
        }
    }
    establish(&state, jar, &account, addr).await
}

async fn sign_out(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    jar: CookieJar,
    CsrfForm(_): CsrfForm<CodeForm>,
) -> Response {
    let name = cookie_name(&state.settings);
    if let Some(cookie) = jar.get(name) {
        let hash = crate::auth::tokens::hash_token(cookie.value());
        if let Err(err) = end_session(&state, &hash, addr).await {
            return err.into_response();
        }
    }
    let jar = jar.add(removal_cookie(&state.settings, name));
    (jar, Redirect::to("/sign-in?signed_out=1")).into_response()
}

/// Ends a browser session; a live one leaves a sign-out entry for its account.
async fn end_session(
    state: &AppState,
    token_hash: &str,
    addr: std::net::IpAddr,
) -> Result<(), AppError> {
    let session = state
        .store
        .session_account(token_hash, SessionKind::Cookie)
        .await?;
    state.store.delete_auth_session(token_hash).await?;
    if let Some(session) = session {
        audit::record_own(state, &session.account, Action::SignOut, addr).await?;
    }
    Ok(())
}
