-- Throttled attempts are now counted before they are checked (so concurrent
-- ones cannot all slip under the limit), and an attempt that turns out right
-- removes its own rows: the attempt id names them.
ALTER TABLE login_failures ADD COLUMN attempt TEXT;
CREATE INDEX login_failures_by_attempt ON login_failures (attempt);
