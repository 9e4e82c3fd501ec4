#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# load-postgres.sh DIR DATE DSN: loads one closed day of activity-export's
# NDJSON files into PostgreSQL (table activity_events, created from
# schema/warehouse/postgres.sql when missing), idempotently: in one
# transaction the day's rows are deleted and loaded again, so running it
# twice, or after a failure, leaves exactly one copy. Refuses a day that is
# not closed (no _SUCCESS), and a load whose row count differs from the
# manifests'. DSN is anything psql accepts ("host=... port=... dbname=...").
# The role and database are made once by PostgreSQL's superuser, e.g.
#   sudo -u postgres createuser --pwprompt activity
#   sudo -u postgres createdb -O activity warehouse
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 EXPORT_DIR YYYY-MM-DD DSN" >&2
    exit 2
fi
dir=$1 date=$2 dsn=$3
here=$(cd "$(dirname "$0")" && pwd)
# quiet: no NOTICE for every CREATE ... IF NOT EXISTS of an existing table
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
days=() expected=0
for d in "$dir"/type=*/dt="$date"; do
    [ -d "$d" ] || continue
    if [ ! -e "$d/_SUCCESS" ]; then
        echo "load-postgres: $d is not closed (no _SUCCESS); run activity-export close first" >&2
        exit 1
    fi
    days+=("$d")
    # the top-level "rows" of the manifest (indented by two spaces)
    rows=$(sed -n 's/^  "rows": \([0-9]*\),$/\1/p' "$d/_manifest.json")
    expected=$((expected + rows))
done
if [ ${#days[@]} -eq 0 ]; then
    echo "load-postgres: no exported files for $date under $dir" >&2
    exit 1
fi

psql "$dsn" -X -q -v ON_ERROR_STOP=1 -f "$here/../schema/warehouse/postgres.sql"
{
    cat <<SQL
BEGIN;
CREATE TEMP TABLE staging (line jsonb) ON COMMIT DROP;
-- Raw lines: CSV mode with a quote and a delimiter that canonical JSON
-- never holds unescaped, so backslashes reach jsonb untouched.
COPY staging (line) FROM STDIN WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
SQL
    for d in "${days[@]}"; do
        sed -n 's/^ *"path": "\(.*\)",$/\1/p' "$d/_manifest.json" | while read -r f; do
            gzip -dc "$d/$f"
        done
    done
    cat <<SQL
\\.
DO \$\$ BEGIN
  IF (SELECT count(*) FROM staging) <> $expected THEN
    RAISE EXCEPTION 'staged % rows, the manifests say $expected', (SELECT count(*) FROM staging);
  END IF;
END \$\$;
DELETE FROM activity_events WHERE dt = DATE '$date';
INSERT INTO activity_events
SELECT (line->>'event_id')::uuid, line->>'type', line->>'site', line->>'anonymous_id',
       line->>'user_id', line->>'session_id', line->>'url', line->>'referrer', line->>'title',
       (line->>'ts')::timestamptz, (line->>'client_ts')::timestamptz,
       (line->>'received_at')::timestamptz,
       ((line->>'received_at')::timestamptz AT TIME ZONE 'UTC')::date,
       line->>'target', line->>'href', line->>'text', line->>'query',
       (line->>'results')::bigint, line->'props', line->>'user_agent', line->>'ip',
       coalesce((line->>'bot')::boolean, false), line->>'device', line->>'browser',
       line->>'os'
FROM staging
ON CONFLICT (event_id) DO NOTHING;
DELETE FROM activity_loads WHERE dt = DATE '$date';
INSERT INTO activity_loads (dt, type, rows)
SELECT DATE '$date', line->>'type', count(*) FROM staging GROUP BY 1, 2;
COMMIT;
SQL
} | psql "$dsn" -X -q -v ON_ERROR_STOP=1
echo "load-postgres: $date loaded, $expected rows"
