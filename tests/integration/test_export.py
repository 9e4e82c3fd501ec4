# SPDX-License-Identifier: Apache-2.0
"""activity-export end to end: canonical events produced straight to the
topics (their received_at spanning a day boundary, which ingest's clock
cannot give), the exporter killed with -9 again and again mid-stream, the
days closed and verified, and loaded into a real PostgreSQL with
scripts/load-postgres.sh: every event exactly once."""

import csv
import datetime
import glob
import gzip
import io
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import BUILD, Stack, start, stop  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXPORT = BUILD + "/activity-export"
GROUP_OPTS = ("-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500")


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def canonical(type_, received_ms, text=None):
    """A canonical event as ingest writes it (field order included)."""
    e = {"type": type_, "event_id": str(uuid.uuid4()), "site": "shop.test",
         "anonymous_id": "v-%d" % random.randrange(5000), "url": "https://shop.test/p/1",
         "ts": iso(received_ms - 5), "client_ts": iso(received_ms - 5),
         "received_at": iso(received_ms)}
    if type_ == "click":
        e["target"] = text or "buy"
    if type_ == "search":
        e["query"] = text or "red shoes"
        e["results"] = 3
    e.update(user_agent="Mozilla/5.0 test", ip="127.0.0.0", bot=False)
    return e


def day_start_ms(days_ago):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    d = today - datetime.timedelta(days=days_ago)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc)
               .timestamp() * 1000)


def exported_rows(out, pattern="*.ndjson.gz"):
    rows = []
    for path in glob.glob(os.path.join(out, "type=*", "dt=*", "hour=*", pattern)):
        with gzip.open(path, "rt") as f:
            rows.extend(json.loads(line) for line in f)
    return rows


def ledgers(out):
    result = {}
    for path in glob.glob(os.path.join(out, "_state", "*.ledger")):
        with open(path) as f:
            led = json.load(f)
        result[(led["topic"], led["partition"])] = led["next"]
    return result


def high_watermarks(stack, types):
    out = subprocess.run([BUILD + "/tests/topic-dump", stack.brokers,
                          *["activity." + t for t in types]], capture_output=True, timeout=120,
                         check=True)
    high = {}
    for line in out.stdout.decode().splitlines():
        m = json.loads(line)
        key = (m["topic"], m["partition"])
        high[key] = max(high.get(key, 0), m["offset"] + 1)
    return high


def wait_caught_up(tc, out, high, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        led = ledgers(out)
        if all(led.get(k, -1) >= v for k, v in high.items()):
            return
        time.sleep(0.5)
    tc.fail("the exporter did not catch up: ledgers %s, end offsets %s" % (ledgers(out), high))


def run_export(stack, out, *extra):
    stack.exporters = getattr(stack, "exporters", 0) + 1
    return start([EXPORT, "--brokers", stack.brokers, "--out", out,
                  "--metrics-listen", "127.0.0.1:0", "--flush-ms", "200", *GROUP_OPTS, *extra],
                 stack.path("export-%d.log" % stack.exporters))


def tool(*args):
    return subprocess.run([EXPORT, *args], capture_output=True, text=True, timeout=300)


class Postgres:
    """A throwaway PostgreSQL server on a loopback port, in a temporary
    directory, run as the postgres user when the tests run as root (initdb
    refuses root). Stopped by pid through the harness."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not bins:
            raise unittest.SkipTest("PostgreSQL server is not installed (scripts/install-deps.sh)")
        bindir = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="activity-pg-")
        self.as_user = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = pw
        data = os.path.join(self.dir, "data")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        subprocess.run([bindir + "/initdb", "-D", data, "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True,
                       preexec_fn=self._demote)
        with open(os.path.join(self.dir, "postgres.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [bindir + "/postgres", "-D", data, "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=self._demote)
        harness._children.append(self.proc)
        self.dsn = "host=127.0.0.1 port=%d user=postgres dbname=postgres" % self.port
        for _ in range(100):
            if subprocess.run(["psql", self.dsn, "-c", "select 1"], capture_output=True) \
                    .returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not start; see %s/postgres.log" % self.dir)

    def _demote(self):
        if self.as_user:
            os.setgid(self.as_user.pw_gid)
            os.setuid(self.as_user.pw_uid)

    def query(self, sql):
        out = subprocess.run(["psql", self.dsn, "-X", "-At", "-c", sql], capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()

    def close(self):
        stop(self.proc, sig=signal.SIGINT)  # fast shutdown
        shutil.rmtree(self.dir, ignore_errors=True)


class ExactlyOnceAcrossKills(unittest.TestCase):
    def test_kill_9_close_verify_and_load_into_postgres(self):
        stack = Stack()
        self.addCleanup(stack.close)
        out = stack.path("export")
        # 100,000 events over 22:00 .. 02:00 around the boundary between
        # two past days (so both can be closed), in received_at order.
        day1 = day_start_ms(3)
        start_ms = day1 + 22 * 3600 * 1000
        total, types = 100_000, ["pageview", "click", "search"]
        step = 4 * 3600 * 1000 / total
        events = [canonical(types[i % 3], int(start_ms + i * step)) for i in range(total)]
        sent = {e["event_id"] for e in events}
        self.assertEqual(len(sent), total)
        by_type = {t: [json.dumps(e, separators=(",", ":")) for e in events if e["type"] == t]
                   for t in types}
        # three lines that are not canonical events, mid-stream
        by_type["click"].insert(1000, "not json at all")
        by_type["click"].insert(20000, '{"type":"search"}')
        by_type["search"].insert(5000, '{"type":"search","event_id":1}')

        produce_errors = []

        def produce():
            try:
                for chunk in range(10):
                    for t in types:
                        lines = by_type[t]
                        n = len(lines) // 10 + 1
                        stack.produce_raw(t, lines[chunk * n:(chunk + 1) * n])
                    time.sleep(0.3)
            except Exception as e:  # reported by the test thread below
                produce_errors.append(e)

        producer = threading.Thread(target=produce)
        producer.start()
        rnd = random.Random(7)
        kills = 0
        while producer.is_alive() or kills < 6:
            p, _ = run_export(stack, out, "--max-age", "2")
            time.sleep(rnd.uniform(0.8, 2.5))
            stop(p, sig=signal.SIGKILL)
            kills += 1
        producer.join()
        self.assertEqual(produce_errors, [])
        self.assertGreaterEqual(kills, 5)

        p, metrics_url = run_export(stack, out, "--max-age", "2")
        high = high_watermarks(stack, types)
        wait_caught_up(self, out, high)
        # Files a killed exporter left open are published by the partition's
        # next owner: wait until this one owns every partition.
        deadline = time.time() + 60
        while time.time() < deadline:
            with urllib.request.urlopen(metrics_url, timeout=10) as r:
                if "activity_export_assigned_partitions %d\n" % len(high) in r.read().decode():
                    break
            time.sleep(0.2)
        else:
            self.fail("the last exporter never got every partition")
        with urllib.request.urlopen(metrics_url, timeout=10) as r:
            metrics = r.read().decode()
        self.assertRegex(metrics, r"activity_export_rows_total \d+")
        self.assertIn("activity_export_lag_messages{", metrics)
        self.assertEqual(stop(p), 0)
        skipped = []
        for i in range(1, stack.exporters + 1):
            with open(stack.path("export-%d.log" % i)) as f:
                skipped += re.findall(r"skipping (activity\.\w+ \[\d+\] offset \d+)", f.read())
        self.assertEqual(len(set(skipped)), 3, skipped)

        rows = exported_rows(out)
        ids = [r["event_id"] for r in rows]
        self.assertEqual(len(ids), total, "every event exported once (%d rows)" % len(ids))
        self.assertEqual(set(ids), sent)
        self.assertEqual(os.listdir(os.path.join(out, "_tmp")), [], "nothing left unpublished")
        for path in glob.glob(os.path.join(out, "type=*", "dt=*", "hour=*", "*.gz")):
            hour = re.search(r"dt=(\d{4}-\d\d-\d\d)/hour=(\d\d)", path)
            with gzip.open(path, "rt") as f:
                for line in f:
                    self.assertEqual(json.loads(line)["received_at"][:13],
                                     hour.group(1) + "T" + hour.group(2), path)

        dates = sorted({r["received_at"][:10] for r in rows})
        self.assertEqual(len(dates), 2)
        for d in dates:
            r = tool("close", "--out", out, "--date", d)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = tool("verify", "--out", out, "--date", d)
            self.assertEqual(r.returncode, 0, r.stderr)
            for t in types:
                with open(os.path.join(out, "type=" + t, "dt=" + d, "_manifest.json")) as f:
                    m = json.load(f)
                self.assertEqual(m["schema"], "activity/%s/1" % t)
                self.assertEqual(m["rows"], sum(1 for r in rows if r["type"] == t
                                                and r["received_at"][:10] == d))
                self.assertEqual(m["rows"], sum(f["rows"] for f in m["files"]))
                self.assertTrue(os.path.exists(os.path.join(out, "type=" + t, "dt=" + d,
                                                            "_SUCCESS")))

        pg = Postgres()
        self.addCleanup(pg.close)
        loader = os.path.join(ROOT, "scripts", "load-postgres.sh")
        for attempt in range(2):  # the second load must change nothing
            for d in dates:
                r = subprocess.run([loader, out, d, pg.dsn], capture_output=True, text=True,
                                   timeout=300)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("NOTICE", r.stdout + r.stderr)  # quiet when all is well
            self.assertEqual(pg.query("select count(*) from activity_events"), str(total))
            self.assertEqual(pg.query("select count(distinct event_id) from activity_events"),
                             str(total))
        self.assertEqual(pg.query("select count(*) from activity_events where dt = '%s'"
                                  % dates[0]),
                         str(sum(1 for r in rows if r["received_at"][:10] == dates[0])))
        # a day that is not closed is refused
        os.remove(os.path.join(out, "type=click", "dt=" + dates[1], "_SUCCESS"))
        r = subprocess.run([loader, out, dates[1], pg.dsn], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not closed", r.stderr)

        # verify finds a truncated file, a changed byte and a missing file
        intact = stack.path("intact")
        shutil.copytree(out, intact)
        r = tool("close", "--out", intact, "--date", dates[1])
        self.assertEqual(r.returncode, 0, r.stderr)
        for damage in ("truncate", "flip", "remove"):
            copy = stack.path("damaged-" + damage)
            shutil.copytree(intact, copy)
            victim = sorted(glob.glob(os.path.join(copy, "type=search", "dt=" + dates[0],
                                                   "hour=*", "*.gz")))[0]
            size = os.path.getsize(victim)
            if damage == "truncate":
                os.truncate(victim, size // 2)
            elif damage == "flip":
                with open(victim, "r+b") as f:
                    f.seek(size // 2)
                    b = f.read(1)
                    f.seek(size // 2)
                    f.write(bytes([b[0] ^ 0x20]))
            else:
                os.remove(victim)
            r = tool("verify", "--out", copy, "--date", dates[0])
            self.assertEqual(r.returncode, 1, damage)
            self.assertIn(os.path.basename(victim), r.stderr, damage)
            self.assertEqual(tool("verify", "--out", copy, "--date", dates[1]).returncode, 0)


class Formats(unittest.TestCase):
    def test_csv_is_rfc4180_with_header_and_json_props(self):
        stack = Stack(partitions=2)
        self.addCleanup(stack.close)
        out = stack.path("export")
        t0 = day_start_ms(2) + 3600 * 1000
        awkward = ['comma, inside', 'quote " inside', 'unicode ünï €', 'plain']
        events = [canonical("click", t0 + i, text=awkward[i % 4]) for i in range(200)]
        events[0]["props"] = {"plan": "pro", "n": 2}
        stack.produce_raw("click", [json.dumps(e, separators=(",", ":")) for e in events])
        p, _ = run_export(stack, out, "--format", "csv")
        wait_caught_up(self, out, high_watermarks(stack, ["click"]))
        self.assertEqual(stop(p), 0)
        rows = []
        for path in glob.glob(os.path.join(out, "type=click", "dt=*", "hour=*", "*.csv.gz")):
            with gzip.open(path, "rt", newline="") as f:
                rows.extend(csv.DictReader(f))
        self.assertEqual(len(rows), 200)
        got = {r["event_id"]: r for r in rows}
        for e in events:
            self.assertEqual(got[e["event_id"]]["target"], e["target"])
            self.assertEqual(got[e["event_id"]]["bot"], "false")
        self.assertEqual(json.loads(got[events[0]["event_id"]]["props"]), events[0]["props"])
        d = iso(t0)[:10]
        self.assertEqual(tool("close", "--out", out, "--date", d, "--format", "csv").returncode, 0)
        r = tool("verify", "--out", out, "--date", d, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)


class Failures(unittest.TestCase):
    def test_unwritable_directory_holds_consumption_and_loses_nothing(self):
        stack = Stack(partitions=2)
        self.addCleanup(stack.close)
        out = stack.path("export")
        os.makedirs(out)
        with open(os.path.join(out, "_tmp"), "w") as f:  # a file where a directory must go
            f.write("in the way")
        t0 = day_start_ms(1)
        events = [canonical("pageview", t0 + i) for i in range(500)]
        stack.produce_raw("pageview", [json.dumps(e) for e in events])
        p, metrics_url = run_export(stack, out)
        deadline = time.time() + 30
        while time.time() < deadline:
            with urllib.request.urlopen(metrics_url, timeout=10) as r:
                if "activity_export_write_failing 1" in r.read().decode():
                    break
            time.sleep(0.2)
        else:
            self.fail("write_failing never became 1")
        for _ in range(50):  # the log line follows the metric closely
            with open(stack.path("export-1.log")) as f:
                if "retrying" in f.read():
                    break
            time.sleep(0.1)
        else:
            self.fail("no log line says the writes fail")
        self.assertIsNone(p.poll(), "the exporter must wait, not exit")
        os.remove(os.path.join(out, "_tmp"))
        wait_caught_up(self, out, high_watermarks(stack, ["pageview"]))
        with urllib.request.urlopen(metrics_url, timeout=10) as r:
            self.assertIn("activity_export_write_failing 0", r.read().decode())
        self.assertEqual(stop(p), 0)
        self.assertEqual(sorted(r["event_id"] for r in exported_rows(out)),
                         sorted(e["event_id"] for e in events))

    def test_bad_arguments(self):
        r = tool("verify", "--out", "/nonexistent", "--date", "2026-13-01")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--date wants YYYY-MM-DD", r.stderr)
        r = tool("verify", "--out", "/nonexistent", "--date", "2026-01-01")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no files for 2026-01-01", r.stderr)
        r = subprocess.run([EXPORT, "--format", "xml"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("format", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
