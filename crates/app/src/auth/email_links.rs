//! Single-use links sent by email: verify an address, reset a password,
//! confirm a new address. 256-bit tokens, stored hashed, valid for 24 hours.

use super::tokens::{hash_token, new_token};
use crate::error::AppResult;
use crate::mail::Message;
use crate::state::AppState;
use crate::store::{Account, EmailToken, TokenPurpose};

pub const LIFETIME_SECS: i64 = 24 * 3600;

async fn issue(
    state: &AppState,
    account: &Account,
    purpose: TokenPurpose,
    new_email: Option<&str>,
) -> AppResult<String> {
    let now = state.clock.unix();
    state
        .store
        .revoke_email_tokens(&account.id, purpose, now)
        .await?;
    let token = new_token();
    state
        .store
        .insert_email_token(
            &hash_token(&token),
            &account.id,
            purpose,
            new_email,
            now,
            now + LIFETIME_SECS,
        )
        .await?;
    Ok(token)
}

pub async fn send_verification(state: &AppState, account: &Account) -> AppResult<()> {
    let token = issue(state, account, TokenPurpose::VerifyEmail, None).await?;
    let link = state.settings.link(&format!("/verify-email/{token}"));
    let text = format!(
        "Hello {name},\n\nwelcome to Regroup. Please confirm your email address by opening this link \
         and pressing the button on the page:\n\n{link}\n\nThe link works once and expires in 24 hours. \
         If you did not sign up, you can ignore this message.\n",
        name = account.name
    );
    state
        .mailer
        .send(Message::new(
            &account.name,
            &account.email,
            "Confirm your email address for Regroup",
            text,
        ))
        .await
}

pub async fn send_password_reset(state: &AppState, account: &Account) -> AppResult<()> {
    let token = issue(state, account, TokenPurpose::ResetPassword, None).await?;
    let link = state.settings.link(&format!("/reset-password/{token}"));
    let text = format!(
        "Hello {name},\n\nsomeone asked to reset the password of your Regroup account. To choose a new \
         password, open this link:\n\n{link}\n\nThe link works once and expires in 24 hours. Resetting \
         signs you out everywhere. If you did not ask for this, ignore this message: your password stays as it is.\n",
        name = account.name
    );
    state
        .mailer
        .send(Message::new(
            &account.name,
            &account.email,
            "Reset your Regroup password",
            text,
        ))
        .await
}

/// Tells an account's owner that someone tried to sign up with their address
/// (the sign-up itself answered as if the address were new).
pub async fn send_sign_up_notice(state: &AppState, owner: &Account) -> AppResult<()> {
    let text = format!(
        "Hello {name},\n\nsomeone tried to create a new Regroup account with this email address. \
         You already have one, so nothing was created.\n\nIf it was you, sign in at {sign_in}, or \
         choose a new password at {forgot}.\nIf it was not you, you can ignore this message.\n",
        name = owner.name,
        sign_in = state.settings.link("/sign-in"),
        forgot = state.settings.link("/forgot-password"),
    );
    state
        .mailer
        .send(Message::new(
            &owner.name,
            &owner.email,
            "Someone tried to sign up to Regroup with your address",
            text,
        ))
        .await
}

/// Tells an account's owner that another account asked to move to their
/// address (that request answered as if the address were free).
pub async fn send_email_taken_notice(state: &AppState, owner: &Account) -> AppResult<()> {
    let text = format!(
        "Hello {name},\n\nsomeone asked to use this email address for another Regroup account. \
         Your address stays with your account, and nothing was changed.\nIf it was you, sign in \
         at {sign_in}. Otherwise you can ignore this message.\n",
        name = owner.name,
        sign_in = state.settings.link("/sign-in"),
    );
    state
        .mailer
        .send(Message::new(
            &owner.name,
            &owner.email,
            "Someone asked to use your address on Regroup",
            text,
        ))
        .await
}

/// Sends the confirmation to the new address; the change happens when it is opened.
pub async fn send_email_change(
    state: &AppState,
    account: &Account,
    new_email: &str,
) -> AppResult<()> {
    let token = issue(state, account, TokenPurpose::ChangeEmail, Some(new_email)).await?;
    let link = state.settings.link(&format!("/confirm-email/{token}"));
    let text = format!(
        "Hello {name},\n\nplease confirm that this is the new email address of your Regroup account by \
         opening this link:\n\n{link}\n\nThe link works once and expires in 24 hours. Until then, your \
         account keeps its current address.\n",
        name = account.name
    );
    state
        .mailer
        .send(Message::new(
            &account.name,
            new_email,
            "Confirm your new email address for Regroup",
            text,
        ))
        .await
}

/// The token's record if it is valid, without using it up.
pub async fn peek(
    state: &AppState,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<Option<EmailToken>> {
    Ok(state
        .store
        .peek_email_token(&hash_token(token), purpose, state.clock.unix())
        .await?)
}

/// Uses the token up; `None` when it is unknown, used or expired.
pub async fn consume(
    state: &AppState,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<Option<EmailToken>> {
    Ok(state
        .store
        .consume_email_token(&hash_token(token), purpose, state.clock.unix())
        .await?)
}
