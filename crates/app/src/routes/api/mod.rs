//! The JSON API under `/api/v1`, documented by the OpenAPI document it is
//! built with: a route cannot be added without appearing in `/api/openapi.json`.

mod admin;
mod auth;
mod clients;
mod me;
mod responses;
mod surveys;
mod therapists;
mod video_sessions;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Regroup API", description = "Therapist accounts, clients and video sessions."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and the OpenAPI document that describes exactly them.
pub fn router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(therapists::router())
        .merge(auth::router())
        .merge(me::router())
        .merge(clients::router())
        .merge(video_sessions::router())
        .merge(surveys::router())
        .merge(admin::router())
        .split_for_parts();
    // After the merge: the operations exist only now.
    let mut doc = doc;
    responses::ErrorResponses.modify(&mut doc);
    let doc = std::sync::Arc::new(doc);
    router.route(
        "/api/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}
