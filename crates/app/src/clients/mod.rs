//! Clients: entered by a therapist, visible to that therapist alone. Name and
//! email exist in plaintext only in memory, between opening and answering.

use regroup_vault::{normalize_email, DataKey, FieldContext};
use serde::Serialize;

use crate::domain::{DisplayName, Email};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, Account, ClientRow};

const TABLE: &str = "clients";

/// A client as the therapist sees it.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub email: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn ctx<'a>(owner: &'a str, column: &'a str, row_id: &'a str) -> FieldContext<'a> {
    FieldContext {
        owner,
        table: TABLE,
        column,
        row_id,
    }
}

pub fn email_index(key: &DataKey, email: &Email) -> String {
    hex::encode(key.blind_index("clients.email", &normalize_email(email.as_str())))
}

/// Opens a stored row; a row that does not open is reported for that record only.
pub fn open(key: &DataKey, row: &ClientRow) -> AppResult<Client> {
    let name = key.open_str(&ctx(&row.owner_id, "name", &row.id), &row.name_sealed);
    let email = key.open_str(&ctx(&row.owner_id, "email", &row.id), &row.email_sealed);
    match (name, email) {
        (Ok(name), Ok(email)) => Ok(Client {
            id: row.id.clone(),
            name,
            email,
        }),
        _ => {
            tracing::error!(client = %row.id, "a client record does not decrypt");
            Err(unreadable())
        }
    }
}

pub fn unreadable() -> AppError {
    AppError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "record_unreadable",
        "This client's record cannot be decrypted. It may be damaged; please contact support.",
    )
}

fn sealed_row(
    key: &DataKey,
    owner: &str,
    id: &str,
    name: &DisplayName,
    email: &Email,
    now: i64,
    created_at: i64,
) -> ClientRow {
    ClientRow {
        id: id.to_string(),
        owner_id: owner.to_string(),
        name_sealed: key.seal_str(&ctx(owner, "name", id), name.as_str()),
        email_sealed: key.seal_str(&ctx(owner, "email", id), email.as_str()),
        email_index: email_index(key, email),
        created_at,
        updated_at: now,
    }
}

fn duplicate() -> AppError {
    AppError::conflict(
        "client_exists",
        "email",
        "You already have a client with this email address.",
    )
}

fn parse(name: &str, email: &str) -> AppResult<(DisplayName, Email)> {
    let name = DisplayName::parse(name).map_err(|m| AppError::invalid("name", m))?;
    let email = Email::parse(email).map_err(|m| AppError::invalid("email", m))?;
    Ok((name, email))
}

pub async fn create(
    state: &AppState,
    owner: &Account,
    name: &str,
    email: &str,
) -> AppResult<Client> {
    let (name, email) = parse(name, email)?;
    let key = state.keys.data_key(&owner.id).await?;
    let now = state.clock.unix();
    let row = sealed_row(&key, &owner.id, &new_id(), &name, &email, now, now);
    state.store.insert_client(&row).await.map_err(|e| {
        if is_unique_violation(&e) {
            duplicate()
        } else {
            e.into()
        }
    })?;
    tracing::info!(client = %row.id, "client created");
    open(&key, &row)
}

/// One entry of a list: the client, or the id of a record that did not open.
pub enum Listed {
    Readable(Client),
    Unreadable(String),
}

/// The owner's clients, optionally filtered by a case-insensitive name search.
/// Names are sealed, so the search runs after opening, in memory: a practice
/// has hundreds of clients, not millions.
pub async fn list(
    state: &AppState,
    owner: &Account,
    search: Option<&str>,
) -> AppResult<Vec<Listed>> {
    let rows = state.store.clients_of(&owner.id).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let key = state
        .keys
        .existing_key(&owner.id)
        .await?
        .ok_or_else(unreadable)?;
    let needle = search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let mut listed: Vec<Listed> = rows
        .iter()
        .map(|row| match open(&key, row) {
            Ok(client) => Listed::Readable(client),
            Err(_) => Listed::Unreadable(row.id.clone()),
        })
        .filter(|entry| match (&needle, entry) {
            (Some(n), Listed::Readable(c)) => c.name.to_lowercase().contains(n),
            (Some(_), Listed::Unreadable(_)) => false,
            (None, _) => true,
        })
        .collect();
    listed.sort_by_key(|entry| match entry {
        Listed::Readable(c) => (0, c.name.to_lowercase()),
        Listed::Unreadable(id) => (1, id.clone()),
    });
    Ok(listed)
}

/// One client of the owner; anyone else's id is simply not found.
pub async fn get(state: &AppState, owner: &Account, id: &str) -> AppResult<Client> {
    let row = state
        .store
        .client_of(&owner.id, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let key = state
        .keys
        .existing_key(&owner.id)
        .await?
        .ok_or_else(unreadable)?;
    open(&key, &row)
}

pub async fn update(
    state: &AppState,
    owner: &Account,
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
) -> AppResult<Client> {
    let current = get(state, owner, id).await?;
    let (name, email) = parse(
        name.unwrap_or(&current.name),
        email.unwrap_or(&current.email),
    )?;
    let row = state
        .store
        .client_of(&owner.id, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let key = state.keys.data_key(&owner.id).await?;
    let updated = sealed_row(
        &key,
        &owner.id,
        id,
        &name,
        &email,
        state.clock.unix(),
        row.created_at,
    );
    let found = state.store.update_client(&updated).await.map_err(|e| {
        if is_unique_violation(&e) {
            duplicate()
        } else {
            e.into()
        }
    })?;
    if !found {
        return Err(AppError::not_found());
    }
    open(&key, &updated)
}

pub async fn delete(state: &AppState, owner: &Account, id: &str) -> AppResult<()> {
    if !state.store.delete_client(&owner.id, id).await? {
        return Err(AppError::not_found());
    }
    tracing::info!(client = %id, "client deleted");
    Ok(())
}
