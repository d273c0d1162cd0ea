//! `/dev/outbox`: the mail that would have been sent, for local use when no
//! SMTP server is configured. It exists only on a local plain-http server or
//! with `--dev-outbox` (see `config::dev_outbox_served`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use mail_parser::MessageParser;

use super::{render, Nav};
use crate::auth::csrf::CsrfToken;
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(list))
}

struct MailView {
    to: String,
    subject: String,
    date: String,
    /// The body in pieces; `true` marks a piece that is a link.
    body: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    nav: Nav,
    mails: Vec<MailView>,
}

const MAX_SHOWN: usize = 50;

async fn list(State(state): State<AppState>, Extension(csrf): Extension<CsrfToken>) -> Response {
    let Some(dir) = state.mailer.outbox().filter(|_| state.settings.dev_outbox) else {
        return AppError::not_found().into_response();
    };
    match read_outbox(dir).await {
        Ok(mails) => render(
            StatusCode::OK,
            &OutboxPage {
                nav: Nav::anonymous(&csrf),
                mails,
            },
        ),
        Err(err) => AppError::internal(err).into_response(),
    }
}

async fn read_outbox(dir: &std::path::Path) -> anyhow::Result<Vec<MailView>> {
    let mut entries = Vec::new();
    let mut reader = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = reader.next_entry().await? {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "eml") {
            let modified = entry.metadata().await?.modified()?;
            entries.push((modified, path));
        }
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let mut mails = Vec::new();
    for (_, path) in entries.into_iter().take(MAX_SHOWN) {
        let raw = tokio::fs::read(&path).await?;
        if let Some(message) = MessageParser::default().parse(&raw) {
            let to = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            mails.push(MailView {
                to,
                subject: message.subject().unwrap_or_default().to_string(),
                date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
                body: linkify(&message.body_text(0).unwrap_or_default()),
            });
        }
    }
    Ok(mails)
}

/// Splits text so that every http(s) URL can be shown as a link.
fn linkify(text: &str) -> Vec<(String, bool)> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest
        .find("http://")
        .or_else(|| rest.find("https://"))
        .map(|i| {
            // Take whichever scheme comes first.
            match (rest.find("http://"), rest.find("https://")) {
                (Some(a), Some(b)) => a.min(b),
                _ => i,
            }
        })
    {
        parts.push((rest[..start].to_string(), false));
        let end = rest[start..]
            .find(char::is_whitespace)
            .map(|e| start + e)
            .unwrap_or(rest.len());
        parts.push((rest[start..end].to_string(), true));
        rest = &rest[end..];
    }
    parts.push((rest.to_string(), false));
    parts
}

#[cfg(test)]
mod tests {
    use super::linkify;

    #[test]
    fn urls_become_links_and_text_stays() {
        let parts = linkify("Open http://x.test/a now\nor https://y.test/b");
        let links: Vec<_> = parts.iter().filter(|p| p.1).map(|p| p.0.as_str()).collect();
        assert_eq!(links, ["http://x.test/a", "https://y.test/b"]);
        let text: String = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(text, "Open http://x.test/a now\nor https://y.test/b");
    }
}
