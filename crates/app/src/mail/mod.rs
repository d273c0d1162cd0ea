//! Outgoing email: SMTP through lettre when configured, otherwise `.eml` files
//! in the data directory's outbox, which `/dev/outbox` lists.

use std::path::{Path, PathBuf};

use anyhow::Context;
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};
use url::Url;

use crate::error::AppResult;

/// One email to one person.
pub struct Message {
    to_name: String,
    to_email: String,
    subject: String,
    text: String,
    attachments: Vec<(String, String, Vec<u8>)>,
}

impl Message {
    /// The subject must never carry personal data beyond the recipient's own name.
    pub fn new(to_name: &str, to_email: &str, subject: &str, text: String) -> Self {
        Self {
            to_name: to_name.to_string(),
            to_email: to_email.to_string(),
            subject: subject.to_string(),
            text,
            attachments: Vec::new(),
        }
    }

    /// Adds a file, e.g. `("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8", bytes)`.
    pub fn attach(mut self, filename: &str, content_type: &str, body: Vec<u8>) -> Self {
        self.attachments
            .push((filename.to_string(), content_type.to_string(), body));
        self
    }
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    outbox: Option<PathBuf>,
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .context("while reading the sender address (mail_from)")?;
        match smtp_url {
            Some(url) => {
                check_smtp_url(url)?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("while reading the SMTP URL")?
                    .build();
                Ok(Self {
                    transport: Transport::Smtp(transport),
                    from,
                    outbox: None,
                })
            }
            None => {
                std::fs::create_dir_all(outbox_dir).with_context(|| {
                    format!("while creating the outbox {}", outbox_dir.display())
                })?;
                Ok(Self {
                    transport: Transport::Outbox(AsyncFileTransport::new(outbox_dir)),
                    from,
                    outbox: Some(outbox_dir.to_path_buf()),
                })
            }
        }
    }

    /// The sender's address, e.g. for the ORGANIZER of calendar invitations.
    pub fn from_email(&self) -> String {
        self.from.email.to_string()
    }

    /// The folder mail is written to, when no SMTP server is configured.
    pub fn outbox(&self) -> Option<&Path> {
        self.outbox.as_deref()
    }

    pub async fn send(&self, message: Message) -> AppResult<()> {
        let to = Mailbox::new(
            Some(message.to_name.clone()),
            message
                .to_email
                .parse()
                .context("while reading a recipient address")?,
        );
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(None)
            .subject(message.subject);
        let email = if message.attachments.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(message.text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(message.text));
            for (name, content_type, body) in message.attachments {
                let content_type = ContentType::parse(&content_type)
                    .context("while reading an attachment type")?;
                parts = parts.singlepart(Attachment::new(name).body(body, content_type));
            }
            builder.multipart(parts)
        }
        .context("while building an email")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(email)
                    .await
                    .context("while sending an email over SMTP")?;
            }
            Transport::Outbox(outbox) => {
                outbox
                    .send(email)
                    .await
                    .context("while writing an email to the outbox")?;
            }
        }
        Ok(())
    }
}

/// Mail leaves the machine only encrypted: plain SMTP is allowed to loopback alone.
fn check_smtp_url(raw: &str) -> anyhow::Result<()> {
    let url = Url::parse(raw).context("while reading the SMTP URL")?;
    // smtp: is not a "special" scheme to the URL parser, so hosts arrive as text.
    let host = url
        .host_str()
        .context("the SMTP URL has no host")?
        .trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let tls = url.scheme() == "smtps"
        || url
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required");
    match url.scheme() {
        "smtp" | "smtps" => {}
        other => anyhow::bail!("the SMTP URL must start with smtp:// or smtps://, not {other}://"),
    }
    if !tls && !loopback {
        anyhow::bail!(
            "mail to {} would travel unencrypted: use smtps://… or smtp://…?tls=required",
            url.host_str().unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_smtp_url;

    #[test]
    fn plain_smtp_is_allowed_only_to_loopback() {
        assert!(check_smtp_url("smtp://127.0.0.1:2525").is_ok());
        assert!(check_smtp_url("smtp://localhost:25").is_ok());
        assert!(check_smtp_url("smtp://mail.example.com:25").is_err());
    }

    #[test]
    fn tls_or_starttls_is_accepted_for_remote_hosts() {
        assert!(check_smtp_url("smtps://user:pw@mail.example.com:465").is_ok());
        assert!(check_smtp_url("smtp://user:pw@mail.example.com:587?tls=required").is_ok());
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(check_smtp_url("http://mail.example.com").is_err());
    }
}
