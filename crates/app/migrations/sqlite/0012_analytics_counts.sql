-- Page views counted per day and per keyed hash: of the address alone (so the
-- daily cap per address holds whatever user agent a client sends) and of the
-- visitor. An upsert counts atomically, so concurrent requests cannot slip
-- past a cap. Rows go when their day's salt goes; the hashes mean nothing
-- without it.
CREATE TABLE analytics_counts (
    day BIGINT NOT NULL,
    hash TEXT NOT NULL,
    views BIGINT NOT NULL,
    PRIMARY KEY (day, hash)
);
