//! The therapist's profile form (credential, license, bio, time zone).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::{Field, FormPage, Nav};
use crate::accounts::{self, ProfileChange};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::PageTherapist;
use crate::state::AppState;
use crate::store::Account;

pub fn router() -> Router<AppState> {
    Router::new().route("/profile", get(show).post(submit))
}

#[derive(Deserialize, Default)]
struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    license_number: String,
    #[serde(default)]
    practice_states: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    time_zone: String,
}

impl From<&Account> for ProfileForm {
    fn from(a: &Account) -> Self {
        Self {
            name: a.name.clone(),
            email: a.email.clone(),
            credential: a.credential.clone(),
            license_number: a.license_number.clone(),
            practice_states: a.practice_states.clone(),
            bio: a.bio.clone(),
            time_zone: a.time_zone.clone(),
        }
    }
}

fn page(nav: Nav, form: &ProfileForm) -> FormPage {
    FormPage::new(
        nav,
        "Profile",
        "/profile",
        "Save profile",
        vec![
            Field::text("name", "Name")
                .value(&form.name)
                .autocomplete("name"),
            Field::email("email", "Email")
                .value(&form.email)
                .hint("A new address takes effect once you open the link we send to it."),
            Field::text("credential", "Credential")
                .value(&form.credential)
                .optional()
                .maxlength(100)
                .hint("For example LCSW, LPC or PsyD."),
            Field::text("license_number", "License number")
                .value(&form.license_number)
                .optional()
                .maxlength(100),
            Field::text("practice_states", "States of practice")
                .value(&form.practice_states)
                .optional()
                .hint("For example IL, WI."),
            Field::new("bio", "Short bio", "textarea")
                .value(&form.bio)
                .optional()
                .maxlength(2000),
            Field::text("time_zone", "Time zone")
                .value(&form.time_zone)
                .maxlength(64)
                .hint("An IANA name such as America/Chicago; sessions are shown in it.")
                .autocomplete("off"),
        ],
    )
    .link(
        "/profile/calendar",
        "Calendar feed: see your sessions in your calendar app",
    )
}

async fn show(
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    let form = ProfileForm::from(&signed.account);
    page(Nav::signed(&csrf, &signed), &form).respond(StatusCode::OK)
}

async fn submit(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Response {
    let change = ProfileChange {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        credential: Some(form.credential.clone()),
        license_number: Some(form.license_number.clone()),
        practice_states: Some(form.practice_states.clone()),
        bio: Some(form.bio.clone()),
        time_zone: Some(form.time_zone.clone()),
    };
    match accounts::update_profile(&state, &signed.account, change).await {
        Ok(updated) => {
            let mut nav = Nav::signed(&csrf, &signed);
            nav.name = updated.account.name.clone();
            let notice = if updated.email_change_pending {
                "Profile saved. We sent a link to your new email address: open it to finish the change."
            } else {
                "Profile saved."
            };
            page(nav, &ProfileForm::from(&updated.account))
                .notice(notice)
                .respond(StatusCode::OK)
        }
        Err(err) => page(Nav::signed(&csrf, &signed), &form)
            .with_error(&err)
            .respond(failed_status(&err)),
    }
}
