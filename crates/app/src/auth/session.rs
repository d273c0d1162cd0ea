//! Server-side sessions: the browser holds a random token in a cookie, API
//! clients hold one as a bearer token; the database holds only its hash.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;

use super::tokens::{hash_token, new_token};
use crate::error::{AppError, AppResult};
use crate::ids::AccountId;
use crate::state::{AppState, Settings};
use crate::store::{Account, Role, SessionKind};

/// A second factor must follow the password within this time.
pub const SECOND_FACTOR_SECS: i64 = 5 * 60;
/// `last_seen_at` is written at most this often, to spare the database.
const TOUCH_EVERY_SECS: i64 = 60;

pub fn cookie_name(settings: &Settings) -> &'static str {
    if settings.tls() {
        "__Host-regroup_session"
    } else {
        "regroup_session"
    }
}

pub fn pending_cookie_name(settings: &Settings) -> &'static str {
    if settings.tls() {
        "__Host-regroup_pending"
    } else {
        "regroup_pending"
    }
}

/// A cookie carrying a token: HttpOnly, SameSite=Lax, and Secure over TLS.
pub fn token_cookie(settings: &Settings, name: &'static str, token: String) -> Cookie<'static> {
    Cookie::build((name, token))
        .path("/")
        .http_only(true)
        .secure(settings.tls())
        .same_site(SameSite::Lax)
        .build()
}

pub fn removal_cookie(settings: &Settings, name: &'static str) -> Cookie<'static> {
    let mut cookie = token_cookie(settings, name, String::new());
    cookie.make_removal();
    cookie
}

/// Starts a session; returns the token to hand out and its absolute expiry.
pub async fn start(
    state: &AppState,
    account_id: &AccountId,
    kind: SessionKind,
) -> AppResult<(String, i64)> {
    let now = state.clock.unix();
    let lifetime = match kind {
        SessionKind::SecondFactor => SECOND_FACTOR_SECS,
        _ => state.settings.session_max.as_secs() as i64,
    };
    let token = new_token();
    let expires_at = now + lifetime;
    state
        .store
        .insert_auth_session(&hash_token(&token), account_id, kind, now, expires_at)
        .await?;
    Ok((token, expires_at))
}

/// The account behind a token, if the session is alive: not past its absolute
/// expiry, not idle for longer than allowed, and the account not suspended.
pub async fn resolve(
    state: &AppState,
    token: &str,
    kind: SessionKind,
) -> AppResult<Option<Signed>> {
    let token_hash = hash_token(token);
    let Some(session) = state.store.session_account(&token_hash, kind).await? else {
        return Ok(None);
    };
    let now = state.clock.unix();
    let idle = state.settings.session_idle.as_secs() as i64;
    if session.expires_at <= now || session.last_seen_at + idle <= now {
        state.store.delete_auth_session(&token_hash).await?;
        return Ok(None);
    }
    let account = session.account;
    if account.is_suspended() {
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY_SECS {
        state.store.touch_auth_session(&token_hash, now).await?;
    }
    Ok(Some(Signed {
        account,
        token_hash,
        expires_at: session.expires_at,
        policy_notice: None,
    }))
}

/// A signed-in account and the session that proves it.
#[derive(Clone, Debug)]
pub struct Signed {
    pub account: Account,
    pub token_hash: String,
    pub expires_at: i64,
    /// On pages of a therapist: the policy versions waiting for them
    /// ("privacy policy (version 2)"), which the page header asks them to read.
    pub policy_notice: Option<String>,
}

/// An API caller with a valid bearer token.
pub struct ApiAuth(pub Signed);

impl<S> FromRequestParts<S> for ApiAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let unauthorized = || {
            AppError::unauthorized(
                "unauthorized",
                "Sign in first: send the token from /api/v1/auth/login as `Authorization: Bearer <token>`.",
            )
        };
        let token = token.ok_or_else(unauthorized)?;
        resolve(&state, token, SessionKind::Bearer)
            .await?
            .map(ApiAuth)
            .ok_or_else(unauthorized)
    }
}

/// A browser with a valid session cookie; others are sent to the sign-in page.
pub struct PageAuth(pub Signed);

impl<S> FromRequestParts<S> for PageAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let name = cookie_name(&state.settings);
        let Some(token) = jar.get(name).map(|c| c.value().to_owned()) else {
            return Err(Redirect::to("/sign-in").into_response());
        };
        match resolve(&state, &token, SessionKind::Cookie).await {
            Ok(Some(mut signed)) => {
                signed.policy_notice =
                    crate::site::policy::notice_for(&state, &signed.account).await;
                Ok(PageAuth(signed))
            }
            Ok(None) => Err(Redirect::to("/sign-in?expired=1").into_response()),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// Declares an extractor that narrows `ApiAuth` or `PageAuth` to the
/// accounts `check` accepts; `reject` turns its error into the rejection.
macro_rules! role_gate {
    ($(#[$doc:meta])* $name:ident, $base:ident, $rejection:ty, $check:path, $reject:expr) => {
        $(#[$doc])*
        pub struct $name(pub $crate::auth::session::Signed);

        impl<S> axum::extract::FromRequestParts<S> for $name
        where
            $crate::state::AppState: axum::extract::FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = $rejection;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                let $base(signed) = $base::from_request_parts(parts, state).await?;
                $check(&signed).map_err($reject)?;
                Ok($name(signed))
            }
        }
    };
}
pub(crate) use role_gate;

fn therapists_only(signed: &Signed) -> Result<(), AppError> {
    if signed.account.role() != Role::Therapist {
        return Err(AppError::forbidden(
            "therapists_only",
            "This is for therapist accounts.",
        ));
    }
    Ok(())
}

role_gate!(
    /// An API caller who is a therapist.
    ApiTherapist, ApiAuth, AppError, therapists_only, |e| e
);
role_gate!(
    /// A browser session of a therapist.
    PageTherapist, PageAuth, Response, therapists_only, IntoResponse::into_response
);
