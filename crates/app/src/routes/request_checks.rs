//! Checks on the request line that every route shares, so that no handler
//! (and no database) sees an address it cannot handle, and the answer keeps
//! the error shape instead of the framework's plain text.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Longer paths or query strings are refused: no route needs more, and the
/// framework would otherwise answer its own 414 without a body.
pub const MAX_URI_BYTES: usize = 8192;

pub async fn layer(request: Request, next: Next) -> Response {
    match check(request.uri()) {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

fn check(uri: &axum::http::Uri) -> Result<(), AppError> {
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    if path.len() + query.len() > MAX_URI_BYTES {
        return Err(AppError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("The address is longer than {MAX_URI_BYTES} characters."),
        ));
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| AppError::bad_request("invalid_path", "The address is not valid UTF-8."))?;
    // No id, token or page name holds a control character; PostgreSQL cannot
    // even compare text with a NUL in it, so such a path names nothing.
    if decoded.chars().any(char::is_control) {
        return Err(AppError::not_found());
    }
    let query = percent_encoding::percent_decode_str(query).decode_utf8();
    if query.is_err() {
        return Err(AppError::bad_request(
            "invalid_query",
            "The query string is not valid UTF-8.",
        ));
    }
    Ok(())
}

/// A route exists but not for this method: 405 in the error shape.
pub async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This address does not take that method.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uri: &str) -> Option<StatusCode> {
        check(&uri.parse().unwrap()).err().map(|e| e.status)
    }

    #[test]
    fn nul_and_control_characters_in_a_path_name_nothing() {
        assert_eq!(status("/r/%00"), Some(StatusCode::NOT_FOUND));
        assert_eq!(status("/api/v1/clients/a%0Ab"), Some(StatusCode::NOT_FOUND));
        assert_eq!(status("/api/v1/clients/abc-123"), None);
        assert_eq!(status("/privacy/versions/1?x=%C3%A9"), None);
    }

    #[test]
    fn bad_utf8_and_overlong_addresses_are_refused() {
        assert_eq!(status("/r/%FF"), Some(StatusCode::BAD_REQUEST));
        assert_eq!(status("/r/x?q=%FF"), Some(StatusCode::BAD_REQUEST));
        let long = format!("/r/{}", "a".repeat(MAX_URI_BYTES));
        assert_eq!(status(&long), Some(StatusCode::URI_TOO_LONG));
    }
}
