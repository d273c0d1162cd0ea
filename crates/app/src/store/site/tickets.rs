//! Support tickets: a subject, a status and a thread of messages between the
//! therapist who opened it and the operators.

use sqlx::FromRow;

use super::super::{detached, new_id, Store};
use crate::ids::AccountId;

#[derive(Clone, Debug, FromRow)]
pub struct TicketRow {
    pub id: String,
    pub account_id: AccountId,
    pub subject: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct TicketMessage {
    pub author_kind: String,
    pub body: String,
    pub created_at: i64,
}

const TICKET: &str = "id, account_id, subject, status, created_at, updated_at";

impl Store {
    /// Opens a ticket with the therapist's first message, all or nothing.
    pub async fn insert_ticket(
        &self,
        account_id: &AccountId,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        let (pool, account_id, subject, body) = (
            self.pool().clone(),
            account_id.to_owned(),
            subject.to_owned(),
            body.to_owned(),
        );
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO support_tickets (id, account_id, subject, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&id)
            .bind(&account_id)
            .bind(&subject)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_message(&mut tx, &id, "therapist", &account_id, &body, now).await?;
            tx.commit().await?;
            Ok(id)
        })
        .await
    }

    /// Adds a message and sets the ticket's status in one step.
    pub async fn add_ticket_message(
        &self,
        ticket_id: &str,
        author_kind: &str,
        author_id: &str,
        body: &str,
        status: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let (pool, ticket_id, author_kind, author_id, body, status) = (
            self.pool().clone(),
            ticket_id.to_owned(),
            author_kind.to_owned(),
            author_id.to_owned(),
            body.to_owned(),
            status.to_owned(),
        );
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            // An empty body is a status change alone.
            if !body.is_empty() {
                insert_message(&mut tx, &ticket_id, &author_kind, &author_id, &body, now).await?;
            }
            sqlx::query("UPDATE support_tickets SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(&ticket_id)
                .bind(&status)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .await
    }

    pub async fn ticket(&self, id: &str) -> Result<Option<TicketRow>, sqlx::Error> {
        self.row_where("support_tickets", TICKET, "id", id).await
    }

    pub async fn tickets_of(&self, account_id: &AccountId) -> Result<Vec<TicketRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {TICKET} FROM support_tickets WHERE account_id = $1 ORDER BY updated_at DESC"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await
    }

    /// Every ticket, open ones first, then waiting, then closed.
    pub async fn all_tickets(&self) -> Result<Vec<TicketRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {TICKET} FROM support_tickets ORDER BY \
             CASE status WHEN 'open' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END, updated_at DESC LIMIT 500"
        ))
        .fetch_all(self.pool())
        .await
    }

    pub async fn ticket_messages(
        &self,
        ticket_id: &str,
    ) -> Result<Vec<TicketMessage>, sqlx::Error> {
        sqlx::query_as(
            "SELECT author_kind, body, created_at FROM ticket_messages WHERE ticket_id = $1 ORDER BY created_at, id",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await
    }

    /// (name, email) of every operator, for notices of new tickets.
    pub async fn operator_contacts(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT name, email FROM accounts WHERE role IN ('admin', 'support') AND status = 'active' ORDER BY created_at",
        )
        .fetch_all(self.pool())
        .await
    }
}

/// One message of a thread, inside the caller's transaction so the ticket
/// and its messages change together.
async fn insert_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket_id: &str,
    author_kind: &str,
    author_id: &str,
    body: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_messages (id, ticket_id, author_kind, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(ticket_id)
    .bind(author_kind)
    .bind(author_id)
    .bind(body)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
