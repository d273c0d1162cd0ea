//! The append-only, hash-chained audit log: who did what to which record,
//! when and from which network. Entries hold ids only, never names, emails,
//! other PHI or full addresses. `verify` walks the chain and names the first
//! entry that was altered, removed or inserted.

pub mod anchor;
pub mod chain;
mod group_commit;
pub mod network;
mod verify;

pub use group_commit::{AppendError, GroupCommit};
pub use verify::{verify, Break, Problem, VerifyReport};

use std::net::IpAddr;

use anyhow::Context;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Account, AuditFields, ChainLink, OwnedFields, Role, Store};

/// Who did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    Therapist,
    Operator,
    /// A client, known by their invitation (participant) id.
    Client,
    /// The platform itself: jobs, the command line.
    System,
    /// Someone not signed in, e.g. a refused sign-in.
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Therapist => "therapist",
            ActorKind::Operator => "operator",
            ActorKind::Client => "client",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor<'a> {
    pub kind: ActorKind,
    pub id: Option<&'a str>,
}

impl<'a> Actor<'a> {
    /// The holder of an account, as therapist or operator by its role.
    pub fn account(account: &'a Account) -> Self {
        let kind = match account.role() {
            Role::Therapist => ActorKind::Therapist,
            Role::Admin | Role::Support => ActorKind::Operator,
        };
        Self {
            kind,
            id: Some(&account.id),
        }
    }

    pub fn therapist(account_id: &'a str) -> Self {
        Self {
            kind: ActorKind::Therapist,
            id: Some(account_id),
        }
    }

    pub fn operator(account_id: &'a str) -> Self {
        Self {
            kind: ActorKind::Operator,
            id: Some(account_id),
        }
    }

    /// A client, by invitation (participant) id: never by name or email.
    pub fn client(participant_id: &'a str) -> Self {
        Self {
            kind: ActorKind::Client,
            id: Some(participant_id),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
        }
    }

    pub fn anonymous() -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: None,
        }
    }
}

/// What was done. Stored as `as_str`, so a variant's string never changes;
/// add new variants freely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SignIn,
    SignInFailed,
    SecondFactorFailed,
    SignOut,
    SignOutEverywhere,
    PasswordReset,
    PasswordChanged,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRegenerated,
    AccountDeleted,
    Export,
    ClientCreated,
    ClientRead,
    ClientListed,
    ClientUpdated,
    ClientDeleted,
    SessionCreated,
    SessionRead,
    SessionUpdated,
    SessionCancelled,
    InvitationSent,
    InvitationOpened,
    RecordUnreadable,
    OperatorAction,
    RoomJoined,
    RoomLeft,
    ConfidentialityAcknowledged,
    ParticipantRemoved,
    SessionEnded,
    SessionExtended,
    BackupMade,
    BackupRestored,
    CalendarFeedEnabled,
    CalendarFeedDisabled,
    CalendarFeedFetched,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::SignInFailed => "sign_in_failed",
            Action::SecondFactorFailed => "second_factor_failed",
            Action::SignOut => "sign_out",
            Action::SignOutEverywhere => "sign_out_everywhere",
            Action::PasswordReset => "password_reset",
            Action::PasswordChanged => "password_changed",
            Action::TotpEnabled => "totp_enabled",
            Action::TotpDisabled => "totp_disabled",
            Action::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Action::AccountDeleted => "account_deleted",
            Action::Export => "export",
            Action::ClientCreated => "client_created",
            Action::ClientRead => "client_read",
            Action::ClientListed => "client_listed",
            Action::ClientUpdated => "client_updated",
            Action::ClientDeleted => "client_deleted",
            Action::SessionRead => "session_read",
            Action::SessionCreated => "session_created",
            Action::SessionUpdated => "session_updated",
            Action::SessionCancelled => "session_cancelled",
            Action::InvitationSent => "invitation_sent",
            Action::InvitationOpened => "invitation_opened",
            Action::RecordUnreadable => "record_unreadable",
            Action::OperatorAction => "operator_action",
            Action::RoomJoined => "room_joined",
            Action::RoomLeft => "room_left",
            Action::ConfidentialityAcknowledged => "confidentiality_acknowledged",
            Action::ParticipantRemoved => "participant_removed",
            Action::SessionEnded => "session_ended",
            Action::SessionExtended => "session_extended",
            Action::BackupMade => "backup_made",
            Action::BackupRestored => "backup_restored",
            Action::CalendarFeedEnabled => "calendar_feed_enabled",
            Action::CalendarFeedDisabled => "calendar_feed_disabled",
            Action::CalendarFeedFetched => "calendar_feed_fetched",
        }
    }
}

/// The kind of record acted on; its id goes beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Account,
    Client,
    VideoSession,
    Invitation,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Account => "account",
            TargetKind::Client => "client",
            TargetKind::VideoSession => "video_session",
            TargetKind::Invitation => "invitation",
        }
    }
}

/// One thing to record. Build with `new`, then `target` and `from_addr`.
#[derive(Clone, Copy, Debug)]
pub struct AuditEvent<'a> {
    pub actor: Actor<'a>,
    pub action: Action,
    pub target: Option<(TargetKind, &'a str)>,
    /// Stored as its network only (see `network::network`).
    pub source: Option<IpAddr>,
}

impl<'a> AuditEvent<'a> {
    pub fn new(actor: Actor<'a>, action: Action) -> Self {
        Self {
            actor,
            action,
            target: None,
            source: None,
        }
    }

    pub fn target(mut self, kind: TargetKind, id: &'a str) -> Self {
        self.target = Some((kind, id));
        self
    }

    pub fn from_addr(mut self, addr: IpAddr) -> Self {
        self.source = Some(addr);
        self
    }
}

impl<'a> AuditEvent<'a> {
    /// The stored fields: `source` is `event.source` reduced to its network.
    fn fields(&self, source: Option<&'a str>, at: i64) -> AuditFields<'a> {
        AuditFields {
            at,
            actor_kind: self.actor.kind.as_str(),
            actor_id: self.actor.id,
            action: self.action.as_str(),
            target_kind: self.target.map(|(kind, _)| kind.as_str()),
            target_id: self.target.map(|(_, id)| id),
            source,
        }
    }
}

/// Links an entry to the one before it.
fn seal(seq: i64, prev: Option<&str>, fields: &AuditFields<'_>) -> ChainLink {
    let prev_hash = prev.unwrap_or(chain::GENESIS).to_owned();
    let hash = chain::entry_hash(&prev_hash, seq, fields);
    ChainLink { prev_hash, hash }
}

/// Appends `event` at time `at` (Unix seconds) to the chain, on its own:
/// for tools and jobs outside the server's group commit.
#[tracing::instrument(skip_all, fields(action = event.action.as_str()))]
pub async fn record(
    store: &Store,
    event: AuditEvent<'_>,
    at: i64,
) -> anyhow::Result<(i64, String)> {
    let source = event.source.map(network::network);
    let fields = event.fields(source.as_deref(), at);
    let (seq, link) = store
        .append_audit_entry(&fields, seal)
        .await
        .context("while appending to the audit log")?;
    Ok((seq, link.hash))
}

/// Appends `entries` in order in one transaction; each one's (seq, hash).
async fn append_all(
    store: &Store,
    entries: Vec<OwnedFields>,
) -> anyhow::Result<Vec<(i64, String)>> {
    let appended = store
        .append_audit_entries(entries, seal)
        .await
        .context("while appending to the audit log")?;
    Ok(appended
        .into_iter()
        .map(|(seq, link)| (seq, link.hash))
        .collect())
}

/// Appends `event` at the state's clock and anchors it, through the group
/// commit; for handlers and domain functions. A failed append fails the
/// request, so a trace that could not be written is never silently skipped.
#[tracing::instrument(skip_all, fields(action = event.action.as_str()))]
pub async fn record_now(state: &AppState, event: AuditEvent<'_>) -> AppResult<()> {
    let source = event.source.map(network::network);
    let fields = event.fields(source.as_deref(), state.clock.unix());
    let started = std::time::Instant::now();
    let appended = state.audit.append(&fields).await;
    // What a request waits for its entry: the batch's wait and its commit.
    metrics::histogram!(crate::monitoring::names::AUDIT_APPEND).record(started.elapsed());
    match appended {
        Ok(_) => Ok(()),
        Err(AppendError::Failed(err)) => Err(AppError::internal(anyhow::anyhow!("{err:#}"))),
        Err(AppendError::Unavailable) => Err(AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "This could not be recorded in the audit log, so it was not done. Please try again.",
        )),
    }
}

/// `record`, then moves the anchor in the key store to the new entry.
pub async fn record_anchored(
    store: &Store,
    keys: &crate::keys::KeyStore,
    event: AuditEvent<'_>,
    at: i64,
) -> anyhow::Result<()> {
    let (seq, hash) = record(store, event, at).await?;
    anchor::advance(keys, seq, &hash, at).await
}

/// Records something account holders did to their own account.
pub async fn record_own(
    state: &AppState,
    account: &Account,
    action: Action,
    addr: IpAddr,
) -> AppResult<()> {
    let event = AuditEvent::new(Actor::account(account), action)
        .target(TargetKind::Account, &account.id)
        .from_addr(addr);
    record_now(state, event).await
}
