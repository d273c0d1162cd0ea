//! The therapist directory: search by name or email, and the three things an
//! operator may do to an account (suspend, reinstate, resend verification).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::super::{render, Nav};
use super::{audited_redirect, when, Dates, Empty};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::email_links;
use crate::auth::operator::{require_admin, PageOperator};
use crate::error::{AppError, AppResult};
use crate::extract::{PeerAddr, QueryString};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::{AccountStatus, DirectoryRow, Role};

/// An operator's action on a therapist's account, named by its URL segment
/// (which also comes back as `?done=` to pick the notice).
#[derive(Clone, Copy)]
enum TherapistAction {
    Suspend,
    Reinstate,
    ResendVerification,
}

impl TherapistAction {
    fn from_slug(slug: &str) -> Option<Self> {
        match slug {
            "suspend" => Some(Self::Suspend),
            "reinstate" => Some(Self::Reinstate),
            "resend-verification" => Some(Self::ResendVerification),
            _ => None,
        }
    }

    /// The account status the action sets, if it sets one.
    fn account_status(self) -> Option<AccountStatus> {
        match self {
            Self::Suspend => Some(AccountStatus::Suspended),
            Self::Reinstate => Some(AccountStatus::Active),
            Self::ResendVerification => None,
        }
    }

    fn notice(self) -> &'static str {
        match self {
            Self::Suspend => "The account is suspended and signed out everywhere.",
            Self::Reinstate => "The account is active again.",
            Self::ResendVerification => "A new verification link is on its way.",
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Search {
    q: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_therapists.html")]
struct Directory {
    nav: Nav,
    q: String,
    rows: Vec<DirectoryRow>,
    done: Option<String>,
    /// Suspend and reinstate are shown to admins only.
    admin: bool,
}

impl Dates for Directory {}

impl Directory {
    fn last(&self, unix: &Option<i64>) -> String {
        unix.map(when).unwrap_or_else(|| "never".into())
    }
}

pub(super) async fn directory(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    QueryString(search): QueryString<Search>,
) -> AppResult<Response> {
    let q: String = search.q.unwrap_or_default().chars().take(100).collect();
    let rows = state.store.therapist_directory(q.trim()).await?;
    // An unknown `done` (only a hand-edited URL) falls back to the last notice.
    let done = search.done.map(|d| {
        TherapistAction::from_slug(&d)
            .unwrap_or(TherapistAction::ResendVerification)
            .notice()
            .to_string()
    });
    Ok(render(
        StatusCode::OK,
        &Directory {
            nav: Nav::signed(&csrf, &signed),
            q,
            rows,
            done,
            admin: require_admin(&signed).is_ok(),
        },
    ))
}

pub(super) async fn act(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    PeerAddr(addr): PeerAddr,
    Path((id, slug)): Path<(AccountId, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let account = state
        .store
        .account_by_id(&id)
        .await?
        .filter(|a| a.role() == Role::Therapist)
        .ok_or_else(AppError::not_found)?;
    let action = TherapistAction::from_slug(&slug).ok_or_else(AppError::not_found)?;
    if action.account_status().is_some() {
        // Suspending and reinstating are for admins; support may resend a link.
        require_admin(&signed)?;
    }
    // Suspend and reinstate are the same status change, in opposite directions.
    if let Some(status) = action.account_status() {
        let now = state.clock.unix();
        state
            .store
            .set_account_status(&account.id, status, now)
            .await?;
    }
    match action {
        // Suspension takes effect now, not when their cookies expire.
        TherapistAction::Suspend => {
            state
                .store
                .delete_auth_sessions_except(&account.id, None)
                .await?;
            crate::room::across::tell(
                &state,
                crate::room::across::Outside::OwnerGone {
                    owner_id: &account.id,
                },
            )
            .await;
        }
        TherapistAction::Reinstate => {}
        TherapistAction::ResendVerification => {
            if account.email_verified_at.is_none() {
                email_links::send_verification(&state, &account).await?;
            }
        }
    }
    audited_redirect(
        &state,
        &signed.account.id,
        Some(&account.id),
        addr,
        &format!("/admin/therapists?done={slug}"),
    )
    .await
}
