# SPDX-License-Identifier: Apache-2.0
"""Consumer-group rows of `make bench` (aggregator and exporter; called by
scripts/bench/run.sh). Each measurement gets a fresh devbroker, so none
reads another's data.

  consume BUILD DIR COUNT
      the baseline: COUNT canonical events pre-filled, read by a plain
      librdkafka consumer that discards them; prints "events/s R".
  rate BUILD DIR COUNT WORKERS
      WORKERS aggregators join one group on empty topics and settle (so no
      rebalance falls in the timing), are paused (SIGSTOP) while COUNT
      events are produced (so the producer does not share the cores with
      them), and resumed: timed from then to the moment the stored offsets
      cover all COUNT events. Prints "events/s R".
  e2e BUILD DIR SECONDS RATE
      ingest + one aggregator; once the aggregator has counted a first event
      (it has joined its group), RATE events/s in batches of 100, and after
      a second of that a probe event (its own site) every 100 ms for SECONDS;
      prints "p50_ms P p95_ms P" of probe POST-sent -> visible in counts.
  export BUILD DIR COUNT
      COUNT events pre-filled, then one exporter: timed from its first
      commit until the files are published and the day closed (manifests
      with sha256 of every file); then gzip -1 of the same NDJSON bytes.
      Prints "events/s R gzip1_events/s G"."""

import glob
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request


def stored(db):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            return con.execute("SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def start(args, log):
    """Starts a program; returns (Popen, the first line it printed)."""
    with open(log, "ab") as f:
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=f)
    return p, p.stdout.readline().decode().strip()


def stop_all(procs):
    """Stops in the order given, each before the next: consumers before the
    broker they must say goodbye to. Kills what does not stop in 30 s."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def devbroker(build, d):
    return start([build + "/activity-devbroker", "--brokers", "3", "--partitions", "6"],
                 os.path.join(d, "devbroker.log"))


def prefill(build, brokers, count):
    subprocess.run([build + "/bench/producer-baseline", "--vary", brokers, "activity", str(count)],
                   check=True, stdout=subprocess.DEVNULL)


def consume(build, d, count):
    broker, brokers = devbroker(build, d)
    try:
        prefill(build, brokers, count)
        subprocess.run([build + "/bench/consumer-baseline", brokers, "bench-consume", str(count),
                        "activity.pageview", "activity.click", "activity.search"], check=True)
    finally:
        stop_all([broker])


def aggregator(build, brokers, db, group, d):
    """Starts a worker; returns (Popen, its /metrics URL)."""
    return start([build + "/activity-aggregator", "--brokers", brokers, "--db", db, "--group", group,
                  "--metrics-listen", "127.0.0.1:0", "--log-level", "warn"],
                 os.path.join(d, "aggregator.log"))


def assigned(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("activity_aggregator_assigned_partitions "):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def settle(procs, urls, d, partitions=18):
    """Waits until every worker is alive and owns a share of the group's
    partitions. A worker paused (SIGSTOP) while a rebalance is under way
    holds the group up until the rebalance gives up on it: the likely cause
    of the one two-worker trial, after a fixed 6 s wait, that took 41 s
    instead of about 1.5. A worker that exited at start would leave the
    others to do its share unseen, and the row would measure fewer workers
    than it says."""
    deadline = time.time() + 60
    while time.time() < deadline:
        dead = [p.returncode for p in procs if p.poll() is not None]
        if dead:
            sys.exit("rate: %d of %d aggregators exited at start (status %s); see %s"
                     % (len(dead), len(procs), dead, os.path.join(d, "aggregator.log")))
        owned = [assigned(u) for u in urls]
        if sum(owned) == partitions and min(owned) > 0:
            return
        time.sleep(0.2)
    sys.exit("rate: the group never settled: partitions owned %s of %d" % (owned, partitions))


def rate(build, d, count, workers):
    db = os.path.join(d, "rate-%d.db" % workers)
    broker, brokers = devbroker(build, d)
    started = [aggregator(build, brokers, db, "bench-rate", d) for _ in range(workers)]
    procs = [p for p, _ in started]
    try:
        settle(procs, [url for _, url in started], d)
        for p in procs:  # well within session.timeout.ms (45 s)
            p.send_signal(signal.SIGSTOP)
        try:
            prefill(build, brokers, count)
        finally:
            for p in procs:
                p.send_signal(signal.SIGCONT)
        t0, first = time.time(), stored(db)
        n, deadline = first, t0 + 300
        while n < count and time.time() < deadline:
            time.sleep(0.02)
            n = stored(db)
        t1 = time.time()
        if n < count:
            sys.exit("aggregator: only %d of %d events stored" % (n, count))
        print("events/s %.0f" % ((count - first) / (t1 - t0)))
    finally:
        stop_all(procs + [broker])


def post(url, events):
    req = urllib.request.Request(url, json.dumps(events).encode(), {
        "Content-Type": "application/json", "User-Agent": "Mozilla/5.0 bench"})
    with urllib.request.urlopen(req, timeout=30) as r:
        if r.status != 200:
            raise RuntimeError("ingest answered %d" % r.status)


def e2e(build, d, seconds, per_sec):
    db = os.path.join(d, "e2e.db")
    broker, brokers = devbroker(build, d)
    ingest, base = start([build + "/activity-ingest", "--brokers", brokers, "--listen",
                          "127.0.0.1:0", "--log-level", "warn"], os.path.join(d, "ingest-e2e.log"))
    agg = aggregator(build, brokers, db, "bench-e2e", d)[0]
    url = base + "v1/events"
    sent, seen, stop = {}, {}, threading.Event()

    def event(site, i):
        return {"type": "pageview", "site": site, "anonymous_id": "v%d" % (i % 5000),
                "url": "https://%s/p/%d" % (site, i % 50), "ts": int(time.time() * 1000)}

    def load(threads):  # steady per_sec events/s in batches of 100, per thread
        period, i = 100.0 * threads / per_sec, 0
        next_t = time.time()
        while not stop.is_set():
            post(url, [event("bench.test", i + j) for j in range(100)])
            i += 100
            next_t += period
            time.sleep(max(0, next_t - time.time()))

    def probes():
        for n in range(int(seconds * 10)):
            site = "probe-%d" % n
            sent[site] = time.time()
            post(url, [event(site, n)])
            time.sleep(0.1)

    def watch():
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        while not stop.is_set() or len(seen) < len(sent):
            try:
                for (site,) in con.execute("SELECT site FROM counts WHERE site LIKE 'probe-%' "
                                           "AND granularity = 'day' AND dim = ''"):
                    seen.setdefault(site, time.time())
            except sqlite3.OperationalError:
                pass
            if stop.is_set() and time.time() > stop_time + 10:
                break
            time.sleep(0.01)
        con.close()

    def visible(site):
        try:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
            try:
                return con.execute("SELECT 1 FROM counts WHERE site = ?", (site,)).fetchone()
            finally:
                con.close()
        except sqlite3.OperationalError:
            return None

    try:
        # Steady state only: the worker has joined its group and counts (one
        # event seen through), and the load runs a second before the probes.
        post(url, [event("warm-up", 0)])
        deadline = time.time() + 60
        while not visible("warm-up"):
            if time.time() > deadline:
                sys.exit("e2e: the aggregator counted nothing within 60 s")
            time.sleep(0.1)
        threads = 4
        loaders = [threading.Thread(target=load, args=(threads,)) for _ in range(threads)]
        watcher = threading.Thread(target=watch)
        for t in loaders:
            t.start()
        time.sleep(1)
        watcher.start()
        probes()
        stop_time = time.time()
        stop.set()
        for t in loaders:
            t.join()
        watcher.join()
        lat = sorted((seen[s] - sent[s]) * 1000 for s in sent if s in seen)
        if len(lat) < len(sent):
            sys.exit("e2e: %d of %d probes never became visible" % (len(sent) - len(lat), len(sent)))
        print("p50_ms %.0f p95_ms %.0f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.95)]))
    finally:
        stop_all([agg, ingest, broker])


def exported(out):
    total = 0
    for path in glob.glob(os.path.join(out, "_state", "*.ledger")):
        with open(path) as f:
            total += max(json.load(f)["next"], 0)
    return total


def export(build, d, count):
    out = os.path.join(d, "export")
    broker, brokers = devbroker(build, d)
    try:
        prefill(build, brokers, count)
        p = start([build + "/activity-export", "--brokers", brokers, "--out", out,
                   "--metrics-listen", "127.0.0.1:0", "--log-level", "warn"],
                  os.path.join(d, "export.log"))[0]
        t0 = first = None
        n, deadline = 0, time.time() + 300
        while time.time() < deadline:
            n = exported(out)
            if n and t0 is None:
                t0, first = time.time(), n
            if n >= count:
                break
            time.sleep(0.02)
        stop_all([p])  # publishes the open files
        for day in sorted({os.path.basename(x)[3:] for x in glob.glob(out + "/type=*/dt=*")}):
            subprocess.run([build + "/activity-export", "close", "--out", out, "--date", day,
                            "--log-level", "warn"], check=True, stdout=subprocess.DEVNULL)
        t1 = time.time()
        if n < count:
            sys.exit("export: only %d of %d events written" % (n, count))
        ndjson = os.path.join(d, "export.ndjson")
        with open(ndjson, "wb") as f:
            for path in glob.glob(out + "/type=*/dt=*/hour=*/*.gz"):
                with gzip.open(path) as g:
                    f.write(g.read())
        g0 = time.time()
        subprocess.run(["gzip", "-1", "-c", ndjson], check=True, stdout=subprocess.DEVNULL)
        g1 = time.time()
        print("events/s %.0f gzip1_events/s %.0f" % ((count - first) / (t1 - t0), count / (g1 - g0)))
    finally:
        stop_all([broker])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "consume":
        consume(args[0], args[1], int(args[2]))
    elif cmd == "rate":
        rate(args[0], args[1], int(args[2]), int(args[3]))
    elif cmd == "e2e":
        e2e(args[0], args[1], float(args[2]), int(args[3]))
    elif cmd == "export":
        export(args[0], args[1], int(args[2]))
    else:
        sys.exit(__doc__)
