-- Clients of a therapist. Name and email are sealed with the therapist's data
-- key (base64 text); email_index is a keyed hash for uniqueness and lookups.
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name_sealed TEXT NOT NULL,
    email_sealed TEXT NOT NULL,
    email_index TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner_id, email_index)
);

-- Scheduled video sessions. Title and notes are sealed like client data:
-- therapists may well write a client's name into them.
CREATE TABLE video_sessions (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    series_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('individual', 'group')),
    title_sealed TEXT NOT NULL,
    notes_sealed TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    time_zone TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    sequence BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX video_sessions_by_owner_and_start ON video_sessions (owner_id, starts_at);

-- Who is invited to which session. The join token is stored hashed for
-- lookups and sealed for re-sending (reminders carry the same link).
CREATE TABLE session_participants (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES video_sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_sealed TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'opened', 'revoked')),
    sent_at BIGINT,
    opened_at BIGINT,
    revoked_at BIGINT,
    UNIQUE (session_id, client_id)
);
CREATE INDEX session_participants_by_client ON session_participants (client_id);

-- Background jobs (invitations, reminders), claimed with a lease so that a
-- job runs once even across restarts and several nodes.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    done_at BIGINT,
    UNIQUE (kind, participant_id)
);
CREATE INDEX jobs_due ON jobs (done_at, run_at);
