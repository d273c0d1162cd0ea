//! Queries of the public site: policy versions and acknowledgements, tracked
//! links, privacy inquiries, support tickets and announcements.

use sqlx::FromRow;

use super::{new_id, Store};

#[derive(Clone, Debug, FromRow)]
pub struct PolicyVersion {
    pub kind: String,
    pub version: i64,
    pub body_md: String,
    pub body_html: String,
    pub effective_at: i64,
    pub published_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct Acknowledgement {
    pub kind: String,
    pub version: i64,
    pub acknowledged_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct TrackedLink {
    pub id: String,
    pub campaign: String,
    pub label: String,
    pub owner_id: Option<String>,
    pub destination: String,
}

#[derive(Clone, Debug, FromRow)]
pub struct InquiryRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub message: String,
    pub status: String,
    pub created_at: i64,
    pub due_at: i64,
    pub answered_at: Option<i64>,
}

#[derive(Clone, Debug, FromRow)]
pub struct TicketRow {
    pub id: String,
    pub account_id: String,
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

#[derive(Clone, Debug, FromRow)]
pub struct AnnouncementRow {
    pub id: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub recipients: i64,
}

/// What the operators' directory shows of a therapist: never their clients.
#[derive(Clone, Debug, FromRow)]
pub struct DirectoryRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

const POLICY: &str = "kind, version, body_md, body_html, effective_at, published_at";
const INQUIRY: &str = "id, name, email, message, status, created_at, due_at, answered_at";
const TICKET: &str = "id, account_id, subject, status, created_at, updated_at";
const ANNOUNCEMENT: &str = "id, subject, body, created_at, sent_at, recipients";

impl Store {
    // ---- policy versions -------------------------------------------------

    /// Publishes the next version of `kind`; returns its number.
    pub async fn insert_policy_version(
        &self,
        kind: &str,
        body_md: &str,
        body_html: &str,
        effective_at: i64,
        now: i64,
        by: Option<&str>,
    ) -> Result<i64, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM policy_versions WHERE kind = $1")
                .bind(kind)
                .fetch_one(&mut *tx)
                .await?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO policy_versions (kind, version, body_md, body_html, effective_at, published_at, published_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(kind)
        .bind(version)
        .bind(body_md)
        .bind(body_html)
        .bind(effective_at)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    pub async fn policy_versions(&self, kind: &str) -> Result<Vec<PolicyVersion>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {POLICY} FROM policy_versions WHERE kind = $1 ORDER BY version DESC"
        ))
        .bind(kind)
        .fetch_all(self.pool())
        .await
    }

    /// The newest version whose effective date has come.
    pub async fn policy_in_force(
        &self,
        kind: &str,
        now: i64,
    ) -> Result<Option<PolicyVersion>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {POLICY} FROM policy_versions WHERE kind = $1 AND effective_at <= $2 \
             ORDER BY version DESC LIMIT 1"
        ))
        .bind(kind)
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn policy_version(
        &self,
        kind: &str,
        version: i64,
    ) -> Result<Option<PolicyVersion>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {POLICY} FROM policy_versions WHERE kind = $1 AND version = $2"
        ))
        .bind(kind)
        .bind(version)
        .fetch_optional(self.pool())
        .await
    }

    /// Records an acknowledgement once; a repeat keeps the first time.
    pub async fn acknowledge_policy(
        &self,
        account_id: &str,
        kind: &str,
        version: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO policy_acknowledgements (account_id, kind, version, acknowledged_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, kind, version) DO NOTHING",
        )
        .bind(account_id)
        .bind(kind)
        .bind(version)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn acknowledgements_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<Acknowledgement>, sqlx::Error> {
        sqlx::query_as(
            "SELECT kind, version, acknowledged_at FROM policy_acknowledgements \
             WHERE account_id = $1 ORDER BY acknowledged_at, kind",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn has_acknowledged(
        &self,
        account_id: &str,
        kind: &str,
        version: i64,
    ) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM policy_acknowledgements WHERE account_id = $1 AND kind = $2 AND version = $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(version)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    // ---- tracked links ---------------------------------------------------

    pub async fn insert_tracked_link(
        &self,
        link: &TrackedLink,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO tracked_links (id, campaign, label, owner_id, destination, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&link.id)
        .bind(&link.campaign)
        .bind(&link.label)
        .bind(&link.owner_id)
        .bind(&link.destination)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn tracked_link(&self, id: &str) -> Result<Option<TrackedLink>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, campaign, label, owner_id, destination FROM tracked_links WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn record_click(
        &self,
        link_id: &str,
        campaign: &str,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO link_clicks (link_id, campaign, at) VALUES ($1, $2, $3)")
            .bind(link_id)
            .bind(campaign)
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Links sent and links clicked at least once, per campaign, in `[from, to)`.
    pub async fn email_clicks(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT l.campaign, COUNT(*), \
               SUM(CASE WHEN EXISTS (SELECT 1 FROM link_clicks c WHERE c.link_id = l.id AND c.at < $2) \
                   THEN 1 ELSE 0 END) \
             FROM tracked_links l WHERE l.created_at >= $1 AND l.created_at < $2 \
             GROUP BY l.campaign ORDER BY COUNT(*) DESC, l.campaign",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
    }

    // ---- privacy inquiries -----------------------------------------------

    pub async fn insert_inquiry(
        &self,
        name: &str,
        email: &str,
        message: &str,
        now: i64,
        due_at: i64,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO privacy_inquiries (id, name, email, message, created_at, due_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(name)
        .bind(email)
        .bind(message)
        .bind(now)
        .bind(due_at)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Open inquiries first, the soonest (or most overdue) due date first.
    pub async fn inquiries(&self) -> Result<Vec<InquiryRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {INQUIRY} FROM privacy_inquiries \
             ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, due_at, created_at LIMIT 500"
        ))
        .fetch_all(self.pool())
        .await
    }

    pub async fn inquiry(&self, id: &str) -> Result<Option<InquiryRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {INQUIRY} FROM privacy_inquiries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn mark_inquiry_answered(
        &self,
        id: &str,
        by: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE privacy_inquiries SET status = 'answered', answered_at = $2, answered_by = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // ---- support tickets -------------------------------------------------

    pub async fn insert_ticket(
        &self,
        account_id: &str,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO support_tickets (id, account_id, subject, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(subject)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ticket_messages (id, ticket_id, author_kind, author_id, body, created_at) \
             VALUES ($1, $2, 'therapist', $3, $4, $5)",
        )
        .bind(new_id())
        .bind(&id)
        .bind(account_id)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
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
        let mut tx = self.pool().begin().await?;
        if !body.is_empty() {
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
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE support_tickets SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(ticket_id)
            .bind(status)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    pub async fn ticket(&self, id: &str) -> Result<Option<TicketRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {TICKET} FROM support_tickets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn tickets_of(&self, account_id: &str) -> Result<Vec<TicketRow>, sqlx::Error> {
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

    // ---- announcements ---------------------------------------------------

    pub async fn insert_announcement(
        &self,
        subject: &str,
        body: &str,
        by: &str,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO announcements (id, subject, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(subject)
        .bind(body)
        .bind(by)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn announcement(&self, id: &str) -> Result<Option<AnnouncementRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ANNOUNCEMENT} FROM announcements WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn announcements(&self) -> Result<Vec<AnnouncementRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ANNOUNCEMENT} FROM announcements ORDER BY created_at DESC LIMIT 200"
        ))
        .fetch_all(self.pool())
        .await
    }

    /// Marks a draft sent; false when it already was (a double submit).
    pub async fn mark_announcement_sent(
        &self,
        id: &str,
        recipients: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE announcements SET sent_at = $2, recipients = $3 WHERE id = $1 AND sent_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .bind(recipients)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Active, verified therapists who have not opted out of announcements.
    pub async fn announcement_recipients(
        &self,
    ) -> Result<Vec<(String, String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT a.id, a.name, a.email FROM accounts a \
             WHERE a.role = 'therapist' AND a.status = 'active' AND a.email_verified_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM announcement_opt_outs o WHERE o.account_id = a.id) \
             ORDER BY a.created_at",
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn opt_out_of_announcements(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO announcement_opt_outs (account_id, opted_out_at) VALUES ($1, $2) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn opted_out_at(&self, account_id: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT opted_out_at FROM announcement_opt_outs WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.pool())
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

    // ---- operators' directory --------------------------------------------

    pub async fn therapist_directory(
        &self,
        search: &str,
    ) -> Result<Vec<DirectoryRow>, sqlx::Error> {
        let pattern = format!("%{}%", search.to_lowercase().replace(['%', '_'], ""));
        sqlx::query_as(
            "SELECT id, name, email, status, email_verified_at, created_at, last_sign_in_at \
             FROM accounts WHERE role = 'therapist' AND (LOWER(name) LIKE $1 OR LOWER(email) LIKE $1) \
             ORDER BY created_at DESC LIMIT 500",
        )
        .bind(pattern)
        .fetch_all(self.pool())
        .await
    }

    pub async fn set_account_status(
        &self,
        id: &str,
        status: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE accounts SET status = $2, updated_at = $3 WHERE id = $1 AND role = 'therapist'",
        )
        .bind(id)
        .bind(status)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- audit log viewer --------------------------------------------------

    /// The newest entries matching the filters (each filter optional), ids only.
    pub async fn audit_search(
        &self,
        action: Option<&str>,
        actor_kind: Option<&str>,
        id: Option<&str>,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<super::AuditRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT seq, at, actor_kind, actor_id, action, target_kind, target_id, source, prev_hash, hash \
             FROM audit_log WHERE ($1 = '' OR action = $1) AND ($2 = '' OR actor_kind = $2) \
             AND ($3 = '' OR actor_id = $3 OR target_id = $3) AND seq < $4 \
             ORDER BY seq DESC LIMIT $5",
        )
        .bind(action.unwrap_or(""))
        .bind(actor_kind.unwrap_or(""))
        .bind(id.unwrap_or(""))
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }
}
