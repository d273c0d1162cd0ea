-- Changes made outside a room (a session cancelled, moved or shortened, an
-- invitation revoked, a client deleted, a therapist suspended or deleted)
-- for rooms open on other nodes: every node reads the new rows each second
-- and tells its own rooms. Ids only; rows go after ten minutes.
CREATE TABLE room_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The node that wrote it (it told its own rooms already).
    node_id TEXT NOT NULL,
    -- session, revoked, client_deleted or owner_gone
    kind TEXT NOT NULL,
    session_id TEXT,
    owner_id TEXT,
    -- The participant (revoked) or client (client_deleted) it is about.
    subject TEXT,
    created_at INTEGER NOT NULL
);
