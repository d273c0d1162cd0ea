-- Which node holds each open room (one video session's live state). The node
-- renews its leases with every heartbeat; a lease not renewed for 10 s has
-- lapsed (its node died), and the next socket for the room takes it over.
CREATE TABLE room_leases (
    session_id TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX room_leases_by_node ON room_leases (node_id);
