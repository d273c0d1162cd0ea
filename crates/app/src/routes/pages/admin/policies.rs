//! Policy versions: the privacy policy's and the terms' history, and the form
//! that publishes (or schedules) the next version of either.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::super::{render, Nav};
use super::{audited_redirect, day, form_outcome, Dates};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::operator::{require_admin, PageAdmin, PageOperator};
use crate::error::{AppError, AppResult};
use crate::extract::PeerAddr;
use crate::site::policy;
use crate::state::AppState;
use crate::store::PolicyVersion;

#[derive(Template)]
#[template(path = "admin_policies.html")]
struct Policies {
    nav: Nav,
    versions: Vec<PolicyVersion>,
    kind: String,
    effective: String,
    body: String,
    error: Option<String>,
    now: i64,
    /// Publishing is for admins only.
    admin: bool,
}

impl Dates for Policies {}

impl Policies {
    fn title(&self, kind: &str) -> &'static str {
        policy::title(kind)
    }
}

#[derive(Deserialize, Default)]
pub(super) struct PolicyForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    effective: String,
    #[serde(default)]
    body: String,
}

/// Both histories with the publish form, empty or holding a rejected version.
async fn page(
    state: &AppState,
    nav: Nav,
    admin: bool,
    form: PolicyForm,
    error: Option<AppError>,
) -> AppResult<Response> {
    let mut versions = state.store.policy_versions("privacy").await?;
    versions.extend(state.store.policy_versions("terms").await?);
    let (status, error) = form_outcome(error);
    Ok(render(
        status,
        &Policies {
            nav,
            versions,
            kind: form.kind,
            effective: form.effective,
            body: form.body,
            error,
            now: state.clock.unix(),
            admin,
        },
    ))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    // A new version takes effect tomorrow unless the operator says otherwise.
    let blank = PolicyForm {
        kind: "privacy".into(),
        effective: day(state.clock.unix() + 86_400),
        body: String::new(),
    };
    let admin = require_admin(&signed).is_ok();
    page(&state, Nav::signed(&csrf, &signed), admin, blank, None).await
}

pub(super) async fn publish(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageAdmin(signed): PageAdmin,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> AppResult<Response> {
    let published = policy::publish(
        &state,
        &form.kind,
        &form.effective,
        &form.body,
        &signed.account.id,
    )
    .await;
    match published {
        Ok(_) => audited_redirect(&state, &signed.account.id, None, addr, "/admin/policies").await,
        Err(err) => page(&state, Nav::signed(&csrf, &signed), true, form, Some(err)).await,
    }
}
