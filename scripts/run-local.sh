#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: the whole stack on this machine, on the in-memory devbroker.
# Prints the URLs, then runs until Ctrl-C, which stops every process by pid.
# Ports: ACTIVITY_INGEST_PORT (default 8081), ACTIVITY_WEB_PORT (8080). State lives in ./run/ (the
# counters database and the export files start empty each time, as the
# devbroker does).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
mkdir -p run
ingest_port=${ACTIVITY_INGEST_PORT:-8081}
web_port=${ACTIVITY_WEB_PORT:-8080}
pids=()

cleanup() {
  trap - INT TERM EXIT
  trap '' PIPE  # under `| tee`, Ctrl-C ends tee too: still stop everything
  { echo; echo "stopping..."; } 2>/dev/null || true
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "stopped." 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM  # Ctrl-C is the normal way out, not a failure

rm -rf run/bootstrap run/counters.db run/counters.db-wal run/counters.db-shm run/export
# In a session of its own, so that a terminal's Ctrl-C, which reaches every
# other process at once, does not reach it: it is stopped last, after the
# workers have stored their batches and left the group.
setsid "$build"/activity-devbroker --bootstrap-file run/bootstrap >/dev/null 2>run/devbroker.log &
pids+=($!)
for _ in $(seq 100); do [ -s run/bootstrap ] && break; sleep 0.1; done
[ -s run/bootstrap ] || { echo "devbroker did not start; see run/devbroker.log" >&2; exit 1; }
brokers=$(cat run/bootstrap)

# start NAME CMD...: runs CMD in the background, its first stdout line
# (the URL it serves) in run/NAME.url, and waits for that line.
start() {
  local name=$1
  shift
  "$@" >"run/$name.url" 2>"run/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "run/$name.url" ] && return; sleep 0.1; done
  echo "$name did not start; see run/$name.log" >&2
  exit 1
}

start ingest "$build"/activity-ingest --brokers "$brokers" --listen "127.0.0.1:$ingest_port"
url=$(head -1 run/ingest.url)
start aggregator "$build"/activity-aggregator --brokers "$brokers" --db run/counters.db \
  --metrics-listen 127.0.0.1:0
# --max-age 60: files appear within a minute rather than the default five
start export "$build"/activity-export --brokers "$brokers" --out run/export --max-age 60 \
  --metrics-listen 127.0.0.1:0
start web "$build"/activity-web --db run/counters.db --listen "127.0.0.1:$web_port" \
  --collector "$url"
web=$(head -1 run/web.url)

cat <<EOM

activity-tracker is running (in-memory devbroker: nothing is persisted).

  Dashboard         $web
  Demo site         ${web}demo/   (browse, click, search: watch the dashboard)
  Query API         ${web}api/v1/summary?site=demo
  Kafka bootstrap   $brokers
  Collector         ${url}v1/events   tracker: ${url}tracker.js
  Collector metrics ${url}metrics
  Counters (SQLite) run/counters.db   aggregator metrics $(head -1 run/aggregator.url)
  Export files      run/export/type=*/dt=*/hour=*/   exporter metrics $(head -1 run/export.url)
  Logs              run/*.log

Send an event:
  curl -s -A 'Mozilla/5.0 (demo)' -H 'Content-Type: application/json' ${url}v1/events \\
    -d '{"type":"pageview","site":"demo","anonymous_id":"v1","url":"https://demo.test/","ts":"$(date -u +%FT%TZ)"}'

Read the counters (right after start the aggregator joins its group for a few seconds; then within a second):
  sqlite3 run/counters.db "SELECT type, granularity, bucket, dim, n FROM counts WHERE granularity='hour'"

Press Ctrl-C to stop.
EOM
# Ctrl-C reaches every process of the terminal's group, and the programs
# stop on it cleanly (status 0), sometimes before this shell's INT trap has
# run: a clean exit is a stop, anything else a failure.
if wait -n "${pids[@]}"; then
  exit 0
fi
echo "a process exited; see run/*.log" >&2
exit 1
