#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The 30-day disk-use simulation (scripts/bench/retention_sim.c): this tree
# with its default retention for DAYS days, and the code before compact
# sketches and retention (BASE, a commit of this repository) for its first
# BASE_DAYS days, extrapolated. Prints both tables and the comparison.
#   scripts/bench/retention_sim.sh [DAYS] [EVENTS_PER_DAY]
set -euo pipefail
cd "$(dirname "$0")/../.."
DAYS=${1:-30}
PER_DAY=${2:-1000000}
BASE=${RETENTION_BASE:-1d62e61}
BASE_DAYS=${RETENTION_BASE_DAYS:-3}
work=$(mktemp -d /tmp/retention-sim.XXXXXX)
trap 'rm -rf "$work"' EXIT

# build_sim TREE OUT: the simulation against TREE's storage code
build_sim() {
    local tree=$1 out=$2 gen extra=()
    gen=$(mktemp -d "$work/gen.XXXXXX")
    { echo 'const char store_counters_sql[] ='
      sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$tree/schema/counters.sql"
      echo ';'; } > "$gen/counters_sql.c"
    echo 'const char activity_version[] = "retention-sim";' > "$gen/version.c"
    if [ -f "$tree/aggregator/retention.c" ]; then
        extra=(-DWITH_RETENTION "$tree/aggregator/retention.c")
    fi
    if [ -f "$tree/aggregator/visits.c" ]; then
        extra+=("$tree/aggregator/visits.c")
    fi
    cc -std=c11 -D_GNU_SOURCE -O2 -I"$tree/common" -I"$tree/schema" -I"$tree/aggregator" \
        -o "$out" scripts/bench/retention_sim.c "${extra[@]}" \
        "$tree"/aggregator/{store,seen,rollup,arena,hll}.c "$tree"/common/{log,timefmt}.c \
        "$gen/counters_sql.c" "$gen/version.c" $(pkg-config --cflags --libs sqlite3 rdkafka) \
        -lm -lpthread
}

mkdir -p "$work/base"
git archive "$BASE" aggregator common schema | tar -x -C "$work/base"
build_sim . "$work/sim-new"
build_sim "$work/base" "$work/sim-base"

reports=$(seq 1 "$DAYS" | awk -v d="$DAYS" '$1 % 7 == 0 || $1 == d || $1 <= 3')
echo "== this tree, default retention, $DAYS days of $PER_DAY events"
"$work/sim-new" "$work/new.db" "$DAYS" "$PER_DAY" $reports | tee "$work/new.tsv"
echo "== $BASE (before compact sketches and retention), $BASE_DAYS days"
"$work/sim-base" "$work/base.db" "$BASE_DAYS" "$PER_DAY" $(seq 1 "$BASE_DAYS") | tee "$work/base.tsv"

python3 - "$work/new.tsv" "$work/base.tsv" "$DAYS" "$PER_DAY" <<'PY'
import sys
new = {int(r[0]): list(map(float, r)) for r in (l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:])}
base = {int(r[0]): list(map(float, r)) for r in (l.split("\t") for l in open(sys.argv[2]).read().splitlines()[1:])}
days, per_day = int(sys.argv[3]), int(sys.argv[4])
b_last = max(base)
# bytes a day once running (from the first day's end; from empty if that is all)
b_rate = (base[b_last][1] - base[1][1]) / (b_last - 1) if b_last > 1 else base[1][1]
b_at = lambda d: base[1][1] + b_rate * (d - 1)
mb = lambda b: "%.1f" % (b / 1e6)
print("\n| day | file | minute data (rows) | hour rows | day rows | longest prune transaction / pass | file before |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for d in sorted(new):
    r = new[d]
    print("| %d | %s MB | %s MB (%d) | %d | %d | %.1f ms / %.0f ms | %s MB%s |" % (
        d, mb(r[1]), mb(r[7]), r[3], r[4], r[5], r[10], r[11],
        mb(base[d][1] if d in base else b_at(d)), "" if d in base else " (extrapolated)"))
weeks = sorted(d for d in new if d % 7 == 0)
if len(weeks) >= 2:
    a, b = new[weeks[-2]], new[weeks[-1]]
    print("\nminute data, day %d vs day %d: %s MB vs %s MB (%+.1f %%)" % (
        weeks[-1], weeks[-2], mb(b[7]), mb(a[7]), 100.0 * (b[7] - a[7]) / a[7]))
    print("growth per day over the last week: %.1f bytes per event (before: %.1f)" % (
        (b[1] - a[1]) / (weeks[-1] - weeks[-2]) / per_day, b_rate / per_day))
last = max(new)
print("day %d: %s MB, before %s MB extrapolated: %.1fx smaller" % (
    last, mb(new[last][1]), mb(b_at(last)), b_at(last) / new[last][1]))
PY
