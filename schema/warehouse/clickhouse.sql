-- SPDX-License-Identifier: Apache-2.0
-- The warehouse table for activity-export's NDJSON files, ClickHouse.
-- Load a closed day with, for example:
--   clickhouse-client --query "INSERT INTO activity_events FORMAT JSONEachRow" \
--     < <(zcat export/type=*/dt=2026-11-23/hour=*/part-*.ndjson.gz)
-- ReplacingMergeTree keyed by event_id drops duplicates (a client retry
-- that reached Kafka twice) at merge time; query with FINAL for exact counts.
CREATE TABLE IF NOT EXISTS activity_events (
    event_id     UUID,
    type         LowCardinality(String),
    site         LowCardinality(String),
    anonymous_id Nullable(String),
    user_id      Nullable(String),
    session_id   Nullable(String),
    url          String,
    referrer     Nullable(String),
    title        Nullable(String),
    ts           DateTime64(3, 'UTC'),
    client_ts    Nullable(DateTime64(3, 'UTC')),
    received_at  DateTime64(3, 'UTC'),
    target       Nullable(String),
    href         Nullable(String),
    text         Nullable(String),
    query        Nullable(String),
    results      Nullable(Int64),
    props        Nullable(String),  -- JSON text
    user_agent   Nullable(String),
    ip           Nullable(String),
    bot          Bool DEFAULT false,
    device       Nullable(String),  -- desktop | mobile | tablet (from user_agent)
    browser      Nullable(String),
    os           Nullable(String)
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(received_at)
ORDER BY (site, type, event_id);
