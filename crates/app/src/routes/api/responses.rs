//! The error answers every operation can give, added to the OpenAPI document
//! from what the operation is (signed in? takes a body? has an id in its
//! path? throttled? hashes a password?), so the document lists each status a
//! client may see, in the one error shape.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::Modify;

/// Operations counted by a throttle (429).
const THROTTLED: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/therapists"),
    ("post", "/api/v1/auth/forgot-password"),
    ("post", "/api/v1/auth/resend-verification"),
];

/// Operations that run Argon2, which answers 503 when its queue is full.
const HASHING: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/therapists"),
    ("post", "/api/v1/auth/reset-password"),
    ("delete", "/api/v1/me"),
];

pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    add_errors(method, path, operation);
                }
            }
        }
    }
}

fn add_errors(method: &str, path: &str, operation: &mut Operation) {
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description).into());
    };
    add("400", "The address, query string or body is malformed");
    add("414", "The address is too long");
    add("500", "Something failed on the server");
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add("401", "Not signed in, or the token has expired");
    }
    if operation.request_body.is_some() {
        add("413", "The body is too large");
        add("415", "The body is not sent as application/json");
        add("422", "A field is missing or invalid");
    }
    if path.contains('{') {
        add("404", "Nothing with this id belongs to the caller");
    }
    if THROTTLED.contains(&(method, path)) {
        add("429", "Too many attempts; see Retry-After");
    }
    if HASHING.contains(&(method, path)) {
        add("503", "Busy checking passwords; see Retry-After");
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
