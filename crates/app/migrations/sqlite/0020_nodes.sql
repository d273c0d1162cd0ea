-- The servers ("nodes") that share this database. Each writes its row every
-- few seconds; a row not written for 10 s belongs to a dead node. `draining`
-- is set by the node itself (SIGTERM) or by `regroup node drain`: the node
-- then takes no new room and stops once its rooms have ended.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    -- Where browsers reach this node (its own address, not a shared one).
    url TEXT NOT NULL,
    -- Milliseconds since 1970: tells one run of a node from the next.
    started_at INTEGER NOT NULL,
    beat_at INTEGER NOT NULL,
    draining INTEGER NOT NULL DEFAULT 0,
    rooms INTEGER NOT NULL DEFAULT 0,
    participants INTEGER NOT NULL DEFAULT 0
);
