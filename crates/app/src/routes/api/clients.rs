use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::session::ApiTherapist;
use crate::clients::{self, Client, Listed};
use crate::error::{AppResult, ErrorBody};
use crate::extract::{ApiJson, PeerAddr, QueryString};
use crate::ids::ClientId;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, update, delete))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    name: String,
    email: String,
}

/// Adds a client; name and email are sealed with the therapist's own key.
#[utoipa::path(operation_id = "clients_create", post, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])), request_body = NewClient,
    responses((status = 201, body = Client), (status = 409, body = ErrorBody, description = "Same email already entered"), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<NewClient>,
) -> AppResult<(StatusCode, Json<Client>)> {
    let client = clients::create(&state, &signed.account, &body.name, &body.email, addr).await?;
    Ok((StatusCode::CREATED, Json(client)))
}

#[derive(Deserialize, IntoParams)]
pub struct Search {
    /// Part of a client's name, case-insensitive.
    search: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    clients: Vec<Client>,
    /// Ids of records that could not be decrypted (damaged data).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unreadable: Vec<ClientId>,
}

/// The therapist's clients, sorted by name.
#[utoipa::path(operation_id = "clients_list", get, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])), params(Search),
    responses((status = 200, body = ClientList), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    QueryString(query): QueryString<Search>,
) -> AppResult<Json<ClientList>> {
    let mut out = ClientList {
        clients: Vec::new(),
        unreadable: Vec::new(),
    };
    for entry in clients::list(&state, &signed.account, query.search.as_deref(), addr).await? {
        match entry {
            Listed::Readable(client) => out.clients.push(client),
            Listed::Unreadable(id) => out.unreadable.push(id),
        }
    }
    Ok(Json(out))
}

/// One client; `404` for ids that are not this therapist's.
#[utoipa::path(operation_id = "clients_show", get, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Client), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn show(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<ClientId>,
) -> AppResult<Json<Client>> {
    Ok(Json(
        clients::get(&state, &signed.account, &id, addr).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    name: Option<String>,
    email: Option<String>,
}

/// Changes a client's name or email.
#[utoipa::path(operation_id = "clients_update", patch, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])), request_body = ClientPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = Client), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<ClientId>,
    ApiJson(body): ApiJson<ClientPatch>,
) -> AppResult<Json<Client>> {
    let client = clients::update(
        &state,
        &signed.account,
        &id,
        body.name.as_deref(),
        body.email.as_deref(),
        addr,
    )
    .await?;
    Ok(Json(client))
}

/// Deletes a client; their invitation links stop working.
#[utoipa::path(operation_id = "clients_delete", delete, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn delete(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<ClientId>,
) -> AppResult<StatusCode> {
    clients::delete(&state, &signed.account, &id, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}
