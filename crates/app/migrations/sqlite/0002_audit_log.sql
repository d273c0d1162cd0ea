-- Append-only, hash-chained audit log: ids only, never names, emails or full
-- addresses. `hash` = SHA-256(prev_hash || canonical entry), see src/audit/chain.rs.
-- seq is chosen by the writer (last + 1) inside a locked transaction, so the
-- hash can cover it and a removed, inserted or reordered row breaks the chain.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL
        CHECK (actor_kind IN ('therapist', 'operator', 'client', 'system', 'anonymous')),
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    -- The network only: 203.0.113.0/24 or 2001:db8:1::/48.
    source TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The therapist's own trail (export) is looked up by either id.
CREATE INDEX audit_log_actor_id ON audit_log (actor_id);
CREATE INDEX audit_log_target_id ON audit_log (target_id);

-- The application only ever inserts. These refuse accidental edits; someone
-- who drops them is still caught by `regroup audit verify`.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
