//! Second-factor enrolment (set up, confirm, turn off) and recovery codes,
//! what a signed-in therapist does on the security page.

use std::net::IpAddr;

use super::{password, recovery, second_factor, totp};
use crate::audit::{self, Action};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::Account;

/// A secret waiting for its first code, shown to the person once.
pub struct PendingTotp {
    pub secret: String,
    pub uri: String,
}

/// Starts enrolment: stores a new secret that is not yet in force.
pub async fn start_totp(state: &AppState, account: &Account) -> AppResult<PendingTotp> {
    if account.totp_enabled() {
        return Err(AppError::conflict(
            "totp_enabled",
            "totp",
            "An authenticator app is already set up. Turn it off first to set up another.",
        ));
    }
    let secret = totp::new_secret();
    second_factor::store_pending(
        &state.store,
        &state.keys,
        &account.id,
        &secret,
        state.clock.unix(),
    )
    .await?;
    let uri = totp::provisioning_uri(&secret, &account.email)?;
    Ok(PendingTotp { secret, uri })
}

/// Confirms enrolment with a first code; returns fresh recovery codes.
pub async fn confirm_totp(
    state: &AppState,
    account: &Account,
    code: &str,
    addr: IpAddr,
) -> AppResult<Vec<String>> {
    let secret = second_factor::secret(&state.keys, account).await?;
    let secret = match (&secret, account.totp_enabled()) {
        (Some(secret), false) => secret,
        (_, true) => {
            return Err(AppError::conflict(
                "totp_enabled",
                "totp",
                "The authenticator app is already set up.",
            ))
        }
        (None, _) => {
            return Err(AppError::invalid(
                "code",
                "Start the set-up again: no authenticator app is waiting to be confirmed.",
            ))
        }
    };
    let now = state.clock.unix();
    let step = totp::matching_step(secret, code, now).ok_or_else(|| {
        AppError::invalid(
            "code",
            "That code is not right. Enter the six digits your app shows now.",
        )
    })?;
    state.store.enable_totp(&account.id, step, now).await?;
    audit::record_own(state, account, Action::TotpEnabled, addr).await?;
    tracing::info!(account = %account.id, "authenticator app enrolled");
    new_recovery_codes(state, account).await
}

async fn new_recovery_codes(state: &AppState, account: &Account) -> AppResult<Vec<String>> {
    let codes = recovery::generate();
    let hashes: Vec<String> = codes.iter().map(|c| recovery::hash(c)).collect();
    state
        .store
        .replace_recovery_codes(&account.id, &hashes)
        .await?;
    Ok(codes)
}

async fn require_password(account: &Account, password_input: &str) -> AppResult<()> {
    if password::verify(password_input, Some(&account.password_hash)).await? {
        Ok(())
    } else {
        Err(AppError::invalid("password", "Your password is not right."))
    }
}

pub async fn disable_totp(
    state: &AppState,
    account: &Account,
    password_input: &str,
    addr: IpAddr,
) -> AppResult<()> {
    require_password(account, password_input).await?;
    state
        .store
        .disable_totp(&account.id, state.clock.unix())
        .await?;
    audit::record_own(state, account, Action::TotpDisabled, addr).await?;
    tracing::info!(account = %account.id, "authenticator app removed");
    Ok(())
}

pub async fn regenerate_recovery_codes(
    state: &AppState,
    account: &Account,
    password_input: &str,
    addr: IpAddr,
) -> AppResult<Vec<String>> {
    require_password(account, password_input).await?;
    if !account.totp_enabled() {
        return Err(AppError::invalid(
            "password",
            "Set up an authenticator app first.",
        ));
    }
    let codes = new_recovery_codes(state, account).await?;
    audit::record_own(state, account, Action::RecoveryCodesRegenerated, addr).await?;
    Ok(codes)
}
