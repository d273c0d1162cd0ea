-- One row per backup interval ("slot"), inserted by the node that makes that
-- interval's backup: several `regroup serve` nodes sharing one database then
-- back up once per interval, and a restart does not back up twice.
CREATE TABLE backup_runs (
    slot BIGINT PRIMARY KEY,
    claimed_at BIGINT NOT NULL
);
