//! Request extractors whose failures answer in the API's error shape.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::peer_addr::RequestAddr;

/// JSON body whose rejections (wrong content type, syntax, unknown or missing
/// fields, too large) become clear 4xx errors.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(json_rejection(JsonRejection::MissingJsonContentType(
                Default::default(),
            )));
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| json_rejection(JsonRejection::BytesRejection(e)))?;
        // Every body of this API is an object. serde would also fill a
        // struct from an array (`[null, null]`), which nobody means.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
                return Err(invalid_json());
            }
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "The JSON body must be an object: {\"field\": value, …}.",
            ));
        }
        match axum::Json::<T>::from_bytes(&body) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `Option<ApiJson<T>>`: `None` when the request has no body and no content
/// type (a bare `POST`), otherwise exactly as `ApiJson`.
impl<S, T> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let headers = request.headers();
        let empty = !headers.contains_key(axum::http::header::CONTENT_TYPE)
            && headers
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        if empty {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

/// `application/json`, or a `+json` type, as axum's own `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == "application" && (m.subtype() == "json" || m.suffix() == Some(mime::JSON))
        })
}

fn invalid_json() -> AppError {
    AppError::bad_request("invalid_json", "The body is not valid JSON.")
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonRejection::JsonSyntaxError(_) => invalid_json(),
        JsonRejection::JsonDataError(err) => {
            // serde's message names the field and the problem, never a stored value.
            let detail = err.body_text();
            let detail = detail
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&detail)
                .to_string();
            let field = detail
                .split(':')
                .next()
                .filter(|f| !f.contains(' '))
                .map(str::to_owned);
            let mut error = AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("The JSON body does not have the expected fields: {detail}"),
            );
            error.field = field;
            error
        }
        JsonRejection::BytesRejection(_) => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The body is larger than this endpoint accepts.",
        ),
        _ => AppError::bad_request("invalid_body", "The request body could not be read."),
    }
}

/// Query parameters whose rejections (a repeated key, a wrong type) answer
/// 400 in the error shape (a page, on page routes) instead of plain text.
pub struct QueryString<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryString<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryString(value)),
            Err(rejection) => {
                // serde's message names the parameter and the problem.
                let detail = rejection.body_text();
                let detail = detail
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&detail)
                    .to_string();
                Err(AppError::bad_request(
                    "invalid_query",
                    format!("The query string is not right: {detail}"),
                ))
            }
        }
    }
}

/// The address the request came from (the HTTP peer, or whom a trusted proxy
/// forwards for; not a therapy client). Used only for throttling, in
/// keyed-hash form; never stored or logged as it is.
pub struct PeerAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Resolved by `peer_addr::layer`; the peer when it did not run.
        let resolved = parts.extensions.get::<RequestAddr>().map(|a| a.0);
        let addr = resolved
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip())
            })
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(PeerAddr(addr))
    }
}
