//! The therapist's client list and each client's page: add, edit, delete.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::{render, Field, FormPage, Nav};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::{PageTherapist, Signed};
use crate::clients::{self, Client, Listed};
use crate::error::AppError;
use crate::extract::{PeerAddr, QueryString};
use crate::ids::ClientId;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list).post(create))
        .route("/clients/{id}", get(show).post(update))
        .route("/clients/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "clients.html")]
struct ClientsPage {
    nav: Nav,
    search: String,
    clients: Vec<Client>,
    unreadable: usize,
    form: FormPage,
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    search: String,
}

#[derive(Deserialize, Default)]
struct ClientForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

fn add_form(nav: &Nav, form: &ClientForm) -> FormPage {
    FormPage::new(
        nav.clone(),
        "Add a client",
        "/clients",
        "Add client",
        vec![
            Field::text("name", "Client's name").value(&form.name),
            Field::email("email", "Client's email")
                .value(&form.email)
                .hint("Invitations to sessions go to this address."),
        ],
    )
}

async fn list_page(
    state: &AppState,
    csrf: &CsrfToken,
    signed: &Signed,
    search: &str,
    addr: std::net::IpAddr,
    form: FormPage,
    status: StatusCode,
) -> Response {
    let nav = Nav::signed(csrf, signed);
    let listed = match clients::list(state, &signed.account, Some(search), addr).await {
        Ok(listed) => listed,
        Err(err) => return err.into_response(),
    };
    let mut page = ClientsPage {
        nav,
        search: search.to_string(),
        clients: Vec::new(),
        unreadable: 0,
        form,
    };
    for entry in listed {
        match entry {
            Listed::Readable(client) => page.clients.push(client),
            Listed::Unreadable(_) => page.unreadable += 1,
        }
    }
    render(status, &page)
}

async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    QueryString(query): QueryString<SearchQuery>,
) -> Response {
    let form = add_form(&Nav::signed(&csrf, &signed), &ClientForm::default());
    list_page(
        &state,
        &csrf,
        &signed,
        &query.search,
        addr,
        form,
        StatusCode::OK,
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<ClientForm>,
) -> Response {
    match clients::create(&state, &signed.account, &form.name, &form.email, addr).await {
        Ok(_) => Redirect::to("/clients").into_response(),
        Err(err) => {
            let page = add_form(&Nav::signed(&csrf, &signed), &form).with_error(&err);
            list_page(&state, &csrf, &signed, "", addr, page, failed_status(&err)).await
        }
    }
}

fn edit_form(nav: Nav, id: &str, form: &ClientForm) -> FormPage {
    FormPage::new(
        nav,
        "Client",
        &format!("/clients/{id}"),
        "Save",
        vec![
            Field::text("name", "Name").value(&form.name),
            Field::email("email", "Email").value(&form.email),
        ],
    )
    .link("/clients", "Back to all clients")
}

#[derive(Template)]
#[template(path = "client.html")]
struct ClientPage {
    nav: Nav,
    id: String,
    form: FormPage,
}

fn client_page(nav: Nav, id: &str, form: FormPage, status: StatusCode) -> Response {
    render(
        status,
        &ClientPage {
            nav,
            id: id.to_string(),
            form,
        },
    )
}

async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<ClientId>,
) -> Response {
    match clients::get(&state, &signed.account, &id, addr).await {
        Ok(client) => {
            let nav = Nav::signed(&csrf, &signed);
            let form = ClientForm {
                name: client.name,
                email: client.email,
            };
            client_page(nav.clone(), &id, edit_form(nav, &id, &form), StatusCode::OK)
        }
        Err(err) => err.into_response(),
    }
}

async fn update(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<ClientId>,
    CsrfForm(form): CsrfForm<ClientForm>,
) -> Response {
    let nav = Nav::signed(&csrf, &signed);
    match clients::update(
        &state,
        &signed.account,
        &id,
        Some(&form.name),
        Some(&form.email),
        addr,
    )
    .await
    {
        Ok(client) => {
            let saved = ClientForm {
                name: client.name,
                email: client.email,
            };
            client_page(
                nav.clone(),
                &id,
                edit_form(nav, &id, &saved).notice("Saved."),
                StatusCode::OK,
            )
        }
        Err(err) if err.status == StatusCode::NOT_FOUND => err.into_response(),
        Err(err) => client_page(
            nav.clone(),
            &id,
            edit_form(nav, &id, &form).with_error(&err),
            failed_status(&err),
        ),
    }
}

async fn delete(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<ClientId>,
    CsrfForm(_): CsrfForm<ClientForm>,
) -> Result<Redirect, AppError> {
    clients::delete(&state, &signed.account, &id, addr).await?;
    Ok(Redirect::to("/clients"))
}
