//! The steps of signing in, shared by the sign-in page and the API.

use std::net::IpAddr;

use super::throttle::{self, Subjects};
use super::{password, recovery, second_factor, totp};
use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::domain::Email;
use crate::error::{AppError, AppResult};
use crate::monitoring::names::SIGN_IN_FAILURES;
use crate::state::AppState;
use crate::store::Account;

/// Records a refused attempt, against the account it named when there is one.
/// Callers answer the same either way; the entry is written in both cases, so
/// timing does not tell them apart either.
async fn audit_refusal(
    state: &AppState,
    action: Action,
    account_id: Option<&str>,
    addr: IpAddr,
) -> AppResult<()> {
    let mut event = AuditEvent::new(Actor::anonymous(), action).from_addr(addr);
    if let Some(id) = account_id {
        event = event.target(TargetKind::Account, id);
    }
    audit::record_now(state, event).await
}

fn wrong_credentials() -> AppError {
    // One message for an unknown email and a wrong password alike.
    AppError::unauthorized("invalid_credentials", "The email or password is not right.")
}

/// Checks email and password, throttled (see `throttle`): the attempt is
/// counted before the password is checked. The
/// account is returned only for the right password; whether it exists is
/// never revealed otherwise.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password_input: &str,
    addr: IpAddr,
) -> AppResult<Account> {
    let now = state.clock.unix();
    let subjects = Subjects::new(state.settings.throttle_key(), email, addr);
    let attempt = throttle::begin(&state.store, &subjects, now).await?;
    let account = match Email::parse(email) {
        Ok(email) => state.store.account_by_email(email.as_str()).await?,
        Err(_) => None,
    };
    let stored = account.as_ref().map(|a| a.password_hash.as_str());
    let ok = match password::verify(password_input, stored).await {
        Ok(ok) => ok,
        Err(err) => {
            // Not checked (e.g. the hashers were busy): not a failure either.
            attempt.forget(&state.store).await?;
            return Err(err.into());
        }
    };
    let account = match (ok, account) {
        (true, Some(account)) => {
            attempt.forget(&state.store).await?;
            account
        }
        (_, account) => {
            // The attempt's rows stay: they are the failure.
            let id = account.as_ref().map(|a| a.id.as_str());
            metrics::counter!(SIGN_IN_FAILURES, "factor" => "password").increment(1);
            audit_refusal(state, Action::SignInFailed, id, addr).await?;
            tracing::info!("sign-in refused: wrong credentials");
            return Err(wrong_credentials());
        }
    };
    if account.email_verified_at.is_none() || account.is_suspended() {
        audit_refusal(state, Action::SignInFailed, Some(&account.id), addr).await?;
    }
    if account.email_verified_at.is_none() {
        return Err(AppError::forbidden(
            "email_not_verified",
            "Please confirm your email address first: open the link we sent you, or ask for a new one.",
        ));
    }
    if account.is_suspended() {
        return Err(AppError::forbidden(
            "account_suspended",
            "This account is suspended. Please contact support.",
        ));
    }
    Ok(account)
}

/// What a wrong or reused second factor is told.
pub const WRONG_SECOND_FACTOR: &str = "That code is not right or was already used. Enter the current code from your app, or a recovery code.";

/// Checks a TOTP code or a recovery code during sign-in; each is accepted
/// only once.
pub async fn check_second_factor(
    state: &AppState,
    account: &Account,
    code: &str,
    addr: IpAddr,
) -> AppResult<()> {
    if second_factor_accepted(state, account, code, addr).await? {
        Ok(())
    } else {
        Err(AppError::unauthorized(
            "invalid_second_factor",
            WRONG_SECOND_FACTOR,
        ))
    }
}

/// Whether a TOTP code or a recovery code is accepted (each only once),
/// throttled like a password. A wrong code is `Ok(false)`, counted and
/// audited; the caller words the answer.
pub async fn second_factor_accepted(
    state: &AppState,
    account: &Account,
    code: &str,
    addr: IpAddr,
) -> AppResult<bool> {
    let now = state.clock.unix();
    let subjects = Subjects::new(state.settings.throttle_key(), &account.email, addr);
    let attempt = throttle::begin(&state.store, &subjects, now).await?;
    let accepted = if recovery::looks_like_code(code) {
        state
            .store
            .consume_recovery_code(&account.id, &recovery::hash(code), now)
            .await?
    } else {
        let secret = second_factor::secret(&state.keys, account).await?;
        match (secret.as_deref(), account.totp_enabled()) {
            (Some(secret), true) => match totp::matching_step(secret, code, now) {
                Some(step) => state.store.consume_totp_step(&account.id, step).await?,
                None => false,
            },
            _ => false,
        }
    };
    if accepted {
        attempt.forget(&state.store).await?;
    } else {
        metrics::counter!(SIGN_IN_FAILURES, "factor" => "second_factor").increment(1);
        audit_refusal(state, Action::SecondFactorFailed, Some(&account.id), addr).await?;
        tracing::info!(account = %account.id, "sign-in refused: wrong second factor");
    }
    Ok(accepted)
}

/// Bookkeeping once every factor has been accepted.
pub async fn finish(state: &AppState, account: &Account, addr: IpAddr) -> AppResult<()> {
    let subjects = Subjects::new(state.settings.throttle_key(), &account.email, addr);
    throttle::clear(&state.store, &subjects).await?;
    state
        .store
        .record_sign_in(&account.id, state.clock.unix())
        .await?;
    let event = AuditEvent::new(Actor::account(account), Action::SignIn)
        .target(TargetKind::Account, &account.id)
        .from_addr(addr);
    audit::record_now(state, event).await?;
    tracing::info!(account = %account.id, "signed in");
    Ok(())
}
