-- SPDX-License-Identifier: Apache-2.0
-- activity-tracker counters: the SQLite read schema (schema version 5).
--
-- Stable for other tools (sqlite3 shell, Grafana's SQLite data source):
-- query the views `counts`, `bot_counts`, `visit_counts` and `uniques`; the tables behind
-- them may change between schema versions (PRAGMA user_version).
--
--   counts(site, type, granularity, bucket, dim, n)
--     type        'pageview' | 'click' | 'search' | 'zero_result_search'
--     granularity 'minute' | 'hour' | 'day'
--     bucket      the bucket's start, Unix seconds, UTC
--     dim         pageview: URL path; click: target; search: query;
--                 '' for the total of that type
--     n           events (bot-flagged events are only in bot_counts)
--   visit_counts(site, type, granularity, bucket, dim, n): per visit
--     (aggregator/visits.h), all in the bucket where the visit started (bots
--     make none). type 'visit', 'bounce', 'visit_ms' (summed durations, ms),
--     'visit_pageviews' (dim '' only); 'entry', 'exit' (dim: URL path),
--     'source' (referrer host or '(direct)'), 'utm_source', 'utm_medium',
--     'utm_campaign', 'device', 'browser', 'os' (dim: the value, no '' row)
--   uniques(site, granularity, bucket, estimate)
--     estimate    distinct visitors (HyperLogLog, ~0.8 % standard error);
--                 for ranges merge sketches.registers (activity-web does)
--   counters.visitors (column): the visitors of the row's value, a sketch
--     as sketches.registers, in the hour and day rows of a value (dim <> '',
--     bot = 0) of the events' types and the visit dimensions but 'exit'
--     (aggregator/visits.h); NULL elsewhere. Merge them for a range.
--   retention(granularity, scope, kept_from)
--     kept_from   buckets before it were deleted by the aggregator's --keep-*
--                 flags: a range starting earlier is incomplete. scope
--                 'totals': the dim = '' counts and the sketches; 'dims': the
--                 counts of each path, target and query
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
    -- schema 5: the value's visitors (see above); in the row, not a table
    -- of its own, so it costs its bytes and not a second key per value
    visitors    BLOB,
    PRIMARY KEY (site, type, granularity, bucket, dim, bot)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sketches (
    site        TEXT    NOT NULL,
    granularity TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    registers   BLOB    NOT NULL, -- HyperLogLog registers, sparse or dense (hll.h)
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

-- Client retries: an event_id counts once within the dedup window. A retry
-- carries the same visitor id, which is the Kafka key, so it arrives on the
-- same partition: each partition's ids are kept apart, one row per flush
-- (the worker holds them in memory and checks there). Rows leave once
-- newest_ms is a window older than the partition's newest received_at.
CREATE TABLE IF NOT EXISTS seen_ids (
    type        TEXT    NOT NULL, -- the topic's event type
    partition   INTEGER NOT NULL,
    newest_ms   INTEGER NOT NULL, -- the newest received_at among them, Unix ms
    ids         BLOB    NOT NULL  -- event_ids, 16 bytes each
);
CREATE INDEX IF NOT EXISTS seen_ids_by_partition ON seen_ids (type, partition, newest_ms);
-- Schema 1 kept one row per event_id; upgrading forgets them.
DROP TABLE IF EXISTS seen_events;

-- Retention: what the aggregator deleted on purpose. kept_from only moves
-- forward; no worker writes a bucket before it again.
CREATE TABLE IF NOT EXISTS retention (
    granularity TEXT    NOT NULL,
    scope       TEXT    NOT NULL, -- 'totals' | 'dims'
    kept_from   INTEGER NOT NULL, -- Unix seconds, the start of the oldest bucket kept
    PRIMARY KEY (granularity, scope)
) WITHOUT ROWID;

-- Visits (aggregator/visits.h): the latest visit of each visitor of a
-- site, written in the same transaction as the counters it changed. Rows
-- received two visit timeouts before visit_clock are deleted by retention.
CREATE TABLE IF NOT EXISTS visits (
    site         TEXT    NOT NULL,
    visitor      INTEGER NOT NULL, -- hll_hash of the visitor id
    first_ms     INTEGER NOT NULL, -- earliest event time, Unix ms: the visit's bucket
    last_ms      INTEGER NOT NULL, -- latest event time
    pageviews    INTEGER NOT NULL,
    engaged      INTEGER NOT NULL, -- 1 after a click or search
    exit_ms      INTEGER NOT NULL, -- the latest pageview's time; -1: none
    seen_ms      INTEGER NOT NULL, -- the latest received_at among its events
    entry        TEXT    NOT NULL, -- the earliest event's page, and its
    source       TEXT    NOT NULL, --   referrer host ('' direct),
    utm_source   TEXT    NOT NULL, --   tags ('' none)
    utm_medium   TEXT    NOT NULL,
    utm_campaign TEXT    NOT NULL,
    device       TEXT    NOT NULL, --   and user agent's classes
    browser      TEXT    NOT NULL,
    os           TEXT    NOT NULL,
    exit         TEXT    NOT NULL, -- the latest pageview's page (else the entry)
    PRIMARY KEY (site, visitor)
) WITHOUT ROWID;
-- The newest received_at among the events visits have counted: the
-- stream's time, against which retention ages the rows above (found by a
-- walk in key order, so that no index has to follow every write).
CREATE TABLE IF NOT EXISTS visit_clock (
    id          INTEGER PRIMARY KEY CHECK (id = 0),
    seen_ms     INTEGER NOT NULL
);

-- Schema 4 split the visit counters off into their own view.
DROP VIEW IF EXISTS counts;
CREATE VIEW counts AS
    SELECT site, type, granularity, bucket, dim, n FROM counters WHERE bot = 0
    AND type IN ('pageview', 'click', 'search', 'zero_result_search');
CREATE VIEW IF NOT EXISTS visit_counts AS
    SELECT site, type, granularity, bucket, dim, n FROM counters
    WHERE type NOT IN ('pageview', 'click', 'search', 'zero_result_search');
CREATE VIEW IF NOT EXISTS bot_counts AS
    SELECT site, type, granularity, bucket, dim, n FROM counters WHERE bot = 1;
CREATE VIEW IF NOT EXISTS uniques AS
    SELECT site, granularity, bucket, estimate FROM sketches;
