# SPDX-License-Identifier: Apache-2.0
"""activity-aggregator end to end: events through ingest into Kafka, workers
in one consumer group into one SQLite file. The expected counters are
computed here, independently, from the events that ingest acknowledged;
the database must match them exactly (uniques within 2 %), whatever
workers join, leave or are killed on the way."""

import collections
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import Stack, event, stop  # noqa: E402

GROUP_OPTS = ("-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500")
HUMAN_UA, BOT_UA = "Mozilla/5.0 (X11; Linux x86_64) test", "Googlebot/2.1 (+http://www.google.com/bot.html)"


class Traffic:
    """Mixed events over two sites, a few thousand visitors and the last
    three hours, and the counters they must produce."""

    def __init__(self, seed, visitors=4000):
        self.rnd = random.Random(seed)
        self.visitors = ["v%05d" % i for i in range(visitors)]
        self.now_ms = int(time.time() * 1000)
        self.counts = {False: collections.Counter(), True: collections.Counter()}  # by bot
        self.uniques = collections.defaultdict(set)
        self.lock = threading.Lock()

    def batch(self, n):
        evs = []
        for _ in range(n):
            r = self.rnd
            site = r.choice(["shop.test", "blog.test"])
            e = {"type": r.choice(["pageview", "pageview", "click", "search"]), "site": site,
                 "anonymous_id": r.choice(self.visitors), "event_id": str(uuid.uuid4()),
                 "url": "https://%s/p/%d?ref=x" % (site, r.randrange(20)),
                 "ts": self.now_ms - r.randrange(3 * 3600 * 1000)}
            if e["type"] == "click":
                e["target"] = "btn-%d" % r.randrange(10)
            elif e["type"] == "search":
                e["query"] = "q%d" % r.randrange(15)
                e["results"] = r.choice([0, 1, 5])
            evs.append(e)
        return evs

    def record(self, events, bot):
        """Counts acknowledged events the way the aggregator must."""
        with self.lock:
            for e in events:
                dim = {"pageview": e["url"].split(e["site"], 1)[1].split("?")[0],
                       "click": e.get("target"), "search": e.get("query")}[e["type"]]
                s = e["ts"] // 1000
                types = [e["type"]] + (["zero_result_search"] if e.get("results") == 0 else [])
                for gran, size in (("minute", 60), ("hour", 3600), ("day", 86400)):
                    b = s - s % size
                    for t in types:
                        self.counts[bot][(e["site"], t, gran, b, "")] += 1
                        self.counts[bot][(e["site"], t, gran, b, dim)] += 1
                    if not bot:
                        self.uniques[(e["site"], gran, b)].add(e["anonymous_id"])

    def total(self, bot):
        return sum(n for (site, t, g, b, d), n in self.counts[bot].items()
                   if g == "day" and d == "" and t != "zero_result_search")


def send(stack, traffic, batches, size=100, threads=4, resend_every=50):
    """Posts batches through ingest, retrying a 503 with the same event_ids,
    and resending every resend_every-th batch once more (client retries that
    must count once). Records only what ingest acknowledged."""
    todo = list(range(batches))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
                events = traffic.batch(size)
            bot = i % 10 == 0
            body = json.dumps(events).encode()
            for attempt in range(2 if i % resend_every == 0 else 1):
                while True:
                    status, _, _ = stack.request("POST", "/v1/events", body, {
                        "Content-Type": "application/json", "User-Agent": BOT_UA if bot else HUMAN_UA})
                    if status == 200:
                        break
                    assert status == 503, status
                    time.sleep(0.2)
            traffic.record(events, bot)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    return ts


def db_rows(db, view):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return {tuple(r[:5]): r[5] for r in con.execute(
            "SELECT site, type, granularity, bucket, dim, n FROM %s" % view)}
    finally:
        con.close()


def db_total(db, view):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
        try:
            return con.execute("SELECT coalesce(sum(n), 0) FROM %s WHERE granularity = 'day' "
                               "AND dim = '' AND type != 'zero_result_search'" % view).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def wait_for_totals(tc, db, traffic, timeout=180):
    want = (traffic.total(False), traffic.total(True))
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = (db_total(db, "counts"), db_total(db, "bot_counts"))
        if got == want:
            return
        tc.assertTrue(got[0] <= want[0] and got[1] <= want[1], "counted more than sent: %s > %s" % (got, want))
        time.sleep(0.5)
    tc.fail("counters did not reach %s within %d s (have %s)" % (want, timeout, got))


def check_exact(tc, db, traffic):
    for bot, view in ((False, "counts"), (True, "bot_counts")):
        got, want = db_rows(db, view), dict(traffic.counts[bot])
        missing = {k: v for k, v in want.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if k not in want}
        tc.assertEqual(missing, {}, "%s: %d counters differ, e.g. %s" % (view, len(missing), list(missing.items())[:3]))
        tc.assertEqual(extra, {}, "%s: unexpected counters" % view)
    con = sqlite3.connect(db)
    est = {(s, g, b): e for s, g, b, e in con.execute("SELECT site, granularity, bucket, estimate FROM uniques")}
    con.close()
    tc.assertEqual(set(est), set(traffic.uniques))
    worst = 0.0
    for k, visitors in traffic.uniques.items():
        n = len(visitors)
        err = abs(est[k] - n)
        if n >= 1000:  # where a relative bound means something: the 2 % target
            worst = max(worst, err / n)
            tc.assertLessEqual(err, 0.02 * n, "uniques %s: estimate %d, true %d" % (k, est[k], n))
        else:
            # Small sets are in HyperLogLog's linear-counting range: the error
            # is register collisions, Poisson with mean n^2 / 2m (0.6 at n=141,
            # m=16384); over hundreds of minute buckets a few are expected.
            tc.assertLessEqual(err, max(0.02 * n, 8), "uniques %s: estimate %d, true %d" % (k, est[k], n))
    return worst


def metric(url, name):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric %s" % name)


class GroupRebalance(unittest.TestCase):
    def test_counters_exact_while_workers_join_and_leave(self):
        st = Stack(partitions=6)
        db = st.path("counters.db")
        traffic = Traffic(seed=1)
        try:
            workers = [st.start_aggregator(db, *GROUP_OPTS) for _ in range(3)]
            senders = send(st, traffic, batches=1000)  # 100,000 events
            time.sleep(2)
            workers.append(st.start_aggregator(db, *GROUP_OPTS))   # a fourth joins
            time.sleep(2)
            self.assertEqual(stop(workers.pop(0)), 0)              # one leaves
            for t in senders:
                t.join()
            self.assertGreaterEqual(traffic.total(False) + traffic.total(True), 100000)
            wait_for_totals(self, db, traffic)
            for w in workers:
                self.assertEqual(stop(w), 0)
            worst = check_exact(self, db, traffic)
            print("\n  %d events (%d from bots) counted exactly; worst uniques error %.2f %% (buckets of >= 1000)"
                  % (traffic.total(False) + traffic.total(True), traffic.total(True), worst * 100))
        finally:
            st.close()


class KilledWorkers(unittest.TestCase):
    def test_counters_exact_after_kill_9_and_restart(self):
        st = Stack(partitions=6)
        db = st.path("counters.db")
        traffic = Traffic(seed=2)
        rnd = random.Random(3)
        try:
            workers = [st.start_aggregator(db, *GROUP_OPTS) for _ in range(3)]
            senders = send(st, traffic, batches=600, threads=2)
            kills = 0
            while kills < 6:
                time.sleep(rnd.uniform(0.3, 1.5))
                i = rnd.randrange(len(workers))
                stop(workers[i], signal.SIGKILL)
                workers[i] = st.start_aggregator(db, *GROUP_OPTS)
                kills += 1
            for t in senders:
                t.join()
            wait_for_totals(self, db, traffic)
            for w in workers:
                self.assertEqual(stop(w), 0)
            check_exact(self, db, traffic)
            print("\n  %d kill -9s; %d events counted exactly" % (kills, traffic.total(False) + traffic.total(True)))
        finally:
            st.close()


def stored_offsets(db):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
        try:
            return {(t, p): n for t, p, n in
                    con.execute("SELECT topic, partition, next_offset FROM kafka_offsets")}
        finally:
            con.close()
    except sqlite3.OperationalError:
        return {}


class Recovery(unittest.TestCase):
    """A worker killed with -9 and restarted at once, with the default
    timeouts (no -X): the time until every partition's stored offset
    advances again is printed (not asserted), and the counts are exact."""

    def test_kill_9_and_restart_with_default_timeouts(self):
        st = Stack(partitions=3, brokers=1)
        db = st.path("counters.db")
        traffic = Traffic(seed=5, visitors=200)
        stopping = threading.Event()

        def trickle():  # a small batch every 50 ms, on every partition
            while not stopping.is_set():
                events = traffic.batch(30)
                status, _, _ = st.request("POST", "/v1/events", json.dumps(events).encode(), {
                    "Content-Type": "application/json", "User-Agent": HUMAN_UA})
                if status == 200:
                    traffic.record(events, False)
                time.sleep(0.05)
        try:
            w1, url1 = st.start_aggregator_with_url(db)
            w2, url2 = st.start_aggregator_with_url(db)
            sender = threading.Thread(target=trickle)
            sender.start()
            deadline = time.time() + 90
            while len(stored_offsets(db)) < 9 or \
                    metric(url1, "activity_aggregator_assigned_partitions") == 0 or \
                    metric(url2, "activity_aggregator_assigned_partitions") == 0:
                self.assertLess(time.time(), deadline, "the two workers never shared the work")
                time.sleep(0.2)
            stop(w1, signal.SIGKILL)
            killed_at, before = time.time(), stored_offsets(db)
            w1 = st.start_aggregator(db)
            while True:
                now = stored_offsets(db)
                if all(now[k] > before[k] for k in before):
                    recovered = time.time() - killed_at
                    break
                self.assertLess(time.time(), killed_at + 120, "partitions never moved again")
                time.sleep(0.1)
            stopping.set()
            sender.join()
            wait_for_totals(self, db, traffic)
            self.assertEqual(stop(w1), 0)
            self.assertEqual(stop(w2), 0)
            check_exact(self, db, traffic)
            print("\n  kill -9 + restart of 1 of 2 workers (default timeouts, no instance id): "
                  "every partition moving again after %.1f s" % recovered)
        finally:
            stopping.set()
            st.close()


class OffsetBeyondEnd(unittest.TestCase):
    """A counters file that has read further than the topics now go (topics
    deleted and created again; here a fresh devbroker): no silent skip."""

    def test_held_then_reset_to_earliest(self):
        keep = tempfile.TemporaryDirectory(prefix="activity-test-db-")
        db = os.path.join(keep.name, "counters.db")
        events = [event(t, anonymous_id="old-%d" % i, ts=int(time.time() * 1000))
                  for i, t in enumerate(["pageview", "click", "search"] * 4)]
        st = Stack(partitions=1, brokers=1)
        try:
            w = st.start_aggregator(db)
            self.assertEqual(st.post_events(events)[0], 200)
            deadline = time.time() + 60
            while db_total(db, "counts") != 12:
                self.assertLess(time.time(), deadline)
                time.sleep(0.2)
            self.assertEqual(stop(w), 0)
        finally:
            st.close()
        st = Stack(partitions=1, brokers=1)  # the same topics, new and empty
        try:
            w, url = st.start_aggregator_with_url(db)
            deadline = time.time() + 60
            while metric(url, "activity_aggregator_partitions_held") != 3:
                self.assertLess(time.time(), deadline, "the partitions were not held")
                time.sleep(0.2)
            try:
                urllib.request.urlopen(url.replace("/metrics", "/readyz"), timeout=10)
                self.fail("ready while holding partitions")
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 503)
                self.assertIn("3 partitions held", json.loads(e.read())["error"])
            with open(st.path("aggregator-1.log")) as f:
                log = f.read()
            self.assertIn("ERROR activity.pageview [0]: the stored offset 4 is beyond the "
                          "partition's log end 0", log)
            new = [event(t, anonymous_id="new-%d" % i, ts=int(time.time() * 1000))
                   for i, t in enumerate(["pageview", "click", "search"])]
            self.assertEqual(st.post_events(new)[0], 200)
            self.assertEqual(stop(w), 0)
            # held partitions are not assigned at all, so nothing was read
            with open(st.path("aggregator-1.log")) as f:
                self.assertIn("stopped: 0 events counted", f.read())
            self.assertEqual(db_total(db, "counts"), 12)
            # the operator decides: count the new log from its start
            w, url = st.start_aggregator_with_url(db, "--offset-beyond-end", "earliest")
            while db_total(db, "counts") != 15:
                self.assertLess(time.time(), deadline + 60, "the new events were not counted")
                time.sleep(0.2)
            self.assertEqual(metric(url, "activity_aggregator_partitions_held"), 0)
            self.assertEqual(urllib.request.urlopen(url.replace("/metrics", "/readyz"),
                                                    timeout=10).status, 200)
            self.assertEqual(stop(w), 0)
            with open(st.path("aggregator-2.log")) as f:
                self.assertIn("moved to 0 (--offset-beyond-end earliest)", f.read())
            self.assertEqual(stored_offsets(db)[("activity.pageview", 0)], 1)
        finally:
            st.close()
            keep.cleanup()


class BadMessagesAndRetries(unittest.TestCase):
    def test_malformed_messages_are_skipped_and_counted(self):
        st = Stack(partitions=2, brokers=1)
        db = st.path("counters.db")
        traffic = Traffic(seed=4, visitors=50)
        try:
            w, metrics_url = st.start_aggregator_with_url(db)
            garbage = ["not json", "{}", '{"type":"pageview"}', "[1,2,3]",
                       json.dumps({"type": "pageview", "event_id": "x" * 36, "site": "s",
                                   "anonymous_id": "a", "ts": "yesterday", "received_at": "now",
                                   "bot": False, "url": "https://s/"})]
            st.produce_raw("pageview", garbage)
            st.produce_raw("click", ["\x00\x01binary"])
            for t in send(st, traffic, batches=5, size=20, threads=1, resend_every=1):
                t.join()  # every batch sent twice: each event must count once
            wait_for_totals(self, db, traffic, timeout=60)
            self.assertEqual(metric(metrics_url, "activity_aggregator_skipped_total"), 6)
            self.assertEqual(metric(metrics_url, "activity_aggregator_dedup_ids"), 100)
            self.assertGreaterEqual(metric(metrics_url, "activity_aggregator_stores_total"), 1)
            self.assertGreater(metric(metrics_url, "activity_aggregator_store_seconds_total"), 0)
            self.assertEqual(stop(w), 0)
            check_exact(self, db, traffic)
            with open(st.path("aggregator-1.log")) as f:
                log = f.read()
            self.assertEqual(log.count("skipping activity."), 6, log[-2000:])
            self.assertIn("stopped: 100 events counted, 100 duplicates, 6 skipped", log)
        finally:
            st.close()

    def test_history_older_than_max_past_is_not_counted(self):
        # one event per past day (the attack that wrote 6,000 dense sketches)
        st = Stack(partitions=1, brokers=1)
        try:
            w, url = st.start_aggregator_with_url(st.path("c.db"))
            now = int(time.time() * 1000)
            events = [event(ts=now, anonymous_id="v-now")] + \
                [event(ts=n * 86400000 + 61000, anonymous_id="v%d" % n) for n in range(0, 400)]
            s, _, b = st.post_events(events)
            self.assertEqual(s, 200, b)
            self.assertEqual(b["accepted"], 401)
            # all accepted and exported; the answer says which are not counted
            self.assertEqual(b["not_counted"], list(range(1, 401)))
            deadline = time.time() + 60
            while metric(url, "activity_aggregator_too_old_total") != 400:
                self.assertLess(time.time(), deadline)
                time.sleep(0.2)
            while db_total(st.path("c.db"), "counts") != 1:
                self.assertLess(time.time(), deadline)
                time.sleep(0.2)
            con = sqlite3.connect(st.path("c.db"))
            oldest = con.execute("SELECT min(bucket) FROM counters").fetchone()[0]
            sketches = con.execute("SELECT count(*) FROM sketches").fetchone()[0]
            con.close()
            self.assertGreater(oldest, now // 1000 - 2 * 86400)
            self.assertLessEqual(sketches, 3)  # minute, hour, day of now
            self.assertEqual(stop(w), 0)
        finally:
            st.close()

    def test_sigterm_with_kafka_gone_exits_promptly(self):
        st = Stack(partitions=1, brokers=1)
        try:
            w = st.start_aggregator(st.path("c.db"))
            time.sleep(2)
            stop(st.devbroker, signal.SIGKILL)
            # a hang would be killed after 30 s by stop() and exit -9, not 0
            self.assertEqual(stop(w, timeout=30), 0)
        finally:
            st.close()

    def test_metrics_endpoint(self):
        st = Stack(partitions=1, brokers=1)
        try:
            p, url = st.start_aggregator_with_url(st.path("c.db"))
            # The assignment shows before any event: 3 topics of 1 partition.
            deadline = time.time() + 30
            while metric(url, "activity_aggregator_assigned_partitions") != 3:
                self.assertLess(time.time(), deadline, "assigned_partitions never reached 3")
                time.sleep(0.2)
            self.assertEqual(metric(url, "activity_aggregator_skipped_total"), 0)
            text = urllib.request.urlopen(url, timeout=10).read().decode()
            self.assertIn("activity_aggregator_flushes_total", text)
            self.assertIn('activity_aggregator_build_info{version="', text)
            for path in ("/healthz", "/readyz"):  # in the group, partitions assigned
                r = urllib.request.urlopen(url.replace("/metrics", path), timeout=10)
                self.assertEqual(r.status, 200, path)
            self.assertEqual(stop(p), 0)
        finally:
            st.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
