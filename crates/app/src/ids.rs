//! Typed ids for the rows that name people and sessions, so that a client's id
//! cannot be passed where a session's is expected: the compiler refuses it.
//!
//! Each is the row's text id (a UUIDv7), stored and serialised as a plain
//! string, so the database columns, JSON and URLs are unchanged.

use std::fmt;

/// A fresh row id: a UUIDv7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type, serde::Serialize, serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id for a new row.
            pub fn new() -> Self {
                Self(new_id())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        /// Ids come from URLs, forms and the database as text; a wrong one is
        /// simply not found, scoped by owner like every other lookup.
        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        /// Read as text wherever text is taken (SQL binds, audit targets,
        /// URLs); the other way round needs an explicit conversion, which
        /// is the point.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

row_id!(
    /// A therapist's or operator's account (`accounts.id`).
    AccountId
);
row_id!(
    /// A therapy client entered by a therapist (`clients.id`).
    ClientId
);
row_id!(
    /// A scheduled video session (`video_sessions.id`), which is also its room.
    SessionId
);
row_id!(
    /// One client's invitation to one session (`session_participants.id`).
    ParticipantId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = SessionId::from("0190-abc");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0190-abc\"");
        let back: SessionId = serde_json::from_str("\"0190-abc\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "0190-abc");
        assert_eq!(format!("{id:?}"), "SessionId(0190-abc)");
    }

    #[test]
    fn new_ids_differ() {
        assert_ne!(ClientId::new(), ClientId::new());
    }
}
