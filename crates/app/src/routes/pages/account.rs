//! The account page: overview, the data export download and deleting the account.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::form::failed_status;
use super::{render, Field, FormPage, MessagePage, Nav};
use crate::accounts;
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::{cookie_name, removal_cookie, PageTherapist, Signed};
use crate::extract::PeerAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/export", get(export))
        .route("/account/delete", get(show_delete).post(submit_delete))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
}

async fn show(
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    render(
        StatusCode::OK,
        &AccountPage {
            nav: Nav::signed(&csrf, &signed),
        },
    )
}

async fn export(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
) -> Response {
    match crate::export::gather(&state, &signed.account, addr).await {
        Ok(doc) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"regroup-export.json\"",
                ),
            ],
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize, Default)]
struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp_code: String,
}

fn delete_page(csrf: &CsrfToken, signed: &Signed) -> FormPage {
    let mut fields = vec![Field::password("password", "Password", "current-password")];
    if signed.account.totp_enabled() {
        fields.push(Field::code("totp_code", "Code from your authenticator app"));
    }
    FormPage::new(Nav::signed(csrf, signed), "Delete your account", "/account/delete", "Delete my account for good", fields)
        .intro("This removes your account and everything in it, and signs you out everywhere. It cannot be undone.")
        .intro("Consider downloading your data first.")
        .link("/account/export", "Download my data")
        .danger()
}

async fn show_delete(
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    delete_page(&csrf, &signed).respond(StatusCode::OK)
}

async fn submit_delete(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    jar: CookieJar,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Response {
    let code = Some(form.totp_code.as_str()).filter(|c| !c.is_empty());
    match accounts::delete(&state, &signed.account, &form.password, code, addr).await {
        Ok(()) => {
            let jar = jar.add(removal_cookie(
                &state.settings,
                cookie_name(&state.settings),
            ));
            let page = MessagePage::new(
                Nav::anonymous(&csrf),
                "Your account is deleted",
                &["Thank you for using Regroup."],
            );
            (jar, page.respond(StatusCode::OK)).into_response()
        }
        Err(err) => delete_page(&csrf, &signed)
            .with_error(&err)
            .respond(failed_status(&err)),
    }
}
