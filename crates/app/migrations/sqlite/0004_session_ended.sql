-- When the therapist ended the room: links and sockets stay closed after that,
-- across restarts and on every node.
ALTER TABLE video_sessions ADD COLUMN ended_at BIGINT;
