//! Server-rendered pages. No inline scripts, no third-party assets; every
//! form carries the CSRF token and works without JavaScript.

mod account;
mod admin;
mod calendar_feed;
mod charts;
mod clients;
mod dashboard;
mod dev_outbox;
mod email_links;
mod form;
mod home;
mod join;
mod profile;
mod room;
mod security;
mod sign_in;
mod sign_up;
mod site;
mod video_sessions;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{middleware, Router};

pub use form::{Field, FormPage};

use crate::auth::csrf::{self, CsrfToken};
use crate::auth::session::Signed;
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(join::router())
        .merge(room::router())
        .merge(sign_up::router())
        .merge(sign_in::router())
        .merge(email_links::router())
        .merge(dashboard::router())
        .merge(profile::router())
        .merge(calendar_feed::router())
        .merge(security::router())
        .merge(account::router())
        .merge(clients::router())
        .merge(video_sessions::router())
        .merge(dev_outbox::router())
        .merge(site::router())
        .merge(admin::router())
        .layer(middleware::from_fn_with_state(state, csrf::ensure_token))
}

/// What the page header needs: who is signed in and the form token.
#[derive(Clone, Debug, Default)]
pub struct Nav {
    pub csrf: String,
    pub signed_in: bool,
    pub name: String,
    /// Operators get the console's menu instead of the therapist's.
    pub operator: bool,
    /// Policy versions waiting for the therapist's acknowledgement.
    pub policy_notice: Option<String>,
}

impl Nav {
    pub fn anonymous(csrf: &CsrfToken) -> Self {
        Self {
            csrf: csrf.0.clone(),
            ..Self::default()
        }
    }

    pub fn signed(csrf: &CsrfToken, signed: &Signed) -> Self {
        Self {
            csrf: csrf.0.clone(),
            signed_in: true,
            name: signed.account.name.clone(),
            operator: signed.account.role().is_operator(),
            policy_notice: signed.policy_notice.clone(),
        }
    }
}

/// Renders a template; a template error becomes a plain 500 page.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub nav: Nav,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub links: Vec<(String, String)>,
}

impl MessagePage {
    pub fn new(nav: Nav, title: &str, paragraphs: &[&str]) -> Self {
        Self {
            nav,
            title: title.to_string(),
            paragraphs: paragraphs.iter().map(|p| p.to_string()).collect(),
            links: Vec::new(),
        }
    }

    pub fn link(mut self, href: &str, label: &str) -> Self {
        self.links.push((href.to_string(), label.to_string()));
        self
    }

    pub fn respond(&self, status: StatusCode) -> Response {
        render(status, self)
    }
}

/// The page every error becomes outside the API.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::GONE => "This link no longer works",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Please wait a moment",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    MessagePage::new(Nav::default(), title, &[message])
        .link("/", "Go to the home page")
        .respond(status)
}
