//! Therapy clients' rows, name and email sealed under the owner's data key: `clients`.

use sqlx::FromRow;

use super::{detached, Backend, Store};
use crate::ids::{AccountId, ClientId};

/// A client row as stored: sealed fields only.
#[derive(Clone, FromRow)]
pub struct ClientRow {
    pub id: ClientId,
    pub owner_id: AccountId,
    pub name_sealed: String,
    pub email_sealed: String,
    pub email_index: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A client in a list: id and sealed fields, owned by the therapist asked for.
pub struct SealedClient {
    pub id: ClientId,
    pub name_sealed: String,
    pub email_sealed: String,
}

impl SealedClient {
    fn unpack(line: &str) -> Result<Self, sqlx::Error> {
        let mut fields = line.split(' ');
        match (fields.next(), fields.next(), fields.next(), fields.next()) {
            (Some(id), Some(name), Some(email), None) => Ok(Self {
                id: ClientId::from(id),
                name_sealed: name.to_owned(),
                email_sealed: email.to_owned(),
            }),
            _ => Err(sqlx::Error::Decode(
                "a packed client row does not have three fields".into(),
            )),
        }
    }
}

const COLUMNS: &str =
    "id, owner_id, name_sealed, email_sealed, email_index, created_at, updated_at";

// Every query here names the owner: a client is only ever found through the
// therapist who entered it.
impl Store {
    pub async fn insert_client(&self, row: &ClientRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&row.id)
        .bind(&row.owner_id)
        .bind(&row.name_sealed)
        .bind(&row.email_sealed)
        .bind(&row.email_index)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The owner's clients, in no particular order, sealed fields only: the
    /// names are sealed, so only the caller can sort them, and an `ORDER BY`
    /// inside the aggregate made SQLite sort the packed strings, which cost
    /// more than the rest of the query. The rows come back packed into one
    /// value: SQLite hands each row from its worker thread to the async side
    /// on its own, and for a list of a hundred clients those hand-offs cost
    /// more than the query. Ids are UUIDs and sealed values base64, so
    /// neither holds a space or a newline.
    pub async fn clients_of(&self, owner_id: &AccountId) -> Result<Vec<SealedClient>, sqlx::Error> {
        let aggregate = match self.backend() {
            Backend::Sqlite => "group_concat",
            Backend::Postgres => "string_agg",
        };
        let newline = match self.backend() {
            Backend::Sqlite => "char(10)",
            Backend::Postgres => "chr(10)",
        };
        let packed: Option<String> = sqlx::query_scalar(&format!(
            "SELECT {aggregate}(id || ' ' || name_sealed || ' ' || email_sealed, {newline}) \
             FROM clients WHERE owner_id = $1"
        ))
        .bind(owner_id)
        .fetch_one(self.pool())
        .await?;
        packed
            .as_deref()
            .unwrap_or("")
            .lines()
            .map(SealedClient::unpack)
            .collect()
    }

    pub async fn client_of(
        &self,
        owner_id: &AccountId,
        id: &ClientId,
    ) -> Result<Option<ClientRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM clients WHERE owner_id = $1 AND id = $2"
        ))
        .bind(owner_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn update_client(&self, row: &ClientRow) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE clients SET name_sealed = $3, email_sealed = $4, email_index = $5, updated_at = $6 \
             WHERE owner_id = $1 AND id = $2",
        )
        .bind(&row.owner_id)
        .bind(&row.id)
        .bind(&row.name_sealed)
        .bind(&row.email_sealed)
        .bind(&row.email_index)
        .bind(row.updated_at)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_client(
        &self,
        owner_id: &AccountId,
        id: &ClientId,
    ) -> Result<bool, sqlx::Error> {
        let (pool, owner_id, id) = (self.pool().clone(), owner_id.to_owned(), id.to_owned());
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM session_participants WHERE client_id = $1 AND client_id IN (SELECT id FROM clients WHERE owner_id = $2)")
                .bind(&id)
                .bind(&owner_id)
                .execute(&mut *tx)
                .await?;
            let result = sqlx::query("DELETE FROM clients WHERE owner_id = $1 AND id = $2")
                .bind(&owner_id)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(result.rows_affected() == 1)
        })
        .await
    }
}
