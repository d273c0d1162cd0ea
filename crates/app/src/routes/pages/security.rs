//! The security page: password, authenticator app, recovery codes, signing out everywhere.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::form::failed_status;
use super::{render, Nav};
use crate::accounts;
use crate::audit::{self, Action};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::enrolment;
use crate::auth::session::{cookie_name, removal_cookie, PageTherapist, Signed};
use crate::auth::{second_factor, totp};
use crate::clock::rfc3339;
use crate::error::AppError;
use crate::extract::PeerAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security", get(show))
        .route("/security/password", post(change_password))
        .route("/security/totp/start", post(start_totp))
        .route("/security/totp/confirm", post(confirm_totp))
        .route("/security/totp/disable", post(disable_totp))
        .route("/security/recovery-codes", post(recovery_codes))
        .route("/security/sign-out-everywhere", post(sign_out_everywhere))
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    nav: Nav,
    notice: Option<String>,
    error: Option<String>,
    totp_enabled: bool,
    recovery_left: i64,
    /// (kind, signed in, last active)
    sessions: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct TotpSetupPage {
    nav: Nav,
    secret: String,
    qr_svg: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    nav: Nav,
    codes: Vec<String>,
}

#[derive(Deserialize, Default)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

#[derive(Deserialize, Default)]
struct ChangePasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn page(
    state: &AppState,
    csrf: &CsrfToken,
    signed: &Signed,
    notice: Option<&str>,
    error: Option<&AppError>,
) -> Response {
    let account = match state.store.account_by_id(&signed.account.id).await {
        Ok(Some(account)) => account,
        Ok(None) => return AppError::not_found().into_response(),
        Err(err) => return AppError::from(err).into_response(),
    };
    let sessions = state.store.auth_sessions_of(&account.id).await;
    let recovery_left = state.store.unused_recovery_codes(&account.id).await;
    let (Ok(sessions), Ok(recovery_left)) = (sessions, recovery_left) else {
        return AppError::internal(anyhow::anyhow!("while loading the security page"))
            .into_response();
    };
    let page = SecurityPage {
        nav: Nav::signed(csrf, signed),
        notice: notice.map(str::to_owned),
        error: error.map(|e| e.message.clone()),
        totp_enabled: account.totp_enabled(),
        recovery_left,
        sessions: sessions
            .iter()
            .map(|s| {
                let kind = match (s.kind.as_str(), s.token_hash == signed.token_hash) {
                    (_, true) => "This browser",
                    ("bearer", _) => "API token",
                    _ => "Browser",
                };
                (
                    kind.to_string(),
                    rfc3339(s.created_at),
                    rfc3339(s.last_seen_at),
                )
            })
            .collect(),
    };
    let status = error.map(failed_status).unwrap_or(StatusCode::OK);
    render(status, &page)
}

async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    page(&state, &csrf, &signed, None, None).await
}

async fn change_password(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<ChangePasswordForm>,
) -> Response {
    let result = accounts::change_password(
        &state,
        &signed.account,
        &form.current_password,
        &form.new_password,
        &signed.token_hash,
        addr,
    )
    .await;
    match result {
        Ok(()) => {
            page(
                &state,
                &csrf,
                &signed,
                Some("Password changed. Your other devices were signed out."),
                None,
            )
            .await
        }
        Err(err) => page(&state, &csrf, &signed, None, Some(&err)).await,
    }
}

async fn start_totp(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    CsrfForm(_): CsrfForm<CodeForm>,
) -> Response {
    let pending = match enrolment::start_totp(&state, &signed.account).await {
        Ok(pending) => pending,
        Err(err) => return page(&state, &csrf, &signed, None, Some(&err)).await,
    };
    setup_page(&csrf, &signed, &pending.secret, None)
}

fn setup_page(
    csrf: &CsrfToken,
    signed: &Signed,
    secret: &str,
    error: Option<&AppError>,
) -> Response {
    let qr =
        totp::provisioning_uri(secret, &signed.account.email).and_then(|uri| totp::qr_svg(&uri));
    let qr_svg = match qr {
        Ok(svg) => svg,
        Err(err) => return AppError::internal(err).into_response(),
    };
    let page = TotpSetupPage {
        nav: Nav::signed(csrf, signed),
        secret: secret.to_string(),
        qr_svg,
        error: error.map(|e| e.message.clone()),
    };
    render(error.map(failed_status).unwrap_or(StatusCode::OK), &page)
}

async fn confirm_totp(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    match enrolment::confirm_totp(&state, &signed.account, &form.code, addr).await {
        Ok(codes) => render(
            StatusCode::OK,
            &RecoveryCodesPage {
                nav: Nav::signed(&csrf, &signed),
                codes,
            },
        ),
        Err(err) => match (
            second_factor::secret(&state.keys, &signed.account).await,
            signed.account.totp_enabled(),
        ) {
            (Ok(Some(secret)), false) => setup_page(&csrf, &signed, &secret, Some(&err)),
            _ => page(&state, &csrf, &signed, None, Some(&err)).await,
        },
    }
}

async fn disable_totp(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    match enrolment::disable_totp(&state, &signed.account, &form.password, addr).await {
        Ok(()) => {
            page(
                &state,
                &csrf,
                &signed,
                Some("The authenticator app is turned off."),
                None,
            )
            .await
        }
        Err(err) => page(&state, &csrf, &signed, None, Some(&err)).await,
    }
}

async fn recovery_codes(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    match enrolment::regenerate_recovery_codes(&state, &signed.account, &form.password, addr).await
    {
        Ok(codes) => render(
            StatusCode::OK,
            &RecoveryCodesPage {
                nav: Nav::signed(&csrf, &signed),
                codes,
            },
        ),
        Err(err) => page(&state, &csrf, &signed, None, Some(&err)).await,
    }
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    jar: CookieJar,
    CsrfForm(_): CsrfForm<PasswordForm>,
) -> Response {
    if let Err(err) = state
        .store
        .delete_auth_sessions_except(&signed.account.id, None)
        .await
    {
        return AppError::from(err).into_response();
    }
    let audited = audit::record_own(&state, &signed.account, Action::SignOutEverywhere, addr).await;
    if let Err(err) = audited {
        return err.into_response();
    }
    let jar = jar.add(removal_cookie(
        &state.settings,
        cookie_name(&state.settings),
    ));
    (jar, Redirect::to("/sign-in?signed_out=1")).into_response()
}
