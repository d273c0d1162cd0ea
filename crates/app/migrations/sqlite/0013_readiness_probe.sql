-- One row that `/readyz` overwrites: a real write, so readiness fails while
-- the database takes reads but no writes (a stuck lock, a full disk, a
-- read-only replica).
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL
);
