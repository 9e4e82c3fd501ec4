#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: the performance table, every figure measured in this one
# run beside a baseline on the same machine, so the ratios mean something on
# a shared, noisy host. Loopback only; every process is stopped by pid.
#   BENCH_SECONDS   length of each wrk run (default 10)
#   BENCH_CONNS     wrk connections (default 128)
#   BENCH_AGG_EVENTS events pre-filled for the aggregator and export rows (default 600000)
#   BENCH_TRIALS    runs of each aggregator and export row; the median is kept (default 3)
#   BENCH_RETENTION_DAYS days of the disk-use simulation (default 30, about an
#                   hour on 2 cores; 0 skips it): scripts/bench/retention_sim.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNS:-128}
tmp=$(mktemp -d)
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    rm -rf build/bench/failed && mkdir -p build/bench/failed
    cp "$tmp"/*.log build/bench/failed/ 2>/dev/null || true
    for d in "$tmp"/trial-*; do
      for f in "$d"/*.log; do [ -e "$f" ] && cp "$f" "build/bench/failed/${d##*/}-${f##*/}"; done
    done
    echo "bench failed; logs kept in build/bench/failed/" >&2
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "bench: $1 never appeared" >&2; exit 1; }

# --- the programs --------------------------------------------------------
build/activity-devbroker --brokers 3 --partitions 6 --bootstrap-file "$tmp/bs" >/dev/null 2>"$tmp/devbroker.log" &
pids+=($!)
wait_file "$tmp/bs"
brokers=$(cat "$tmp/bs")

build/activity-ingest --brokers "$brokers" --listen 127.0.0.1:0 --log-level warn \
  >"$tmp/ingest.url" 2>"$tmp/ingest.log" &
ingest_pid=$!
pids+=($ingest_pid)
wait_file "$tmp/ingest.url"
ingest=$(head -1 "$tmp/ingest.url")

nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<NGX
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 204; }
  }
}
NGX
/usr/sbin/nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx.log" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.1; done

# --- request bodies: the same event text for every target ------------------
python3 - "$tmp" <<'PY'
import json, sys, time
tmp = sys.argv[1]
def ev(i):
    return {"type": "pageview", "site": "bench.test", "anonymous_id": "visitor-%06d" % i,
            "url": "https://bench.test/products/42?ref=home", "title": "Product 42",
            "ts": int(time.time() * 1000)}
for name, body in (("single", ev(1)), ("batch", [ev(i) for i in range(50)])):
    text = json.dumps(body, separators=(",", ":"))
    with open("%s/%s.lua" % (tmp, name), "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) bench"\n'
                "wrk.body = %s\n" % json.dumps(text))
PY

# wrk's summary -> "req_per_s p50_ms p99_ms non2xx"
run_wrk() { # url script
  local out
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$2" "$1")
  echo "$out" >>"$tmp/wrk.log"
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%s %.2f %.2f %d\n", rps, p50, p99, bad + 0 }'
}

echo "bench: ${secs}s per run, $conns connections, $(nproc) cores; programs on loopback" >&2
read -r ng_rps ng_p50 ng_p99 _ <<<"$(run_wrk "http://127.0.0.1:$nginx_port/v1/events" "$tmp/single.lua")"
read -r s_rps s_p50 s_p99 s_bad <<<"$(run_wrk "${ingest}v1/events" "$tmp/single.lua")"
read -r b_rps b_p50 b_p99 b_bad <<<"$(run_wrk "${ingest}v1/events" "$tmp/batch.lua")"
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$ingest_pid/status")
# The same requests to /v1/validate: HTTP, parsing and validation with
# nothing produced and no wait for Kafka, so the table shows how much of
# the gap to the baselines is the acknowledged produce and how much is not.
read -r vs_rps _ _ _ <<<"$(run_wrk "${ingest}v1/validate" "$tmp/single.lua")"
read -r vb_rps _ _ _ <<<"$(run_wrk "${ingest}v1/validate" "$tmp/batch.lua")"
base_count=$(awk -v r="$b_rps" 'BEGIN { n = int(r * 50 * 5); if (n < 200000) n = 200000; if (n > 2000000) n = 2000000; print n }')
base_eps=$(build/bench/producer-baseline "$brokers" activity.pageview "$base_count" | awk '{print $2}')

# --- aggregator: each measurement on a fresh devbroker --------------------
stop_pids() { for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
stop_pids "${pids[@]}"   # the ingest stack is done; give the cores back
pids=()
agg_count=${BENCH_AGG_EVENTS:-600000}
trials=${BENCH_TRIALS:-3}
agg=(python3 scripts/bench/consumer_bench.py)
# These runs last 1-3 s each, where this machine moves 20-30 % between
# runs: each is run $trials times, and the run with the median of its
# second field (the rate) is kept. Every trial gets a fresh directory.
median_run() { # command args... (prints the kept run's line)
  local i out=()
  for i in $(seq "$trials"); do
    mkdir -p "$tmp/trial-$i-$1"
    out+=("$("${agg[@]}" "$1" build "$tmp/trial-$i-$1" "${@:2}")") || exit 1
  done
  printf '%s\n' "${out[@]}" | sort -k2,2n | sed -n "$(( (trials + 1) / 2 ))p"
}
consume_eps=$(median_run consume "$agg_count" | awk '{print $2}')
agg1_eps=$(median_run rate "$agg_count" 1 | awk '{print $2}')
agg2_eps=$(median_run rate "$agg_count" 2 | awk '{print $2}')
e2e=$("${agg[@]}" e2e build "$tmp" 10 10000)  # not < <(...): bash must wait for it
read -r _ e2e_p50 _ e2e_p95 <<<"$e2e"
export_out=$(median_run export "$agg_count")
read -r _ export_eps _ gzip1_eps <<<"$export_out"

if [ "$s_bad" != 0 ] || [ "$b_bad" != 0 ]; then
  echo "bench: ingest answered non-2xx ($s_bad single, $b_bad batch); see $tmp/ingest.log" >&2
  tail -5 "$tmp/ingest.log" >&2
fi

awk -v ng="$ng_rps" -v ng50="$ng_p50" -v ng99="$ng_p99" -v s="$s_rps" -v s50="$s_p50" -v s99="$s_p99" \
    -v b="$b_rps" -v b50="$b_p50" -v b99="$b_p99" -v base="$base_eps" -v rss="$rss_kb" \
    -v vs="$vs_rps" -v vb="$vb_rps" \
    -v ce="$consume_eps" -v a1="$agg1_eps" -v a2="$agg2_eps" -v e50="$e2e_p50" -v e95="$e2e_p95" \
    -v xe="$export_eps" -v g1="$gzip1_eps" 'BEGIN {
  be = b * 50
  printf "\n| measure | activity-ingest | baseline | ratio | target | met |\n|---|---|---|---|---|---|\n"
  printf "| single-event POST, req/s | %.0f | nginx 204: %.0f | %.2f | >= 0.70 | %s |\n", s, ng, s/ng, (s/ng >= 0.7 ? "yes" : "no")
  printf "| single-event POST, p50 / p99 ms | %.2f / %.2f | nginx: %.2f / %.2f | | | |\n", s50, s99, ng50, ng99
  printf "| 50-event batches, events/s | %.0f | plain producer: %.0f | %.2f | >= 0.50 | %s |\n", be, base, be/base, (be/base >= 0.5 ? "yes" : "no")
  printf "| 50-event batches, p50 / p99 ms per request | %.2f / %.2f | | | | |\n", b50, b99
  printf "| reference: single-event POST to /v1/validate (nothing produced), req/s | %.0f | nginx 204: %.0f | %.2f | | |\n", vs, ng, vs/ng
  printf "| reference: 50-event batches to /v1/validate, events/s | %.0f | plain producer: %.0f | %.2f | | |\n", vb * 50, base, vb * 50 / base
  printf "| ingest peak RSS under that load, MB | %.1f | | | <= 100 | %s |\n", rss/1024, (rss/1024 <= 100 ? "yes" : "no")
  printf "| aggregator, 1 worker, events/s into SQLite | %.0f | consume-only: %.0f | %.2f | >= 0.50 and >= 200000 | %s |\n", a1, ce, a1/ce, (a1/ce >= 0.5 && a1 >= 200000 ? "yes" : "no")
  printf "| aggregator, 2 workers, events/s | %.0f | 1 worker: %.0f | %.3f | >= 1.60 | %s |\n", a2, a1, a2/a1, (a2/a1 >= 1.6 ? "yes" : "no")
  printf "| POST to visible in counts at 10000 events/s, p50 / p95 ms | %d / %d | | | p95 <= 1000 | %s |\n", e50, e95, (e95 <= 1000 ? "yes" : "no")
  printf "| export, events/s to closed gzip files | %.0f | gzip -1 of the same NDJSON: %.0f | %.2f | >= 200000 | %s |\n", xe, g1, xe/g1, (xe >= 200000 ? "yes" : "no")
}'

# --- disk use over simulated days (README "Data retention and disk use") --
days=${BENCH_RETENTION_DAYS:-30}
if [ "$days" != 0 ]; then
  echo
  scripts/bench/retention_sim.sh "$days"
fi
