//! The authenticator secret at rest. It is sealed under the account's data
//! key like client records, bound to the account's row, so a copy of the
//! database without the key store and master key cannot mint sign-in codes.

use anyhow::Context;
use regroup_vault::FieldContext;

use crate::error::{AppError, AppResult};
use crate::ids::AccountId;
use crate::keys::Keyring;
use crate::store::{Account, Store};

/// Marks a sealed value; base32 secrets never contain a colon.
const SEALED: &str = "sealed:";

fn field(account_id: &AccountId) -> FieldContext<'_> {
    FieldContext {
        owner: account_id,
        table: "accounts",
        column: "totp_secret",
        row_id: account_id,
    }
}

async fn seal(keys: &Keyring, account_id: &AccountId, secret: &str) -> AppResult<String> {
    let key = keys.data_key(account_id).await?;
    Ok(format!(
        "{SEALED}{}",
        key.seal_str(&field(account_id), secret)
    ))
}

/// Stores a new secret, sealed, not in force until it is confirmed.
pub async fn store_pending(
    store: &Store,
    keys: &Keyring,
    account_id: &AccountId,
    secret: &str,
    now: i64,
) -> AppResult<()> {
    let sealed = seal(keys, account_id, secret).await?;
    store.set_pending_totp(account_id, &sealed, now).await?;
    Ok(())
}

/// The account's secret in clear, if it has one.
pub async fn secret(keys: &Keyring, account: &Account) -> AppResult<Option<String>> {
    let Some(stored) = account.totp_secret.as_deref() else {
        return Ok(None);
    };
    let sealed = stored
        .strip_prefix(SEALED)
        .ok_or_else(|| unreadable(account))?;
    let key = keys
        .existing_key(&account.id)
        .await?
        .ok_or_else(|| unreadable(account))?;
    key.open_str(&field(&account.id), sealed)
        .map(Some)
        .map_err(|_| unreadable(account))
}

fn unreadable(account: &Account) -> AppError {
    AppError::internal(anyhow::anyhow!(
        "the authenticator secret of {} does not open",
        account.id
    ))
}

/// Seals secrets stored in clear by versions before sealing; run at start.
/// Returns how many were sealed.
pub async fn seal_clear_secrets(store: &Store, keys: &Keyring) -> anyhow::Result<usize> {
    let clear = store
        .clear_totp_secrets(SEALED)
        .await
        .context("while looking for authenticator secrets in clear")?;
    for (id, secret) in &clear {
        let sealed = seal(keys, id, secret)
            .await
            .map_err(|e| anyhow::anyhow!("while sealing an authenticator secret: {e:?}"))?;
        store
            .replace_totp_secret(id, secret, &sealed)
            .await
            .context("while storing a sealed authenticator secret")?;
    }
    Ok(clear.len())
}
