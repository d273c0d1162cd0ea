//! The public site and what operators do with it: versioned policies,
//! first-party analytics, tracked email links, privacy inquiries, support
//! tickets and service announcements.

pub mod analytics;
pub mod geo;
pub mod links;
pub mod policy;
pub mod summary;

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::throttle;
use crate::auth::tokens::constant_time_eq;
use crate::domain::{clean_text, Email, Lines};
use crate::error::{AppError, AppResult};
use crate::ids::AccountId;
use crate::mail::Message;
use crate::state::AppState;
use crate::store::Account;

pub use links::tracked_link;

/// Privacy questions are answered within this many days.
pub const ANSWER_WITHIN_DAYS: i64 = 30;
/// Contact-form messages per address and hour.
pub const CONTACT_PER_HOUR: i64 = 5;
const MAX_MESSAGE: usize = 5000;

/// Housekeeping of this module: expired analytics salts, and page views
/// past the retention period.
pub async fn housekeeping(state: &AppState) {
    if let Err(err) = analytics::purge_salts(state).await {
        tracing::warn!(error = %err, "could not purge analytics salts");
    }
    match analytics::purge_views(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "page views past their retention deleted"),
        Err(err) => tracing::warn!(error = %err, "could not purge old page views"),
    }
}

fn keyed(state: &AppState, label: &str, value: &str) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(state.settings.throttle_key())
        .expect("HMAC accepts any key length");
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Required text: names and subjects are one line, messages and bodies several.
fn text(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let lines = match field {
        "name" | "subject" => Lines::Single,
        _ => Lines::Multi,
    };
    let value =
        clean_text(value, max, lines).map_err(|p| AppError::invalid(field, p.message("This")))?;
    if value.is_empty() {
        return Err(AppError::invalid(field, "Please fill this in."));
    }
    Ok(value)
}

/// A privacy question from the contact form; due 30 days after it arrives.
/// Throttled per address (as a keyed hash in the sign-in failures table).
pub async fn submit_inquiry(
    state: &AppState,
    name: &str,
    email: &str,
    message: &str,
    addr: IpAddr,
) -> AppResult<String> {
    let name = text("name", name, 120)?;
    let email = Email::parse(email).map_err(|m| AppError::invalid("email", m))?;
    let message = text("message", message, MAX_MESSAGE)?;
    let now = state.clock.unix();
    let subject = keyed(state, "contact", &addr.to_string());
    // Counted before anything is stored, so concurrent submissions cannot
    // slip past the limit together.
    let _counted = throttle::take(&state.store, &[(&subject, CONTACT_PER_HOUR)], 3600, now).await?;
    let due = now + ANSWER_WITHIN_DAYS * 86_400;
    let id = state
        .store
        .insert_inquiry(&name, email.as_str(), &message, now, due)
        .await?;
    let body = format!(
        "Hello {name},\n\nThank you for your question about privacy at Regroup. We answer every \
         question within {ANSWER_WITHIN_DAYS} days, by {}.\n\nRegroup",
        day_text(due)
    );
    state
        .mailer
        .send(Message::new(
            &name,
            email.as_str(),
            "We received your privacy question",
            body,
        ))
        .await?;
    Ok(id)
}

pub fn day_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%B %-d, %Y").to_string())
        .unwrap_or_default()
}

/// Sends the answer to an inquiry by email and closes it.
pub async fn answer_inquiry(
    state: &AppState,
    operator: &Account,
    id: &str,
    reply: &str,
) -> AppResult<()> {
    let reply = text("reply", reply, MAX_MESSAGE)?;
    let inquiry = state
        .store
        .inquiry(id)
        .await?
        .ok_or_else(AppError::not_found)?;
    state
        .mailer
        .send(Message::new(
            &inquiry.name,
            &inquiry.email,
            "Our answer to your privacy question",
            format!("Hello {},\n\n{reply}\n\nRegroup", inquiry.name),
        ))
        .await?;
    state
        .store
        .mark_inquiry_answered(id, &operator.id, state.clock.unix())
        .await?;
    Ok(())
}

pub const TICKET_STATUSES: [&str; 3] = ["open", "waiting", "closed"];

/// A therapist opens a ticket; operators get a notice without its text.
pub async fn open_ticket(
    state: &AppState,
    therapist: &Account,
    subject: &str,
    message: &str,
) -> AppResult<String> {
    let subject = text("subject", subject, 150)?;
    let message = text("message", message, MAX_MESSAGE)?;
    let id = state
        .store
        .insert_ticket(&therapist.id, &subject, &message, state.clock.unix())
        .await?;
    notify_operators(state, &id).await?;
    Ok(id)
}

async fn notify_operators(state: &AppState, ticket_id: &str) -> AppResult<()> {
    let destination = state.settings.link(&format!("/admin/tickets/{ticket_id}"));
    for (name, email) in state.store.operator_contacts().await? {
        let link = tracked_link(state, "ticket-notice", &destination).await?;
        state
            .mailer
            .send(Message::new(
                &name,
                &email,
                "A support ticket needs an answer",
                format!(
                    "Hello {name},\n\nA therapist wrote on a support ticket:\n\n{link}\n\nRegroup"
                ),
            ))
            .await?;
    }
    Ok(())
}

/// A therapist's reply on their own ticket reopens it.
pub async fn therapist_reply(
    state: &AppState,
    therapist: &Account,
    ticket_id: &str,
    message: &str,
) -> AppResult<()> {
    let ticket = state
        .store
        .ticket(ticket_id)
        .await?
        .filter(|t| t.account_id == therapist.id)
        .ok_or_else(AppError::not_found)?;
    let message = text("message", message, MAX_MESSAGE)?;
    state
        .store
        .add_ticket_message(
            &ticket.id,
            "therapist",
            &therapist.id,
            &message,
            "open",
            state.clock.unix(),
        )
        .await?;
    notify_operators(state, &ticket.id).await
}

/// An operator answers (or only changes the status); the therapist is told by email.
pub async fn operator_reply(
    state: &AppState,
    operator: &Account,
    ticket_id: &str,
    message: &str,
    status: &str,
) -> AppResult<()> {
    if !TICKET_STATUSES.contains(&status) {
        return Err(AppError::invalid(
            "status",
            "Choose open, waiting or closed.",
        ));
    }
    let ticket = state
        .store
        .ticket(ticket_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let message = message.trim();
    if message.chars().count() > MAX_MESSAGE {
        return Err(AppError::invalid("message", "That message is too long."));
    }
    state
        .store
        .add_ticket_message(
            &ticket.id,
            "operator",
            &operator.id,
            message,
            status,
            state.clock.unix(),
        )
        .await?;
    if let Some(therapist) = state.store.account_by_id(&ticket.account_id).await? {
        let destination = state.settings.link(&format!("/support/{}", ticket.id));
        let link = tracked_link(state, "ticket-notice", &destination).await?;
        let what = if message.is_empty() {
            format!("The status of your support ticket is now: {status}.")
        } else {
            "Support answered your ticket.".to_string()
        };
        state
            .mailer
            .send(Message::new(
                &therapist.name,
                &therapist.email,
                "Your support ticket was updated",
                format!(
                    "Hello {},\n\n{what} Read it here:\n\n{link}\n\nRegroup",
                    therapist.name
                ),
            ))
            .await?;
    }
    Ok(())
}

/// The opt-out token of a therapist: their id and a keyed hash of it.
pub fn opt_out_token(state: &AppState, account_id: &AccountId) -> String {
    format!(
        "{account_id}.{}",
        &keyed(state, "announcement-opt-out", account_id)[..32]
    )
}

/// The account an opt-out token names, if it is genuine.
pub fn check_opt_out_token(state: &AppState, token: &str) -> Option<AccountId> {
    let (id, _) = token.split_once('.')?;
    let id = AccountId::from(id);
    let expected = opt_out_token(state, &id);
    constant_time_eq(expected.as_bytes(), token.as_bytes()).then_some(id)
}

fn slug(subject: &str) -> String {
    let mut out = String::from("announcement-");
    for c in subject.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(50).collect()
}

/// The email text of an announcement for one therapist: every link goes
/// through `/r/`, and the opt-out link comes last.
pub async fn announcement_text(
    state: &AppState,
    subject: &str,
    body: &str,
    name: &str,
    account_id: Option<&AccountId>,
) -> AppResult<String> {
    let campaign = slug(subject);
    let mut out = String::new();
    for (i, line) in body.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut words = Vec::new();
        for word in line.split(' ') {
            let is_link = word.starts_with("https://") || word.starts_with("http://");
            if is_link && account_id.is_some() && url::Url::parse(word).is_ok() {
                words.push(links::tracked_link_as(state, None, &campaign, "body", word).await?);
            } else {
                words.push(word.to_string());
            }
        }
        out.push_str(&words.join(" "));
    }
    let opt_out = match account_id {
        Some(id) => state
            .settings
            .link(&format!("/unsubscribe/{}", opt_out_token(state, id))),
        None => state.settings.link("/unsubscribe/…"),
    };
    Ok(format!(
        "Hello {name},\n\n{out}\n\n--\nYou receive service announcements as a Regroup therapist. \
         To stop them, open this link (it works at once): {opt_out}\n"
    ))
}

pub fn check_announcement(subject: &str, body: &str) -> AppResult<(String, String)> {
    Ok((text("subject", subject, 150)?, text("body", body, 20_000)?))
}

/// Sends a drafted announcement to every therapist who has not opted out.
/// Returns how many were sent; a second call sends nothing.
pub async fn send_announcement(state: &AppState, id: &str) -> AppResult<i64> {
    let draft = state
        .store
        .announcement(id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if draft.sent_at.is_some() {
        return Ok(0);
    }
    let recipients = state.store.announcement_recipients().await?;
    // Marked first: a double submit cannot send twice.
    if !state
        .store
        .mark_announcement_sent(id, recipients.len() as i64, state.clock.unix())
        .await?
    {
        return Ok(0);
    }
    for (account_id, name, email) in &recipients {
        // Opt-outs are read again per message, so one that lands mid-send counts.
        if state.store.opted_out_at(account_id).await?.is_some() {
            continue;
        }
        let text =
            announcement_text(state, &draft.subject, &draft.body, name, Some(account_id)).await?;
        state
            .mailer
            .send(Message::new(name, email, &draft.subject, text))
            .await?;
    }
    Ok(recipients.len() as i64)
}

/// What the therapist's export holds of this module.
pub struct ExportPart {
    pub acknowledgements: Vec<serde_json::Value>,
    pub tickets: Vec<serde_json::Value>,
    pub opted_out_at: Option<String>,
}

pub async fn export_of(state: &AppState, account_id: &AccountId) -> AppResult<ExportPart> {
    let rfc = crate::clock::rfc3339;
    let acknowledgements = state
        .store
        .acknowledgements_of(account_id)
        .await?
        .into_iter()
        .map(|a| {
            serde_json::json!({
                "document": a.kind,
                "version": a.version,
                "acknowledged_at": rfc(a.acknowledged_at),
            })
        })
        .collect();
    let mut tickets = Vec::new();
    for ticket in state.store.tickets_of(account_id).await? {
        let messages: Vec<serde_json::Value> = state
            .store
            .ticket_messages(&ticket.id)
            .await?
            .into_iter()
            .map(|m| serde_json::json!({"from": m.author_kind, "at": rfc(m.created_at), "text": m.body}))
            .collect();
        tickets.push(serde_json::json!({
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status,
            "created_at": rfc(ticket.created_at),
            "messages": messages,
        }));
    }
    Ok(ExportPart {
        acknowledgements,
        tickets,
        opted_out_at: state.store.opted_out_at(account_id).await?.map(rfc),
    })
}
