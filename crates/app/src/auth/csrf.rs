//! CSRF protection for HTML forms: a random token in a SameSite=Strict cookie
//! that every form repeats in a hidden field ("double submit"). A cross-site
//! page can neither read the cookie nor make the browser send it. The JSON API
//! uses bearer tokens, which browsers never attach by themselves, so it needs none.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::tokens::{constant_time_eq, new_token};
use crate::error::AppError;
use crate::state::AppState;

/// The token the current page must embed in its forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

fn cookie_name(tls: bool) -> &'static str {
    if tls {
        "__Host-regroup_csrf"
    } else {
        "regroup_csrf"
    }
}

/// Makes sure every page request has a token, setting the cookie when new.
pub async fn ensure_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let tls = state.settings.tls();
    let name = cookie_name(tls);
    let jar = CookieJar::from_headers(request.headers());
    let existing = jar
        .get(name)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43);
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (new_token(), true),
    };
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if fresh {
        let cookie = Cookie::build((name, token))
            .path("/")
            .http_only(true)
            .secure(tls)
            .same_site(SameSite::Strict)
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

/// A URL-encoded form whose CSRF token matched the cookie.
pub struct CsrfForm<T>(pub T);

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send this form as application/x-www-form-urlencoded.",
            ));
        }
        if let Some(origin) = request.headers().get(header::ORIGIN) {
            let expected = app.settings.public_url.origin().ascii_serialization();
            if origin.as_bytes() != expected.as_bytes() {
                return Err(expired_form());
            }
        }
        let expected = request.extensions().get::<CsrfToken>().cloned();
        let body = Bytes::from_request(request, state).await.map_err(|_| {
            AppError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "This form is too large.",
            )
        })?;
        let sent: TokenField = serde_urlencoded::from_bytes(&body).map_err(|_| expired_form())?;
        let valid = expected.is_some_and(|CsrfToken(token)| {
            !sent.csrf_token.is_empty()
                && constant_time_eq(token.as_bytes(), sent.csrf_token.as_bytes())
        });
        if !valid {
            return Err(expired_form());
        }
        // serde_html_form reads repeated keys (checkboxes) into lists.
        let value = serde_html_form::from_bytes(&body).map_err(|e| {
            AppError::bad_request("invalid_form", format!("The form could not be read: {e}."))
        })?;
        Ok(CsrfForm(value))
    }
}

fn expired_form() -> AppError {
    AppError::forbidden(
        "csrf",
        "This form has expired or came from another site. Please reload the page and try again.",
    )
}
