-- SPDX-License-Identifier: Apache-2.0
-- The warehouse table for activity-export's NDJSON files, PostgreSQL.
-- scripts/load-postgres.sh creates it if missing and loads one closed day
-- at a time. One row per event; event_id is the key, so a client retry that
-- reached Kafka twice is stored once.
CREATE TABLE IF NOT EXISTS activity_events (
    event_id     uuid PRIMARY KEY,
    type         text NOT NULL,        -- pageview | click | search
    site         text NOT NULL,
    anonymous_id text,
    user_id      text,
    session_id   text,
    url          text NOT NULL,
    referrer     text,
    title        text,
    ts           timestamptz NOT NULL, -- event time, clock-skew corrected
    client_ts    timestamptz,          -- as the client sent it
    received_at  timestamptz NOT NULL,
    dt           date NOT NULL,        -- UTC date of received_at: the export's dt=
    target       text,                 -- click
    href         text,                 -- click
    text         text,                 -- click
    query        text,                 -- search
    results      bigint,               -- search
    props        jsonb,
    user_agent   text,
    ip           text,
    bot          boolean NOT NULL DEFAULT false,
    device       text,                 -- desktop | mobile | tablet (from user_agent)
    browser      text,
    os           text
);
-- Columns added after 0.1.0: an older table gets them here.
ALTER TABLE activity_events ADD COLUMN IF NOT EXISTS device text,
    ADD COLUMN IF NOT EXISTS browser text, ADD COLUMN IF NOT EXISTS os text;
CREATE INDEX IF NOT EXISTS activity_events_dt ON activity_events (dt);
CREATE INDEX IF NOT EXISTS activity_events_site_ts ON activity_events (site, ts);

-- One row per loaded day and type: what the manifest promised.
CREATE TABLE IF NOT EXISTS activity_loads (
    dt        date NOT NULL,
    type      text NOT NULL,
    rows      bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dt, type)
);
