#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions activity-ingest spends on one single-event POST, counted by
# valgrind's callgrind (repeatable within ~0.2 % on a shared machine, unlike
# time): REQUESTS keep-alive POSTs to /v1/events on one connection, every
# one acknowledged by a devbroker, divided into ingest's whole count (all
# its threads, start-up and shutdown included). glibc's rep movsb/stosb are
# turned off so that counts compare across machines.
#   scripts/bench/ingest_callgrind.sh [BUILD_DIR] [REQUESTS]   (build, 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
requests=${2:-20000}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_CALLGRIND:-}" ] && cp "$tmp/callgrind.out" "$KEEP_CALLGRIND"; rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
wait_file() { for _ in $(seq 600); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "$1 never appeared" >&2; exit 1; }

"$build"/activity-devbroker --brokers 1 --partitions 3 --bootstrap-file "$tmp/bs" >/dev/null 2>"$tmp/devbroker.log" &
pids+=($!)
wait_file "$tmp/bs"
GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295:glibc.cpu.x86_rep_stosb_threshold=4294967295 \
  valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" \
  "$build"/activity-ingest --brokers "$(cat "$tmp/bs")" --listen 127.0.0.1:0 --threads 1 \
  --log-level warn >"$tmp/url" 2>"$tmp/ingest.log" &
ingest=$!
pids+=($ingest)
wait_file "$tmp/url"
python3 - "$(head -1 "$tmp/url")" "$requests" <<'PY'
import http.client, json, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
body = json.dumps({"type": "pageview", "site": "shop.test", "anonymous_id": "v1",
                   "url": "https://shop.test/products/1", "ts": int(time.time() * 1000)}).encode()
h = {"Content-Type": "application/json", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) "
     "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}
for i in range(int(sys.argv[2])):
    c.request("POST", "/v1/events", body, h)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
kill -TERM "$ingest"
wait "$ingest" || true
total=$(grep -m1 '^summary:' "$tmp/callgrind.out" | awk '{print $2}')
echo "activity-ingest ($build): $total instructions for $requests requests: $((total / requests)) per request"
