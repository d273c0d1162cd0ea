//! CSRF protection for HTML forms, in two layers:
//!
//! 1. Where the request came from. Current browsers say so in Fetch Metadata
//!    (`Sec-Fetch-Site`): only `same-origin` (our own page) and `none` (typed
//!    or bookmarked) pass. Without that header (older browsers, scripts), a
//!    present `Origin` must be ours. `Origin: null` is not trusted on its own,
//!    since privacy settings and sandboxed frames send it too; a browser
//!    that sends it on our own form also sends `Sec-Fetch-Site: same-origin`.
//! 2. A random token in a SameSite=Strict cookie that every form repeats in a
//!    hidden field ("double submit"). A cross-site page can neither read the
//!    cookie nor make the browser send it.
//!
//! The JSON API uses bearer tokens, which browsers never attach by themselves,
//! so it needs neither.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue};
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
        let expected_origin = app.settings.public_url.origin().ascii_serialization();
        if !comes_from_our_pages(request.headers(), &expected_origin) {
            return Err(expired_form());
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

/// Whether the browser says this request comes from one of our own pages
/// (or from no page at all), by Fetch Metadata first and `Origin` second.
fn comes_from_our_pages(headers: &HeaderMap, expected_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `same-site` is refused too: a sibling subdomain is another party.
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => origin.as_bytes() == expected_origin.as_bytes(),
        // No Origin and no Fetch Metadata: an old browser or a script; the
        // double-submit token alone decides.
        None => true,
    }
}

fn expired_form() -> AppError {
    AppError::forbidden(
        "csrf",
        "This form has expired or came from another site. Please reload the page and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "https://video.example.org";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_same_origin_passes_even_with_a_null_origin() {
        let h = headers(&[("sec-fetch-site", "same-origin"), ("origin", "null")]);
        assert!(comes_from_our_pages(&h, OURS));
        assert!(comes_from_our_pages(
            &headers(&[("sec-fetch-site", "none")]),
            OURS
        ));
    }

    #[test]
    fn fetch_metadata_from_another_site_is_refused_whatever_the_origin() {
        for site in ["cross-site", "same-site", "something-new"] {
            let mut h = headers(&[("origin", OURS)]);
            h.insert("sec-fetch-site", HeaderValue::from_str(site).unwrap());
            assert!(!comes_from_our_pages(&h, OURS), "{site}");
        }
    }

    #[test]
    fn without_fetch_metadata_the_origin_decides() {
        assert!(comes_from_our_pages(&headers(&[("origin", OURS)]), OURS));
        assert!(!comes_from_our_pages(
            &headers(&[("origin", "https://evil.example")]),
            OURS
        ));
        assert!(!comes_from_our_pages(&headers(&[("origin", "null")]), OURS));
        assert!(comes_from_our_pages(&HeaderMap::new(), OURS));
    }
}
