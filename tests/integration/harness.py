# SPDX-License-Identifier: Apache-2.0
"""Shared helper of the integration tests: starts real programs (devbroker,
ingest) from a build directory on loopback with ephemeral ports and a
temporary directory, and stops every one of them by pid when the test ends,
even when it fails or is interrupted (atexit + SIGTERM/SIGINT handlers).

The build directory comes from $BUILD (default build), so the same tests run
against the normal and the sanitizer builds."""

import atexit
import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

BUILD = os.path.abspath(os.environ.get("BUILD", "build"))
_children = []


def _stop_all():
    for p in list(_children):
        stop(p)


def _on_signal(sig, frame):
    _stop_all()
    raise SystemExit(128 + sig)


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def start(args, log_path):
    """Starts a program; returns the Popen and the first line it printed."""
    log = open(log_path, "ab")
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    _children.append(p)
    line = p.stdout.readline().decode().strip()
    if not line:
        p.wait(timeout=10)
        raise RuntimeError("%s exited (%s) before it was ready; see %s"
                           % (args[0], p.returncode, log_path))
    return p, line


def stop(p, sig=signal.SIGTERM, timeout=60):
    """Stops p by pid; returns its exit code. Kills it if it does not stop."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in _children:
        _children.remove(p)
    if p.stdout:
        p.stdout.close()
    return p.returncode


class Stack:
    """A devbroker and an ingest in front of it."""

    def __init__(self, partitions=6, brokers=3, ingest_args=()):
        self.tmp = tempfile.TemporaryDirectory(prefix="activity-test-")
        self.dir = self.tmp.name
        self.devbroker, self.brokers = start(
            [BUILD + "/activity-devbroker", "--brokers", str(brokers),
             "--partitions", str(partitions)], self.path("devbroker.log"))
        self.ingest = None
        self.start_ingest(*ingest_args)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start_ingest(self, *extra):
        self.ingest, self.url = start(
            [BUILD + "/activity-ingest", "--brokers", self.brokers,
             "--listen", "127.0.0.1:0", "--ack-timeout", "3000", *extra],
            self.path("ingest.log"))
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path.rstrip("/")

    def ingest_log(self):
        with open(self.path("ingest.log"), errors="replace") as f:
            return f.read()

    def close(self):
        codes = {}
        if self.ingest:
            codes["ingest"] = stop(self.ingest)
        codes["devbroker"] = stop(self.devbroker)
        self.tmp.cleanup()
        return codes

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One HTTP request on a new connection; returns (status, headers, body)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            c.request(method, self.prefix + path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def raw_request(self, data, timeout=30):
        """Sends data as is on a new connection and reads until the server
        closes it: (status, headers, body as JSON when it is JSON)."""
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            s.sendall(data)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:])}
        try:
            body = json.loads(body)
        except ValueError:
            pass
        return int(lines[0].split()[1]), headers, body

    def post_events(self, payload, content_type="application/json", gzipped=False,
                    headers=None, path="/v1/events"):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h = {"Content-Type": content_type, "User-Agent": "Mozilla/5.0 (test browser)"}
        if gzipped:
            body = gzip.compress(body)
            h["Content-Encoding"] = "gzip"
        h.update(headers or {})
        status, hdrs, data = self.request("POST", path, body, h)
        try:
            data = json.loads(data)
        except ValueError:
            pass
        return status, hdrs, data

    def start_aggregator_with_url(self, db, *extra):
        """An aggregator worker on db: (Popen, its /metrics URL). Logs go to
        aggregator-N.log, N counting from 1 per stack."""
        self.workers = getattr(self, "workers", 0) + 1
        return start([BUILD + "/activity-aggregator", "--brokers", self.brokers, "--db", db,
                      "--metrics-listen", "127.0.0.1:0", "--flush-ms", "200", *extra],
                     self.path("aggregator-%d.log" % self.workers))

    def start_aggregator(self, db, *extra):
        return self.start_aggregator_with_url(db, *extra)[0]

    def produce_raw(self, topic_type, lines):
        out = subprocess.run([BUILD + "/tests/topic-produce", self.brokers, "activity." + topic_type],
                             input="\n".join(lines).encode() + b"\n", capture_output=True,
                             timeout=60)
        if out.returncode:
            raise RuntimeError("topic-produce failed: " + out.stderr.decode())

    def dump(self, *types):
        """Every message of the named topics (suffixes), as dicts."""
        topics = ["activity." + t for t in types]
        out = subprocess.run([BUILD + "/tests/topic-dump", self.brokers, *topics],
                             capture_output=True, timeout=120)
        if out.returncode:
            raise RuntimeError("topic-dump failed: " + out.stderr.decode())
        msgs = [json.loads(line) for line in out.stdout.decode().splitlines()]
        for m in msgs:
            m["event"] = json.loads(m["value"])
        return msgs


def event(type_="pageview", **fields):
    """A valid event of the given type, with fields overriding the defaults."""
    e = {"type": type_, "site": "shop.test", "anonymous_id": "visitor-1",
         "url": "https://shop.test/products/1", "ts": int(time.time() * 1000)}
    if type_ == "click":
        e["target"] = "add-to-cart"
    if type_ == "search":
        e.update(query="red shoes", results=3)
    e.update(fields)
    return e
