-- Satisfaction surveys after a session (see docs/surveys.md). Answers carry
-- no id of a person, a session or an account, no address and no time finer
-- than the ISO week: only what the aggregates are grouped by.
CREATE TABLE survey_answers (
    -- ISO week of the session's end, e.g. 2026-W49.
    week TEXT NOT NULL,
    -- individual or group.
    kind TEXT NOT NULL,
    -- 2, 3-4, 5-8 or 9+ people in the room at the end.
    size_bucket TEXT NOT NULL,
    -- client or therapist.
    role TEXT NOT NULL,
    quality INTEGER NOT NULL CHECK (quality BETWEEN 1 AND 5),
    experience INTEGER NOT NULL CHECK (experience BETWEEN 1 AND 5),
    comment TEXT
);
CREATE INDEX survey_answers_by_week ON survey_answers (week, kind);

-- Nonces of used survey tickets, so each ticket counts once. Nothing here
-- names the answer or the person; rows go once the ticket has expired
-- (expires_at is on the hour, as in the ticket).
CREATE TABLE survey_tickets_used (
    nonce TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX survey_tickets_used_by_expiry ON survey_tickets_used (expires_at);

-- Each therapist's running totals of their clients' answers, with no link
-- to a session or to the rows above. Answers wait in pending_* until five
-- have come, then move into the shown totals together, so the totals a
-- therapist sees never change by a single client's answer.
CREATE TABLE survey_therapist_totals (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    answers INTEGER NOT NULL DEFAULT 0,
    quality_sum INTEGER NOT NULL DEFAULT 0,
    experience_sum INTEGER NOT NULL DEFAULT 0,
    pending_answers INTEGER NOT NULL DEFAULT 0,
    pending_quality_sum INTEGER NOT NULL DEFAULT 0,
    pending_experience_sum INTEGER NOT NULL DEFAULT 0
);
