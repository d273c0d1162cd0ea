-- A therapist's private calendar feed (/calendar/{secret}.ics). A row means
-- the feed is on; only a hash of the secret is kept, so the URL is shown once.
CREATE TABLE calendar_feeds (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    -- 1: events carry the session titles the therapist wrote.
    show_titles INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
