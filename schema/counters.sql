-- activity-tracker counters: the SQLite read schema (schema version 1).
--
-- Stable for other tools (sqlite3 shell, Grafana's SQLite data source):
-- query the views `counts`, `bot_counts` and `uniques`; the tables behind
-- them may change between schema versions (PRAGMA user_version).
--
--   counts(site, type, granularity, bucket, dim, n)
--     type        'pageview' | 'click' | 'search' | 'zero_result_search'
--     granularity 'minute' | 'hour' | 'day'
--     bucket      the bucket's start, Unix seconds, UTC
--     dim         pageview: URL path; click: target; search: query;
--                 '' for the total of that type
--     n           events (bot-flagged events are only in bot_counts)
--   uniques(site, granularity, bucket, estimate)
--     estimate    distinct visitors (HyperLogLog, ~0.8 % standard error);
--                 for ranges merge sketches.registers (activity-web does)
--
-- Example: pageviews per hour today
--   SELECT bucket, n FROM counts WHERE site='shop' AND type='pageview'
--     AND granularity='hour' AND dim='' AND bucket >= strftime('%s','now','start of day');

CREATE TABLE IF NOT EXISTS counters (
    site        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    granularity TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    dim         TEXT    NOT NULL,
    bot         INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (site, type, granularity, bucket, dim, bot)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sketches (
    site        TEXT    NOT NULL,
    granularity TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    registers   BLOB    NOT NULL, -- 16384 one-byte HyperLogLog registers
    estimate    INTEGER NOT NULL,
    PRIMARY KEY (site, granularity, bucket)
) WITHOUT ROWID;

-- Exactly once: the next offset of every partition, written in the same
-- transaction as the counter deltas it accounts for.
CREATE TABLE IF NOT EXISTS kafka_offsets (
    topic       TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL, -- Unix ms
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;

-- Client retries: an event_id counts once within the dedup window.
CREATE TABLE IF NOT EXISTS seen_events (
    event_id TEXT    NOT NULL PRIMARY KEY,
    seen_at  INTEGER NOT NULL -- received_at, Unix ms
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events (seen_at);

CREATE VIEW IF NOT EXISTS counts AS
    SELECT site, type, granularity, bucket, dim, n FROM counters WHERE bot = 0;
CREATE VIEW IF NOT EXISTS bot_counts AS
    SELECT site, type, granularity, bucket, dim, n FROM counters WHERE bot = 1;
CREATE VIEW IF NOT EXISTS uniques AS
    SELECT site, granularity, bucket, estimate FROM sketches;
