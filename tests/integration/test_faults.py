# SPDX-License-Identifier: Apache-2.0
"""Faults: Kafka brokers going away mid-stream, and SIGTERM under load.
What must hold: every event answered 200 is in Kafka exactly once; only
events answered 503 (or never answered) may be missing."""

import http.client
import json
import os
import signal
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import Stack, event, stop  # noqa: E402


class Load:
    """Bounded client load: `workers` threads POST batches of `batch`
    events with fresh event_ids on keep-alive connections until stopped or
    `max_seconds` passed. Records each request's status and event_ids."""

    def __init__(self, stack, workers=4, batch=5, max_seconds=60):
        self.stack, self.batch, self.deadline = stack, batch, time.time() + max_seconds
        self.results = []  # (status or exception name, [event_id...])
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(workers)]

    def run(self, n):
        conn = None
        while not self.stopping.is_set() and time.time() < self.deadline:
            events = [event(["pageview", "click", "search"][k % 3], event_id=str(uuid.uuid4()),
                            anonymous_id="load-%d-%d" % (n, k)) for k in range(self.batch)]
            ids = [e["event_id"] for e in events]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.stack.host, self.stack.port, timeout=30)
                conn.request("POST", "/v1/events", json.dumps(events),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.05)
            with self.lock:
                self.results.append((status, ids))
        if conn:
            conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join()

    def ids_with(self, status):
        return [i for s, ids in self.results if s == status for i in ids]


def count_in_kafka(stack):
    counts = {}
    for m in stack.dump("pageview", "click", "search"):
        eid = m["event"]["event_id"]
        counts[eid] = counts.get(eid, 0) + 1
    return counts


class BrokersDown(unittest.TestCase):
    def test_acknowledged_events_survive_an_outage_exactly_once(self):
        st = Stack()
        try:
            with Load(st) as load:
                time.sleep(3)
                st.devbroker.send_signal(signal.SIGUSR1)  # every broker down
                time.sleep(6)                             # > --ack-timeout 3 s
                st.devbroker.send_signal(signal.SIGUSR2)  # back up
                time.sleep(6)
            ok, unavailable = load.ids_with(200), load.ids_with(503)
            others = {s for s, _ in load.results if s not in (200, 503)}
            self.assertEqual(others, set(), "unexpected answers during the outage")
            self.assertGreater(len(unavailable), 0, "the outage produced no 503: no fault happened")
            ok_after = [s for s, _ in load.results[-20:] if s == 200]
            self.assertGreater(len(ok_after), 0, "ingest did not recover after the brokers came back")
            counts = count_in_kafka(st)
            missing = [i for i in ok if i not in counts]
            dup = [i for i in ok if counts.get(i, 0) > 1]
            self.assertEqual(missing, [], "%d acknowledged events lost" % len(missing))
            self.assertEqual(dup, [], "%d acknowledged events duplicated" % len(dup))
            self.assertFalse([i for i in unavailable if counts.get(i, 0) > 1])
            print("\n  outage: %d events acknowledged, %d answered 503 (of which %d reached Kafka)"
                  % (len(ok), len(unavailable), sum(1 for i in unavailable if i in counts)))
        finally:
            codes = st.close()
        self.assertEqual(codes["ingest"], 0)


class AckDeadline(unittest.TestCase):
    def test_every_answer_comes_at_the_ack_timeout(self):
        # librdkafka reported its own timeout 5-14 s after a 5 s deadline;
        # the collector's deadline answers instead (the latency is printed,
        # not asserted: the answer's text says which path answered)
        st = Stack(partitions=2, brokers=1, ingest_args=("--ack-timeout", "1000"))
        try:
            self.assertEqual(st.post_events(event())[0], 200)
            st.devbroker.send_signal(signal.SIGUSR1)  # every broker down
            # the devbroker applies the signal on its next turn: down once a
            # request is refused
            deadline = time.time() + 60
            while st.post_events(event())[0] != 503:
                self.assertLess(time.time(), deadline, "the brokers never went down")
            took = []
            for _ in range(8):
                t = time.time()
                s, h, b = st.post_events(event())
                took.append(time.time() - t)
                self.assertEqual(s, 503, b)
                self.assertEqual(h["retry-after"], "2")
                self.assertIn("within --ack-timeout (1000 ms)", b["error"])
            st.devbroker.send_signal(signal.SIGUSR2)
            deadline = time.time() + 60
            while st.post_events(event())[0] != 200:
                self.assertLess(time.time(), deadline, "ingest did not recover")
            print("\n  --ack-timeout 1000 with the brokers down: answers after %.2f-%.2f s"
                  % (min(took), max(took)))
            # each librdkafka error once (its own log line), a refused
            # connection as a warning
            log = st.ingest_log()
            self.assertIn("WARN librdkafka activity-ingest#producer-1 FAIL", log)
            self.assertNotIn("ERROR librdkafka activity-ingest#producer-1 FAIL", log)
            self.assertNotIn("Kafka: _TRANSPORT", log)
        finally:
            codes = st.close()
        self.assertEqual(codes["ingest"], 0)


class SigtermUnderLoad(unittest.TestCase):
    def test_every_acknowledged_event_is_in_kafka_after_sigterm(self):
        st = Stack()
        try:
            with Load(st, workers=6) as load:
                time.sleep(3)
                code = stop(st.ingest, signal.SIGTERM)
                st.ingest = None
                time.sleep(0.5)
            self.assertEqual(code, 0, "ingest did not exit cleanly:\n" + st.ingest_log()[-2000:])
            ok = load.ids_with(200)
            self.assertGreater(len(ok), 100)
            counts = count_in_kafka(st)
            missing = [i for i in ok if i not in counts]
            self.assertEqual(missing, [], "%d acknowledged events lost" % len(missing))
            self.assertEqual([i for i in ok if counts[i] > 1], [])
            statuses = {s for s, _ in load.results}
            self.assertTrue(statuses <= {200, 503, "ConnectionRefusedError", "RemoteDisconnected",
                                         "ConnectionResetError", "BrokenPipeError"}, statuses)
            print("\n  sigterm: %d events acknowledged before shutdown, all in Kafka" % len(ok))
        finally:
            st.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
