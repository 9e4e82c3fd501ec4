# SPDX-License-Identifier: Apache-2.0
"""activity-ingest under resource attacks from loopback: thousands of
trickling sockets (slowloris), idle sockets, unfinished bodies and a
shutdown with a slow client. Each asserts that a normal client is still
served, that the server closes what it must, and that memory stays under
the stated bound. Bounded in count and time; every process is stopped by
pid (harness). Latencies are printed for the record, never asserted."""

import http.client
import json
import os
import resource
import select
import signal
import socket
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Stack, event, start, stop  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

ASAN = "asan" in BUILD  # sanitizer builds have their own memory overhead
SLOW = 10000            # attacking sockets, the figure

# this process opens the attacking sockets: as many descriptors as allowed
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def metric(stack, name):
    s, _, body = stack.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def wait_for(what, cond, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def open_sockets(port, count, sources):
    """count non-blocking connections spread over the source addresses."""
    socks = []
    for i in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.bind((sources[i % len(sources)], 0))
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


def ready(socks, events):
    """The sockets of socks with any of events now (poll, no FD_SETSIZE)."""
    p = select.poll()
    by_fd = {}
    for s in socks:
        p.register(s, events)
        by_fd[s.fileno()] = s
    return [(by_fd[fd], ev) for fd, ev in p.poll(0)]


answered = {}  # socket -> what the server sent on it


def closed_by_server(socks):
    """The sockets of socks that the server closed or reset; a 503 it sent
    first counts as closed once the close follows."""
    closed = []
    for s, ev in ready(socks, select.POLLIN | select.POLLHUP | select.POLLERR):
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    closed.append(s)
                    break
                answered[s] = answered.get(s, b"") + data
        except BlockingIOError:
            pass
        except OSError:
            closed.append(s)
    return closed


class Served:
    """A normal client's request timings during an attack."""

    def __init__(self, stack):
        self.stack, self.times = stack, []

    def once(self):
        t = time.time()
        s, _, b = self.stack.post_events(event(), path="/v1/validate")
        self.times.append(time.time() - t)
        return s


class Slowloris(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # ingest starts with the common soft limit of 1,024 open files (and
        # this machine's hard limit): it must raise it to serve thousands
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, _hard))
        try:
            cls.stack = Stack(partitions=2, brokers=1, ingest_args=("--request-timeout", "4"))
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.close()
        assert codes["ingest"] == 0, codes

    def test_trickling_sockets_from_one_address(self):
        normal = Served(self.stack)
        socks = open_sockets(self.stack.port, SLOW, ["127.0.0.2"])
        try:
            live = list(socks)
            start = time.time()
            # one header byte per socket per second, until the server has
            # closed every one of them (per-address limit, then deadline)
            sent = 0
            while live and time.time() - start < 90:
                head = b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: "
                for s in live:
                    try:
                        s.send(head if sent == 0 else b"a")
                    except OSError:
                        pass
                sent += 1
                self.assertEqual(normal.once(), 200)
                time.sleep(1)
                gone = set(closed_by_server(live))
                live = [s for s in live if s not in gone]
            self.assertEqual(live, [], "sockets the server kept open past the deadline")
            self.assertGreater(metric(self.stack, "activity_ingest_connections_timed_out_total"), 0)
        finally:
            for s in socks:
                s.close()
        print("\n  normal client during %d trickling sockets: %d requests, slowest %.3f s"
              % (SLOW, len(normal.times), max(normal.times)))

    def test_idle_sockets_from_many_addresses(self):
        # 1,100 idle sockets: enough to exhaust a 1,024 open-file limit
        normal = Served(self.stack)
        socks = open_sockets(self.stack.port, 1100, ["127.0.1.%d" % i for i in range(1, 12)])
        try:
            wait_for("the server to accept them",
                     lambda: metric(self.stack, "activity_ingest_connections") >= 1000)
            self.assertEqual(normal.once(), 200)
            left = list(socks)

            def all_closed():
                gone = set(closed_by_server(left))
                left[:] = [s for s in left if s not in gone]
                return not left
            wait_for("the server to close idle sockets", all_closed)
        finally:
            for s in socks:
                s.close()
        print("\n  normal client beside 1,100 idle sockets: %.3f s" % max(normal.times))


class UnfinishedBodies(unittest.TestCase):
    BUDGET = 32 << 20

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(partitions=2, brokers=1, ingest_args=(
            "--max-body-memory", str(cls.BUDGET), "--request-timeout", "30"))

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.close()
        assert codes["ingest"] == 0, codes

    def test_bodies_in_flight_share_one_bound(self):
        pid = self.stack.ingest.pid
        base = rss_kb(pid)
        socks = open_sockets(self.stack.port, 1000, ["127.0.2.%d" % i for i in range(1, 6)])
        half = b"[" + b" " * (512 << 10)
        refused = 0
        try:
            wait_for("connections", lambda: len(ready(socks, select.POLLOUT)) == len(socks), 60)
            for s in socks:
                try:
                    s.send(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\n"
                           b"Content-Length: 1048576\r\n\r\n")
                    s.send(half)
                except OSError:
                    pass
            # every connection is either holding its body's reservation or
            # has been answered 503 and closed
            left = list(socks)

            def settled():
                gone = set(closed_by_server(left))
                left[:] = [s for s in left if s not in gone]
                held = metric(self.stack, "activity_ingest_body_memory_bytes")
                return len(left) * ((1 << 20) + 1) == held
            wait_for("every body to be held or refused", settled)
            refused = sum(1 for s in socks if answered.get(s, b"").startswith(b"HTTP/1.1 503"))
            held = metric(self.stack, "activity_ingest_body_memory_bytes")
            peak = rss_kb(pid)
            self.assertLessEqual(held, self.BUDGET)
            self.assertGreater(refused, 1000 - self.BUDGET // (1 << 20) - 50)
            if not ASAN:
                self.assertLess(peak - base, (self.BUDGET >> 10) + 64 * 1024,
                                "RSS grew from %d to %d kB" % (base, peak))
        finally:
            for s in socks:
                s.close()
        wait_for("bodies to be freed",
                 lambda: metric(self.stack, "activity_ingest_body_memory_bytes") == 0)
        after = rss_kb(pid)
        if not ASAN:
            self.assertLess(after - base, 32 * 1024, "RSS stayed at %d kB (from %d)" % (after, base))
        print("\n  1,000 unfinished 1 MiB bodies: %d refused with 503, RSS %d -> %d -> %d kB"
              % (refused, base, peak, after))


class LiveViewers(unittest.TestCase):
    """activity-web serving thousands of live dashboards (one timer pushes
    to all; no thread each)."""

    VIEWERS = 2000

    def test_thousands_of_live_streams(self):
        stack = Stack(partitions=1, brokers=1)
        web = None
        socks = []
        try:
            db = stack.path("counters.db")
            con = sqlite3.connect(db)
            with open(os.path.join(ROOT, "schema", "counters.sql")) as f:
                con.executescript(f.read())
            con.close()
            web, url = start([BUILD + "/activity-web", "--db", db, "--listen", "127.0.0.1:0",
                              "--static-dir", os.path.join(ROOT, "web", "static")],
                             stack.path("web.log"))
            port = int(url.rstrip("/").rsplit(":", 1)[1])
            base = rss_kb(web.pid)
            # 250 from each address: under the per-address limit
            socks = open_sockets(port, self.VIEWERS,
                                 ["127.0.3.%d" % i for i in range(1, self.VIEWERS // 250 + 1)])
            wait_for("connections", lambda: len(ready(socks, select.POLLOUT)) == len(socks), 60)
            for s in socks:
                s.send(b"GET /api/v1/live?site=s%d HTTP/1.1\r\nHost: x\r\n\r\n" % (len(socks) % 7))
            got = {}

            def two_summaries_each():
                for s, _ in ready([s for s in socks if got.get(s, b"").count(b"data: ") < 2],
                                  select.POLLIN):
                    try:
                        got[s] = got.get(s, b"") + s.recv(65536)
                    except OSError:
                        pass
                return all(got.get(s, b"").count(b"data: ") >= 2 for s in socks)
            wait_for("two summaries on every stream", two_summaries_each, 120)
            peak = rss_kb(web.pid)
            # the API still answers beside them
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/api/v1/sites")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
            print("\n  %d live streams: activity-web RSS %d -> %d kB (%.1f kB each)"
                  % (len(socks), base, peak, (peak - base) / len(socks)))
            if not ASAN:
                self.assertLess(peak - base, 100 * 1024)
        finally:
            for s in socks:
                s.close()
            if web:
                self.assertEqual(stop(web), 0)
            stack.close()


class Readiness(unittest.TestCase):
    def test_readyz_never_waits_on_kafka(self):
        # one HTTP thread and a frozen broker: a /readyz that asked Kafka
        # itself would hold that thread 2 s a call (160 calls: 320 s)
        stack = Stack(partitions=1, brokers=1, ingest_args=("--threads", "1"))
        try:
            # ready first (before its first check it says "not reached yet"),
            # then frozen until a check has failed on the frozen broker
            wait_for("readiness", lambda: stack.request("GET", "/readyz")[0] == 200, 60)
            stack.devbroker.send_signal(signal.SIGSTOP)
            wait_for("readiness to fail", lambda: b"metadata request failed" in
                     stack.request("GET", "/readyz")[2], 60)
            answers = []

            def poll():
                for _ in range(20):
                    s, _, b = stack.request("GET", "/readyz", timeout=300)
                    answers.append((s, json.loads(b).get("error", "")))
            threads = [threading.Thread(target=poll, daemon=True) for _ in range(8)]
            for t in threads:
                t.start()
            self.assertEqual(stack.request("GET", "/healthz", timeout=60)[0], 200)
            deadline = time.time() + 60
            for t in threads:
                t.join(max(0, deadline - time.time()))
            self.assertEqual(len(answers), 160, "readyz calls still waiting after 60 s")
            self.assertTrue(all(s == 503 and "Kafka" in e for s, e in answers), answers[:3])
            stack.devbroker.send_signal(signal.SIGCONT)
            wait_for("readiness again", lambda: stack.request("GET", "/readyz")[0] == 200, 60)
        finally:
            stack.devbroker.send_signal(signal.SIGCONT)
            stack.close()


class Shutdown(unittest.TestCase):
    def test_sigterm_refuses_new_connections_and_cuts_slow_bodies(self):
        # a long ack timeout and a paused broker keep one request waiting on
        # Kafka, so ingest stays up while the shutdown is looked at
        stack = Stack(partitions=2, brokers=1, ingest_args=("--ack-timeout", "60000"))
        try:
            slow = socket.create_connection((stack.host, stack.port))
            slow.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n[")
            wait_for("the slow request to be read",  # it and this /metrics
                     lambda: metric(stack, "activity_ingest_requests_in_flight") >= 2)
            stack.devbroker.send_signal(signal.SIGSTOP)
            waiting = {}
            t = threading.Thread(target=lambda: waiting.update(
                answer=stack.post_events(event(), headers={"Connection": "close"})[0]))
            t.start()
            # in flight: the slow one, the waiting one and this /metrics; and the
            # event produced, in librdkafka's queue (counted in flight alone, it
            # may still be read when SIGTERM comes, and be answered 503: one CI
            # run on a busy machine)
            wait_for("the event to wait on Kafka",
                     lambda: metric(stack, "activity_ingest_requests_in_flight") >= 3 and
                     metric(stack, "activity_ingest_producer_queue_messages") >= 1)
            stack.ingest.send_signal(signal.SIGTERM)

            def refused():
                try:
                    socket.create_connection((stack.host, stack.port), timeout=5).close()
                    return False
                except ConnectionRefusedError:
                    return True
                except ConnectionResetError:  # in the backlog as it closed
                    return False
            wait_for("new connections to be refused", refused, 30)
            slow.settimeout(30)
            self.assertEqual(slow.recv(100), b"", "the slow body was not cut")
            self.assertIsNone(stack.ingest.poll(), "ingest exited before the waiting request")
            stack.devbroker.send_signal(signal.SIGCONT)
            t.join(120)
            self.assertEqual(waiting.get("answer"), 200)
            self.assertEqual(stack.ingest.wait(timeout=60), 0)
            slow.close()
        finally:
            stack.devbroker.send_signal(signal.SIGCONT)
            stack.close()


if __name__ == "__main__":
    unittest.main()
