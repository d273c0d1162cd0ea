use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The one error type of every handler. Its message is written for the person
/// who made the request; internal causes are never sent, only logged (by
/// `routes::request_log::log_errors`).
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

/// The error shape every API answer uses: `{"error": {code, message, field?}}`.
#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A value the person sent is not acceptable; `field` names it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn conflict(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message).with_field(field)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// The same answer whether the thing does not exist or belongs to someone else.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Nothing was found here.",
        )
    }

    pub fn too_many_attempts(retry_after: u64) -> Self {
        let minutes = retry_after.div_ceil(60).max(1);
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("Too many attempts. Please wait {minutes} minute(s) and try again."),
        );
        err.retry_after = Some(retry_after);
        err
    }

    pub fn internal(source: anyhow::Error) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again in a moment.",
        );
        err.source = Some(source);
        err
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

/// The server refuses work for now (a full queue): answered 503 with
/// Retry-After wherever it surfaces, through `anyhow` or directly.
#[derive(Debug, thiserror::Error)]
#[error("the server is busy; retry after {retry_after} s")]
pub struct Overloaded {
    pub retry_after: u64,
}

impl Overloaded {
    pub fn retry_after(secs: u64) -> Self {
        Self { retry_after: secs }
    }
}

impl From<Overloaded> for AppError {
    fn from(err: Overloaded) -> Self {
        let mut app = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "The server is busy right now. Please try again in a few seconds.",
        );
        app.retry_after = Some(err.retry_after);
        app
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast_ref::<Overloaded>() {
            Some(busy) => Overloaded::retry_after(busy.retry_after).into(),
            None => Self::internal(err),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        // PostgreSQL's "character not in repertoire": text with a NUL byte,
        // which it cannot store or compare. Input is checked before it gets
        // here; this keeps any field that slipped through a 400, not a 500.
        if let sqlx::Error::Database(db) = &err {
            if db.code().as_deref() == Some("22021") {
                return Self::bad_request(
                    "invalid_text",
                    "The text holds a character that cannot be stored (a NUL byte).",
                );
            }
        }
        Self::internal(anyhow::Error::new(err).context("while querying the database"))
    }
}

/// The internal cause of an error answer, left in the response's extensions
/// for the logging middleware.
#[derive(Clone)]
pub struct InternalCause(pub Arc<anyhow::Error>);

/// For `map_err` on a write that may hit a unique constraint: a duplicate
/// becomes `duplicate()`, any other database error the usual answer.
pub fn on_unique(duplicate: impl FnOnce() -> AppError) -> impl FnOnce(sqlx::Error) -> AppError {
    move |err| {
        if crate::store::is_unique_violation(&err) {
            duplicate()
        } else {
            err.into()
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, axum::Json(body.clone())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // Page routes turn this into an HTML page; see `routes::html_errors`.
        response.extensions_mut().insert(body);
        if let Some(source) = self.source {
            response
                .extensions_mut()
                .insert(InternalCause(Arc::new(source)));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
