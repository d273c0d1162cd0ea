//! Clients: entered by a therapist, visible to that therapist alone. Name and
//! email exist in plaintext only in memory, between opening and answering.

use regroup_vault::{normalize_email, DataKey, FieldContext};
use serde::Serialize;

use std::net::IpAddr;

use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::domain::{DisplayName, Email};
use crate::error::{on_unique, AppError, AppResult};
use crate::ids::{AccountId, ClientId};
use crate::state::AppState;
use crate::store::{Account, ClientRow};

const TABLE: &str = "clients";

/// A client as the therapist sees it.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub id: ClientId,
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
    open_fields(
        key,
        &row.owner_id,
        &row.id,
        &row.name_sealed,
        &row.email_sealed,
    )
}

fn open_fields(
    key: &DataKey,
    owner: &AccountId,
    id: &ClientId,
    name_sealed: &str,
    email_sealed: &str,
) -> AppResult<Client> {
    let name = key.open_str(&ctx(owner, "name", id), name_sealed);
    let email = key.open_str(&ctx(owner, "email", id), email_sealed);
    match (name, email) {
        (Ok(name), Ok(email)) => Ok(Client {
            id: id.clone(),
            name,
            email,
        }),
        _ => {
            tracing::error!(client = %id, "a client record does not decrypt");
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
    owner: &AccountId,
    id: &ClientId,
    name: &DisplayName,
    email: &Email,
    now: i64,
    created_at: i64,
) -> ClientRow {
    ClientRow {
        id: id.clone(),
        owner_id: owner.clone(),
        name_sealed: key.seal_str(&ctx(owner, "name", id), name.as_str()),
        email_sealed: key.seal_str(&ctx(owner, "email", id), email.as_str()),
        email_index: email_index(key, email),
        created_at,
        updated_at: now,
    }
}

/// Leaves a trace of a therapist touching a client record.
async fn trace(
    state: &AppState,
    owner: &Account,
    action: Action,
    client_id: Option<&str>,
    addr: IpAddr,
) -> AppResult<()> {
    let mut event = AuditEvent::new(Actor::account(owner), action).from_addr(addr);
    if let Some(id) = client_id {
        event = event.target(TargetKind::Client, id);
    }
    audit::record_now(state, event).await
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
    addr: IpAddr,
) -> AppResult<Client> {
    let (name, email) = parse(name, email)?;
    let key = state.keys.data_key(&owner.id).await?;
    let now = state.clock.unix();
    let row = sealed_row(&key, &owner.id, &ClientId::new(), &name, &email, now, now);
    state
        .store
        .insert_client(&row)
        .await
        .map_err(on_unique(duplicate))?;
    tracing::info!(client = %row.id, "client created");
    trace(state, owner, Action::ClientCreated, Some(&row.id), addr).await?;
    open(&key, &row)
}

/// One entry of a list: the client, or the id of a record that did not open.
pub enum Listed {
    Readable(Client),
    Unreadable(ClientId),
}

/// The owner's clients, optionally filtered by a case-insensitive name search.
/// Names are sealed, so the search runs after opening, in memory: a practice
/// has hundreds of clients, not millions.
pub async fn list(
    state: &AppState,
    owner: &Account,
    search: Option<&str>,
    addr: IpAddr,
) -> AppResult<Vec<Listed>> {
    // The trace and the reads go at once; nothing is answered until the
    // trace is written.
    let (traced, rows, key) = tokio::join!(
        trace(state, owner, Action::ClientListed, None, addr),
        state.store.clients_of(&owner.id),
        state.keys.existing_key(&owner.id),
    );
    traced?;
    let mut rows = rows?;
    // Ids are UUIDv7, so in id order clients of the same name keep the
    // order they were entered in: the stable sort by name below keeps it.
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let key = key?.ok_or_else(unreadable)?;
    let needle = search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let mut listed = Vec::with_capacity(rows.len());
    for row in &rows {
        match open_fields(
            &key,
            &owner.id,
            &row.id,
            &row.name_sealed,
            &row.email_sealed,
        ) {
            Ok(client) => listed.push(Listed::Readable(client)),
            Err(_) => {
                trace(state, owner, Action::RecordUnreadable, Some(&row.id), addr).await?;
                listed.push(Listed::Unreadable(row.id.clone()));
            }
        }
    }
    listed.retain(|entry| match (&needle, entry) {
        (Some(n), Listed::Readable(c)) => c.name.to_lowercase().contains(n),
        (Some(_), Listed::Unreadable(_)) => false,
        (None, _) => true,
    });
    // Cached: a plain sort_by_key would lowercase both names of every
    // comparison, some 1,100 allocations for 100 clients instead of 100.
    listed.sort_by_cached_key(|entry| match entry {
        Listed::Readable(c) => (0, c.name.to_lowercase()),
        // Already in id order, which the stable sort keeps.
        Listed::Unreadable(_) => (1, String::new()),
    });
    Ok(listed)
}

/// One client of the owner; anyone else's id is simply not found.
pub async fn get(
    state: &AppState,
    owner: &Account,
    id: &ClientId,
    addr: IpAddr,
) -> AppResult<Client> {
    let row = state
        .store
        .client_of(&owner.id, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let key = state.keys.existing_key(&owner.id).await?;
    match key.as_ref().map(|key| open(key, &row)) {
        Some(Ok(client)) => {
            trace(state, owner, Action::ClientRead, Some(id), addr).await?;
            Ok(client)
        }
        _ => {
            trace(state, owner, Action::RecordUnreadable, Some(id), addr).await?;
            Err(unreadable())
        }
    }
}

pub async fn update(
    state: &AppState,
    owner: &Account,
    id: &ClientId,
    name: Option<&str>,
    email: Option<&str>,
    addr: IpAddr,
) -> AppResult<Client> {
    let current = get(state, owner, id, addr).await?;
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
    let found = state
        .store
        .update_client(&updated)
        .await
        .map_err(on_unique(duplicate))?;
    if !found {
        return Err(AppError::not_found());
    }
    trace(state, owner, Action::ClientUpdated, Some(id), addr).await?;
    open(&key, &updated)
}

pub async fn delete(
    state: &AppState,
    owner: &Account,
    id: &ClientId,
    addr: IpAddr,
) -> AppResult<()> {
    if !state.store.delete_client(&owner.id, id).await? {
        return Err(AppError::not_found());
    }
    crate::room::across::tell(
        state,
        crate::room::across::Outside::ClientDeleted {
            owner_id: &owner.id,
            client_id: id,
        },
    )
    .await;
    trace(state, owner, Action::ClientDeleted, Some(id), addr).await?;
    tracing::info!(client = %id, "client deleted");
    Ok(())
}
