-- Append-only, hash-chained audit log: ids only, never names, emails or full
-- addresses. `hash` = SHA-256(prev_hash || canonical entry), see src/audit/chain.rs.
-- seq is chosen by the writer (last + 1) inside a locked transaction, so the
-- hash can cover it and a removed, inserted or reordered row breaks the chain.
CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
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

-- The application only ever inserts. This refuses accidental edits; someone
-- who drops it is still caught by `regroup audit verify`.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
