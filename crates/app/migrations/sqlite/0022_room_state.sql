-- What of an open room must outlive the node it runs on, so that after a
-- node dies the room starts again elsewhere as it was: who the therapist
-- already let in, and whether the room is locked. Removals live on the
-- invitations (revoked), and the end of a session on video_sessions.ended_at.
-- Chat is never stored. Rows go when the room closes normally.
CREATE TABLE room_admissions (
    session_id TEXT NOT NULL,
    -- The invitation (participant) id of an admitted client.
    member TEXT NOT NULL,
    admitted_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, member)
);
CREATE TABLE room_locks (
    session_id TEXT PRIMARY KEY
);
