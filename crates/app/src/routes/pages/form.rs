//! Form fields and the generic one-form page many pages render through.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{render, Nav};
use crate::error::AppError;

/// One labelled input of a form.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub hint: String,
    pub error: Option<String>,
    pub required: bool,
    pub maxlength: usize,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: &'static str) -> Self {
        Self {
            name,
            label,
            kind,
            value: String::new(),
            autocomplete: "off",
            hint: String::new(),
            error: None,
            required: true,
            maxlength: 200,
        }
    }

    pub fn text(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, "text")
    }

    pub fn email(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, "email")
            .autocomplete("email")
            .maxlength(254)
    }

    pub fn password(name: &'static str, label: &'static str, autocomplete: &'static str) -> Self {
        Self::new(name, label, "password")
            .autocomplete(autocomplete)
            .maxlength(128)
    }

    /// A one-time code: digits from an app, or a recovery code.
    pub fn code(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, "text")
            .autocomplete("one-time-code")
            .maxlength(20)
    }

    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    pub fn autocomplete(mut self, value: &'static str) -> Self {
        self.autocomplete = value;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn maxlength(mut self, n: usize) -> Self {
        self.maxlength = n;
        self
    }
}

/// A page made of a heading, a few sentences and one form; most account pages are this.
#[derive(Template)]
#[template(path = "form_page.html")]
pub struct FormPage {
    pub nav: Nav,
    pub title: String,
    pub intro: Vec<String>,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub action: String,
    pub fields: Vec<Field>,
    pub submit: String,
    pub danger: bool,
    pub links: Vec<(String, String)>,
    /// From a 429 or 503 error: sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl FormPage {
    pub fn new(nav: Nav, title: &str, action: &str, submit: &str, fields: Vec<Field>) -> Self {
        Self {
            nav,
            title: title.to_string(),
            intro: Vec::new(),
            notice: None,
            error: None,
            action: action.to_string(),
            fields,
            submit: submit.to_string(),
            danger: false,
            links: Vec::new(),
            retry_after: None,
        }
    }

    pub fn intro(mut self, text: &str) -> Self {
        self.intro.push(text.to_string());
        self
    }

    pub fn notice(mut self, text: impl Into<String>) -> Self {
        self.notice = Some(text.into());
        self
    }

    pub fn link(mut self, href: &str, label: &str) -> Self {
        self.links.push((href.to_string(), label.to_string()));
        self
    }

    pub fn danger(mut self) -> Self {
        self.danger = true;
        self
    }

    /// Shows an error next to the field it names, or above the form.
    pub fn with_error(mut self, err: &AppError) -> Self {
        let target = err
            .field
            .as_deref()
            .and_then(|name| self.fields.iter_mut().find(|f| f.name == name));
        match target {
            Some(field) => field.error = Some(err.message.clone()),
            None => self.error = Some(err.message.clone()),
        }
        self.retry_after = err.retry_after;
        self
    }

    pub fn respond(&self, status: StatusCode) -> Response {
        let mut response = render(status, self);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// The status to answer a failed form submission with.
pub fn failed_status(err: &AppError) -> StatusCode {
    // 503 (busy, with Retry-After) stays: it tells the browser to come back.
    if err.status.is_server_error() && err.status != StatusCode::SERVICE_UNAVAILABLE {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        err.status
    }
}
