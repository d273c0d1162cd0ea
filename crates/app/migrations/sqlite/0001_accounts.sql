-- Accounts of therapists and operators; times are Unix seconds (UTC).
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('therapist', 'admin', 'support')),
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email_verified_at BIGINT,
    totp_secret TEXT,
    totp_enabled_at BIGINT,
    totp_last_step BIGINT,
    credential TEXT NOT NULL DEFAULT '',
    license_number TEXT NOT NULL DEFAULT '',
    practice_states TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_sign_in_at BIGINT
);

-- Signed-in sessions (cookie or bearer) and half-finished sign-ins waiting
-- for a second factor. Only a hash of the token is stored.
CREATE TABLE auth_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('cookie', 'bearer', 'second_factor')),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_sessions_by_account ON auth_sessions (account_id);

-- Single-use links sent by email (verification, password reset, email change).
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    new_email TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_by_account ON email_tokens (account_id);

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

-- Failed sign-ins by subject: a keyed hash of the account email or of the
-- source address, never the address itself. Rows older than a day are purged.
CREATE TABLE login_failures (
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_subject ON login_failures (subject, at);

-- Server-wide random secrets shared by every node (e.g. the throttling key).
CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
