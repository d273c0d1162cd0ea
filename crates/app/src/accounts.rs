//! What a therapist can do with their own account, shared by pages and API.

use std::net::IpAddr;

use serde::Serialize;

use crate::audit::{self, Action};
use crate::auth::{email_links, password, signin, throttle};
use crate::clock::rfc3339;
use crate::domain::{DisplayName, Email, NewPassword, ProfileDetails, TimeZoneName};
use crate::error::{on_unique, AppError, AppResult};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::{is_unique_violation, Account, NewAccount, Role, TokenPurpose};

fn invalid(field: &'static str) -> impl Fn(String) -> AppError {
    move |message| AppError::invalid(field, message)
}

/// Requests that mail someone, per requesting address and per recipient.
const MAIL_REQUESTS_PER_WINDOW: i64 = 5;
const MAIL_REQUEST_WINDOW_SECS: i64 = 3600;

/// Throttles a form that mails `email` (sign-up, password reset, a new
/// verification link): five an hour from one address, five an hour to one
/// recipient, so nobody can flood an inbox or the outgoing mail. Counted
/// whether or not the address has an account, so 429 reveals nothing.
async fn throttle_mail(state: &AppState, form: &str, email: &str, addr: IpAddr) -> AppResult<()> {
    let key = state.settings.throttle_key();
    let from = throttle::address_subject(key, &format!("{form}/from"), addr);
    let to = throttle::subject(key, &format!("{form}/to"), &email.trim().to_lowercase());
    throttle::count(
        &state.store,
        &[
            (&from, MAIL_REQUESTS_PER_WINDOW),
            (&to, MAIL_REQUESTS_PER_WINDOW),
        ],
        MAIL_REQUEST_WINDOW_SECS,
        state.clock.unix(),
    )
    .await
}

fn email_taken() -> AppError {
    AppError::conflict(
        "email_taken",
        "email",
        "An account with this email already exists. Sign in, or reset your password.",
    )
}

/// What a sign-up answers. For an address that already has an account the
/// answer looks the same (with an id nothing has), so it does not tell.
pub struct Registered {
    pub id: AccountId,
    pub name: String,
    pub email: String,
}

/// Signs a therapist up and mails the verification link. An address that
/// already has an account gets the same answer and the same work (a hash, a
/// mail), and its owner is told instead: sign-up cannot probe for accounts.
pub async fn register(
    state: &AppState,
    name: &str,
    email: &str,
    password_input: &str,
    time_zone: &str,
    addr: IpAddr,
) -> AppResult<Registered> {
    let name = DisplayName::parse(name).map_err(invalid("name"))?;
    // Empty (no script to read the browser's zone) keeps the default, UTC.
    let time_zone = match time_zone.trim() {
        "" => None,
        raw => Some(TimeZoneName::parse(raw).map_err(invalid("time_zone"))?),
    };
    let email = Email::parse(email).map_err(invalid("email"))?;
    let password_input = NewPassword::parse(password_input, &[name.as_str(), email.as_str()])
        .map_err(invalid("password"))?;
    throttle_mail(state, "sign_up", email.as_str(), addr).await?;
    let as_if_new = Registered {
        id: AccountId::new(),
        name: name.as_str().to_owned(),
        email: email.as_str().to_owned(),
    };
    let existing = state.store.account_by_email(email.as_str()).await?;
    let hash = password::hash(password_input.expose()).await?;
    if let Some(owner) = existing {
        email_links::send_sign_up_notice(state, &owner).await?;
        return Ok(as_if_new);
    }
    let inserted = state
        .store
        .insert_account(
            NewAccount {
                role: Role::Therapist,
                name: name.as_str(),
                email: email.as_str(),
                password_hash: &hash,
                email_verified: false,
            },
            state.clock.unix(),
        )
        .await;
    let account = match inserted {
        Ok(account) => account,
        // Someone signed up with this address a moment ago.
        Err(e) if is_unique_violation(&e) => {
            if let Some(owner) = state.store.account_by_email(email.as_str()).await? {
                email_links::send_sign_up_notice(state, &owner).await?;
            }
            return Ok(as_if_new);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(time_zone) = &time_zone {
        state
            .store
            .update_time_zone(&account.id, time_zone.as_str())
            .await?;
    }
    tracing::info!(account = %account.id, "therapist signed up");
    email_links::send_verification(state, &account).await?;
    Ok(Registered {
        id: account.id,
        name: account.name,
        email: account.email,
    })
}

/// Verifies an email address with the link's token.
pub async fn verify_email(state: &AppState, token: &str) -> AppResult<()> {
    let record = email_links::consume(state, token, TokenPurpose::VerifyEmail)
        .await?
        .ok_or_else(expired_link)?;
    state
        .store
        .mark_email_verified(&record.account_id, state.clock.unix())
        .await?;
    Ok(())
}

pub fn expired_link() -> AppError {
    AppError::new(
        axum::http::StatusCode::GONE,
        "link_expired",
        "This link has expired or was already used. Ask for a new one.",
    )
}

/// Sends a fresh verification link if the account exists and is unverified.
/// Answers the same either way, so it cannot be used to probe for accounts.
pub async fn resend_verification(state: &AppState, email: &str, addr: IpAddr) -> AppResult<()> {
    throttle_mail(state, "resend_verification", email, addr).await?;
    if let Ok(email) = Email::parse(email) {
        if let Some(account) = state.store.account_by_email(email.as_str()).await? {
            if account.email_verified_at.is_none() {
                email_links::send_verification(state, &account).await?;
            }
        }
    }
    Ok(())
}

/// Queues a reset link for the account with this address, if any; the job
/// runner mails it. An unknown address queues a job for an id no account has
/// (which does nothing), so the request does the same work either way and
/// neither its answer nor its timing tells whether the account exists.
pub async fn request_password_reset(state: &AppState, email: &str, addr: IpAddr) -> AppResult<()> {
    throttle_mail(state, "password_reset", email, addr).await?;
    let account = match Email::parse(email) {
        Ok(email) => state.store.account_by_email(email.as_str()).await?,
        Err(_) => None,
    };
    let target = account.map_or_else(AccountId::new, |a| a.id);
    state
        .store
        .schedule_job(crate::jobs::PASSWORD_RESET, &target, state.clock.unix())
        .await?;
    Ok(())
}

/// Sets a new password from a reset link and signs out every session.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    addr: IpAddr,
) -> AppResult<()> {
    let record = email_links::peek(state, token, TokenPurpose::ResetPassword)
        .await?
        .ok_or_else(expired_link)?;
    let account = state
        .store
        .account_by_id(&record.account_id)
        .await?
        .ok_or_else(expired_link)?;
    let new_password = NewPassword::parse(new_password, &[&account.name, &account.email])
        .map_err(invalid("password"))?;
    // Consumed only after the new password passed its checks, so a rejected
    // attempt does not burn the link.
    email_links::consume(state, token, TokenPurpose::ResetPassword)
        .await?
        .ok_or_else(expired_link)?;
    let hash = password::hash(new_password.expose()).await?;
    let now = state.clock.unix();
    state
        .store
        .update_password_hash(&account.id, &hash, now)
        .await?;
    // The link proves control of the mailbox, which is what verification asks.
    state.store.mark_email_verified(&account.id, now).await?;
    state
        .store
        .delete_auth_sessions_except(&account.id, None)
        .await?;
    audit::record_own(state, &account, Action::PasswordReset, addr).await?;
    tracing::info!(account = %account.id, "password reset; all sessions ended");
    Ok(())
}

/// Changes the password of a signed-in therapist; other sessions end.
pub async fn change_password(
    state: &AppState,
    account: &Account,
    current: &str,
    new: &str,
    keep_session: &str,
    addr: IpAddr,
) -> AppResult<()> {
    if !password::verify(current, Some(&account.password_hash)).await? {
        return Err(AppError::invalid(
            "current_password",
            "Your current password is not right.",
        ));
    }
    let new = NewPassword::parse(new, &[&account.name, &account.email])
        .map_err(invalid("new_password"))?;
    let hash = password::hash(new.expose()).await?;
    state
        .store
        .update_password_hash(&account.id, &hash, state.clock.unix())
        .await?;
    state
        .store
        .delete_auth_sessions_except(&account.id, Some(keep_session))
        .await?;
    audit::record_own(state, account, Action::PasswordChanged, addr).await
}

/// A change to the profile; `None` leaves a field as it is.
#[derive(Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub credential: Option<String>,
    pub license_number: Option<String>,
    pub practice_states: Option<String>,
    pub bio: Option<String>,
    pub time_zone: Option<String>,
}

/// What `update_profile` did, so the page can say so.
pub struct ProfileUpdated {
    pub account: Account,
    /// A confirmation link went to the new address; the change waits for it.
    pub email_change_pending: bool,
}

/// Checks every field first, then saves; nothing is stored if any field is bad.
pub async fn update_profile(
    state: &AppState,
    account: &Account,
    change: ProfileChange,
) -> AppResult<ProfileUpdated> {
    let name = DisplayName::parse(change.name.as_deref().unwrap_or(&account.name))
        .map_err(invalid("name"))?;
    let profile = ProfileDetails::parse(
        change.credential.as_deref().unwrap_or(&account.credential),
        change
            .license_number
            .as_deref()
            .unwrap_or(&account.license_number),
        change
            .practice_states
            .as_deref()
            .unwrap_or(&account.practice_states),
        change.bio.as_deref().unwrap_or(&account.bio),
    )
    .map_err(|(field, message)| AppError::invalid(field, message))?;
    let time_zone = TimeZoneName::parse(change.time_zone.as_deref().unwrap_or(&account.time_zone))
        .map_err(invalid("time_zone"))?;
    let new_email = match change.email.as_deref() {
        Some(raw) => {
            let email = Email::parse(raw).map_err(invalid("email"))?;
            (email.as_str() != account.email).then_some(email)
        }
        None => None,
    };
    // An address that has an account is answered like any other (so the
    // form cannot probe for accounts); its owner is told, and nothing changes.
    let taken_by = match &new_email {
        Some(email) => state.store.account_by_email(email.as_str()).await?,
        None => None,
    };
    state
        .store
        .update_name_and_profile(
            &account.id,
            name.as_str(),
            &profile,
            time_zone.as_str(),
            state.clock.unix(),
        )
        .await?;
    let account = state
        .store
        .account_by_id(&account.id)
        .await?
        .ok_or_else(AppError::not_found)?;
    match (&new_email, taken_by) {
        (Some(_), Some(owner)) => email_links::send_email_taken_notice(state, &owner).await?,
        (Some(email), None) => {
            email_links::send_email_change(state, &account, email.as_str()).await?
        }
        (None, _) => {}
    }
    Ok(ProfileUpdated {
        account,
        email_change_pending: new_email.is_some(),
    })
}

/// Applies a confirmed email change from the link sent to the new address.
pub async fn confirm_email_change(state: &AppState, token: &str) -> AppResult<()> {
    let record = email_links::consume(state, token, TokenPurpose::ChangeEmail)
        .await?
        .ok_or_else(expired_link)?;
    let new_email = record.new_email.ok_or_else(expired_link)?;
    state
        .store
        .update_email(&record.account_id, &new_email, state.clock.unix())
        .await
        .map_err(on_unique(email_taken))?;
    Ok(())
}

/// The therapist as the API shows them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TherapistView {
    pub id: AccountId,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub credential: String,
    pub license_number: String,
    pub practice_states: String,
    pub bio: String,
    pub time_zone: String,
    pub totp_enabled: bool,
    pub created_at: String,
}

impl From<&Account> for TherapistView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            email_verified: a.email_verified_at.is_some(),
            credential: a.credential.clone(),
            license_number: a.license_number.clone(),
            practice_states: a.practice_states.clone(),
            bio: a.bio.clone(),
            time_zone: a.time_zone.clone(),
            totp_enabled: a.totp_enabled(),
            created_at: rfc3339(a.created_at),
        }
    }
}

/// Deletes the account after the password (and second factor, if enrolled)
/// confirm that its owner asks for it.
pub async fn delete(
    state: &AppState,
    account: &Account,
    password_input: &str,
    code: Option<&str>,
    addr: IpAddr,
) -> AppResult<()> {
    if !password::verify(password_input, Some(&account.password_hash)).await? {
        return Err(AppError::invalid("password", "Your password is not right."));
    }
    if account.totp_enabled() {
        let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            AppError::invalid(
                "totp_code",
                "Enter the current code from your authenticator app.",
            )
        })?;
        if !signin::second_factor_accepted(state, account, code, addr).await? {
            return Err(AppError::invalid("totp_code", signin::WRONG_SECOND_FACTOR));
        }
    }
    audit::record_own(state, account, Action::AccountDeleted, addr).await?;
    // The key goes first: once it is gone, every copy of this therapist's
    // client data (backups included) is unreadable, even if a later step fails.
    state.keys.shred(&account.id).await?;
    state.store.delete_account(&account.id).await?;
    crate::room::across::tell(
        state,
        crate::room::across::Outside::OwnerGone {
            owner_id: &account.id,
        },
    )
    .await;
    tracing::info!(account = %account.id, "account deleted; data key destroyed");
    Ok(())
}
