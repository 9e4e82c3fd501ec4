# SPDX-License-Identifier: Apache-2.0
"""activity-ingest end to end on a devbroker: every accepted shape reaches
its topic exactly once, keyed and enriched; every bad input gets its status,
a message naming the problem, and a dead-letter record."""

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Stack, event, stop  # noqa: E402

stack = None


def setUpModule():
    global stack
    stack = Stack()


def tearDownModule():
    codes = stack.close()
    assert codes["ingest"] == 0, "ingest exited %s" % codes["ingest"]


def uid():
    return str(uuid.uuid4())


def deadletters():
    return [m["event"] for m in stack.dump("invalid")]


def deadletter_with(marker):
    """The dead-letter records whose input contains marker."""
    found = []
    for rec in deadletters():
        text = json.dumps(rec.get("event")) if "event" in rec else \
            base64.b64decode(rec["body_base64"]).decode("utf-8", "replace")
        if marker in text:
            found.append(rec)
    return found


class AcceptedShapes(unittest.TestCase):
    def test_every_shape_arrives_exactly_once_keyed_and_enriched(self):
        sent = {}  # event_id -> (type, anonymous_id)

        def mk(type_):
            e = event(type_, event_id=uid(), anonymous_id="v-" + uid()[:8])
            sent[e["event_id"]] = (type_, e["anonymous_id"])
            return e

        cases = [
            ([mk("pageview")][0], {}),                                   # single object
            ([mk("click"), mk("search"), mk("pageview")], {}),           # array
            ({"sent_at": int(time.time() * 1000), "events": [mk("search"), mk("click")]}, {}),
            ([mk("pageview"), mk("click")], {"gzipped": True}),          # gzip
            ([mk("search")], {"content_type": "text/plain;charset=UTF-8"}),  # sendBeacon
        ]
        for payload, kw in cases:
            status, _, body = stack.post_events(payload, **kw)
            n = len(payload) if isinstance(payload, list) else \
                len(payload["events"]) if "events" in payload else 1
            self.assertEqual(status, 200, body)
            self.assertEqual(body, {"accepted": n, "rejected": []})

        pixel_visitor = "pixel-" + uid()[:8]
        status, hdrs, data = stack.request(
            "GET", "/v1/pixel.gif?type=pageview&site=shop.test&anonymous_id=%s"
                   "&url=https%%3A%%2F%%2Fshop.test%%2Fnojs&_=123" % pixel_visitor,
            headers={"User-Agent": "Mozilla/5.0 (test browser)"})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "image/gif")
        self.assertTrue(data.startswith(b"GIF89a"))

        msgs = stack.dump("pageview", "click", "search")
        seen = {}
        for m in msgs:
            ev = m["event"]
            seen.setdefault(ev["event_id"], []).append(m)
        for eid, (type_, visitor) in sent.items():
            self.assertIn(eid, seen, "event %s never reached Kafka" % eid)
            self.assertEqual(len(seen[eid]), 1, "event %s arrived %d times" % (eid, len(seen[eid])))
            m = seen[eid][0]
            self.assertEqual(m["topic"], "activity." + type_)
            self.assertEqual(m["key"], visitor)
            self.assertEqual(m["headers"]["schema"], "activity/%s/1" % type_)
            ev = m["event"]
            self.assertEqual(ev["type"], type_)
            self.assertEqual(ev["ip"], "127.0.0.0")  # truncated by default
            self.assertEqual(ev["user_agent"], "Mozilla/5.0 (test browser)")
            self.assertIs(ev["bot"], False)
            for f in ("received_at", "ts", "client_ts"):
                self.assertRegex(ev[f], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

        pixel = [m for m in msgs if m["key"] == pixel_visitor]
        self.assertEqual(len(pixel), 1)
        self.assertEqual(pixel[0]["event"]["url"], "https://shop.test/nojs")
        self.assertEqual(len(pixel[0]["event"]["event_id"]), 36)

    def test_clock_skew_corrected_from_sent_at(self):
        now = int(time.time() * 1000)
        e = event("pageview", event_id=uid(), ts=now - 3600_000 - 5000)
        status, _, body = stack.post_events({"sent_at": now - 3600_000, "events": [e]})
        self.assertEqual(status, 200, body)
        ev = [m["event"] for m in stack.dump("pageview") if m["event"]["event_id"] == e["event_id"]][0]
        ts = time.mktime(time.strptime(ev["ts"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        received = time.mktime(time.strptime(ev["received_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        self.assertAlmostEqual(received - ts, 5, delta=1.5)

    def test_unicode_survives_unchanged(self):
        q = "caf\u00e9 \u6f22\u5b57 \U0001F600 <img src=x onerror=alert(1)>"
        e = event("search", event_id=uid(), query=q, results=0)
        status, _, body = stack.post_events([e])
        self.assertEqual(status, 200, body)
        ev = [m["event"] for m in stack.dump("search") if m["event"]["event_id"] == e["event_id"]][0]
        self.assertEqual(ev["query"], q)
        self.assertEqual(ev["results"], 0)

    def test_validate_checks_but_produces_nothing(self):
        good, bad = event("click", event_id=uid()), event("click", event_id=uid())
        del bad["target"]
        status, _, body = stack.post_events([good, bad], path="/v1/validate")
        self.assertEqual(status, 200)
        self.assertEqual(body["accepted"], 1)
        self.assertEqual(body["rejected"][0]["index"], 1)
        self.assertIn("'target'", body["rejected"][0]["error"])
        ids = {m["event"]["event_id"] for m in stack.dump("click")}
        self.assertNotIn(good["event_id"], ids)
        self.assertEqual(deadletter_with(bad["event_id"]), [])


class BadInput(unittest.TestCase):
    def check_body_rejected(self, status, body, want_status, reason, needle, marker):
        self.assertEqual(status, want_status, body)
        self.assertEqual(body["reason"], reason)
        self.assertIn(needle, body["error"])
        recs = deadletter_with(marker)
        self.assertEqual(len(recs), 1, "dead-letter records for %s: %s" % (marker, recs))
        self.assertEqual(recs[0]["reason"], reason)
        self.assertIn(needle, recs[0]["error"])
        self.assertEqual(recs[0]["remote_addr"], "127.0.0.0")
        self.assertIn("received_at", recs[0])
        return recs[0]

    def test_broken_json(self):
        m = uid()
        s, _, b = stack.post_events(('{"type":"pageview","site":"%s",' % m).encode())
        self.check_body_rejected(s, b, 400, "invalid_json", "invalid JSON", m)

    def test_duplicate_keys(self):
        m = uid()
        s, _, b = stack.post_events(('{"site":"a","site":"%s"}' % m).encode())
        self.check_body_rejected(s, b, 400, "invalid_json", "duplicate", m)

    def test_invalid_utf8_kept_byte_exact(self):
        m = uid()
        raw = ('{"type":"search","query":"%s \xff\xfe"}' % m).encode("latin-1")
        s, _, b = stack.post_events(raw)
        rec = self.check_body_rejected(s, b, 400, "invalid_json", "invalid JSON", m)
        self.assertEqual(base64.b64decode(rec["body_base64"]), raw)

    def test_wrong_shape(self):
        m = uid()
        s, _, b = stack.post_events(('"%s"' % m).encode())
        self.check_body_rejected(s, b, 400, "invalid_json", "expected", m)
        m = uid()
        s, _, b = stack.post_events({"events": [], "sent_at": m})
        self.check_body_rejected(s, b, 400, "invalid_shape", "'sent_at' must be", m)
        m = uid()
        s, _, b = stack.post_events({"events": m})
        self.check_body_rejected(s, b, 400, "invalid_shape", "'events' must be an array", m)

    def test_oversize_body_is_refused_before_it_is_read(self):
        m = uid()
        big = json.dumps([event(title=m)] + [event()] * 8000).encode()
        self.assertGreater(len(big), 1 << 20)
        # the answer comes after the head alone, and the connection closes
        s, h, b = stack.raw_request(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"User-Agent: " + m.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(big))
        self.assertEqual(s, 413, b)
        self.assertIn("limit is 1048576", b["error"])
        self.assertEqual(h["connection"], "close")
        recs = [r for r in deadletters() if r.get("user_agent") == m]
        self.assertEqual(len(recs), 1)
        self.assertEqual((recs[0]["reason"], recs[0]["body_bytes"], recs[0]["body_truncated"],
                          recs[0]["body_base64"]), ("body_too_large", len(big), True, ""))

    def test_gzip_that_inflates_past_the_limit(self):
        m = uid()
        body = ('{"title":"%s","pad":"%s"}' % (m, "x" * (2 << 20))).encode()
        s, _, b = stack.post_events(body, gzipped=True)
        self.assertEqual(s, 413, b)
        self.assertIn("inflates to more than", b["error"])
        # the dead letter keeps the (compressed) body as received
        found = [r for r in deadletters() if r["reason"] == "body_too_large"
                 and m.encode() in gzip.decompress(base64.b64decode(r["body_base64"]))]
        self.assertEqual(len(found), 1)

    def test_broken_gzip(self):
        m = uid()
        s, _, b = stack.request("POST", "/v1/events", ("not gzip " + m).encode(),
                                {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        b = json.loads(b)
        self.check_body_rejected(s, b, 400, "invalid_gzip", "not valid gzip", m)
        m = uid()
        trunc = gzip.compress(json.dumps(event(title=m)).encode())[:-12]
        s, _, b = stack.request("POST", "/v1/events", trunc,
                                {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual(s, 400)
        self.assertIn("not valid gzip", json.loads(b)["error"])

    def test_batch_too_large(self):
        m = uid()
        s, _, b = stack.post_events([event(title=m)] + [event()] * 500)
        self.check_body_rejected(s, b, 413, "batch_too_large", "501 events; the limit is 500", m)

    def test_unsupported_media(self):
        m = uid()
        s, _, b = stack.post_events(json.dumps(event(title=m)).encode(),
                                    content_type="application/x-www-form-urlencoded")
        self.check_body_rejected(s, b, 415, "unsupported_media_type", "Content-Type", m)
        m = uid()
        s, _, b = stack.post_events(json.dumps(event(title=m)).encode(), headers={"Content-Encoding": "br"})
        self.check_body_rejected(s, b, 415, "unsupported_media_type", "Content-Encoding", m)

    def check_event_rejected(self, bad, reason, needle):
        """bad is sent beside a good event: 200, one rejection, one dead letter."""
        good = event(event_id=uid())
        bad.setdefault("event_id", uid())
        s, _, b = stack.post_events([good, bad])
        self.assertEqual(s, 200, b)
        self.assertEqual(b["accepted"], 1)
        self.assertEqual(len(b["rejected"]), 1, b)
        rej = b["rejected"][0]
        self.assertEqual((rej["index"], rej["reason"]), (1, reason), rej)
        self.assertIn(needle, rej["error"])
        marker = bad["event_id"] if isinstance(bad["event_id"], str) else str(bad["event_id"])
        recs = deadletter_with(marker)
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["index"], 1)
        # numbers are parsed as doubles, so the record holds them as such
        as_floats = json.loads(json.dumps(bad), parse_int=float)
        self.assertEqual(json.loads(json.dumps(recs[0]["event"]), parse_int=float), as_floats)
        self.assertEqual(recs[0]["reason"], reason)

    def test_wrong_types(self):
        self.check_event_rejected(event(site=5), "wrong_type", "'site' must be a string")
        self.check_event_rejected(event(ts=True), "wrong_type", "'ts'")
        self.check_event_rejected(event("search", results="3"), "wrong_type", "'results'")
        self.check_event_rejected(event(props={"a": {"b": 1}}), "wrong_type", "props.a")

    def test_missing_fields(self):
        e = event()
        del e["url"]
        self.check_event_rejected(e, "missing_field", "missing field 'url'")

    def test_unknown_type_and_field(self):
        self.check_event_rejected(event("purchase"), "unknown_type", "'purchase'")
        self.check_event_rejected(event(colour="red"), "unknown_field", "'colour'")

    def test_huge_and_bad_numbers(self):
        self.check_event_rejected(event(ts=10 ** 30), "invalid_value", "'ts'")
        self.check_event_rejected(event(ts=-1), "invalid_value", "'ts'")
        self.check_event_rejected(event("search", results=2 ** 64), "invalid_value", "'results'")
        self.check_event_rejected(event("search", results=1.5), "invalid_value", "'results'")

    def test_long_strings_and_control_characters(self):
        self.check_event_rejected(event(title="x" * 513), "too_long", "'title' is 513 bytes")
        self.check_event_rejected(event(url="https://x/" + "a" * 2100), "too_long", "'url'")
        self.check_event_rejected(event(title="a\u0007b"), "invalid_value", "control character")

    def test_all_rejected_is_400(self):
        bad = event("click", event_id=uid())
        del bad["target"]
        s, _, b = stack.post_events(bad)
        self.assertEqual(s, 400)
        self.assertEqual(b["accepted"], 0)
        self.assertIn("'target'", b["rejected"][0]["error"])
        self.assertEqual(len(deadletter_with(bad["event_id"])), 1)

    def test_bad_pixel(self):
        m = "pixel-bad-" + uid()[:8]
        s, _, b = stack.request("GET", "/v1/pixel.gif?type=pageview&site=shop.test&anonymous_id=" + m)
        self.assertEqual(s, 400)
        self.assertIn("missing field 'url'", json.loads(b)["rejected"][0]["error"])
        self.assertEqual(len(deadletter_with(m)), 1)

    def test_methods_and_paths(self):
        s, h, _ = stack.request("GET", "/v1/events")
        self.assertEqual(s, 405)
        self.assertEqual(h["allow"], "POST, OPTIONS")
        s, _, b = stack.request("GET", "/v2/events")
        self.assertEqual(s, 404)
        self.assertIn("no such path", json.loads(b)["error"])


class Operations(unittest.TestCase):
    def test_health_ready_and_metrics(self):
        self.assertEqual(stack.request("GET", "/healthz")[0], 200)
        self.assertEqual(stack.request("GET", "/readyz")[0], 200)
        stack.post_events(event())
        s, h, body = stack.request("GET", "/metrics")
        self.assertEqual(s, 200)
        self.assertTrue(h["content-type"].startswith("text/plain"))
        text = body.decode()
        for name in ('activity_ingest_build_info{version="',
                     'activity_ingest_requests_total{code="200"}',
                     'activity_ingest_events_accepted_total{type="pageview"}',
                     'activity_ingest_events_rejected_total{reason="missing_field"}',
                     "activity_ingest_produce_latency_seconds_count",
                     "activity_ingest_requests_in_flight",
                     "activity_ingest_producer_queue_messages"):
            self.assertIn(name, text)
        accepted = [line for line in text.splitlines()
                    if line.startswith('activity_ingest_events_accepted_total{type="pageview"}')]
        self.assertGreater(int(accepted[0].split()[-1]), 0)

    def test_busy_port_is_a_clear_error(self):
        # The module's ingest holds stack.port: a second one cannot listen
        # there. It says so, naming the address, and every other line it
        # writes (libmicrohttpd's own message included) is a log line.
        r = subprocess.run([BUILD + "/activity-ingest", "--brokers", stack.brokers,
                            "--listen", "127.0.0.1:%d" % stack.port],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(lines[-1], "activity-ingest: --listen 127.0.0.1:%d: cannot listen: "
                         "Address already in use" % stack.port)
        self.assertTrue(any("WARN libmicrohttpd: " in line for line in lines[:-1]), r.stderr)
        for line in lines[:-1]:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z activity-ingest "
                                   r"(DEBUG|INFO|WARN|ERROR) ")

    def test_cors_preflight_and_echo(self):
        s, h, _ = stack.request("OPTIONS", "/v1/events", headers={
            "Origin": "https://shop.test", "Access-Control-Request-Method": "POST"})
        self.assertEqual(s, 204)
        self.assertEqual(h["access-control-allow-origin"], "*")
        self.assertIn("POST", h["access-control-allow-methods"])
        s, h, _ = stack.post_events(event(), headers={"Origin": "https://shop.test"})
        self.assertEqual(s, 200)
        # with --allow-origin * (the default): *, never the Origin reflected
        # with credentials, and no CORS at all where no events go
        self.assertEqual(h["access-control-allow-origin"], "*")
        self.assertNotIn("access-control-allow-credentials", h)
        s, h, _ = stack.request("GET", "/metrics", headers={"Origin": "https://evil.test"})
        self.assertEqual(s, 200)
        self.assertNotIn("access-control-allow-origin", h)


class ConfiguredPolicies(unittest.TestCase):
    """Origin and site allowlists, a path prefix and --ip=drop, on a second stack."""

    @classmethod
    def setUpClass(cls):
        cls.s = Stack(partitions=2, brokers=1, ingest_args=(
            "--allow-origin", "https://shop.test, https://www.shop.test",
            "--sites", "shop.test", "--path-prefix", "/t", "--ip", "drop"))

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_path_prefix_moves_routes(self):
        self.assertTrue(self.s.url.endswith("/t/"))
        self.assertEqual(self.s.request("GET", "/healthz")[0], 200)
        self.s.prefix = ""
        try:
            self.assertEqual(self.s.request("GET", "/v1/events")[0], 404)
        finally:
            self.s.prefix = "/t"

    def test_origin_not_allowed_is_403_and_dead_lettered(self):
        m = uid()
        s, h, b = self.s.post_events(event(title=m), headers={"Origin": "https://evil.test"})
        self.assertEqual(s, 403)
        self.assertEqual(b["reason"], "origin_not_allowed")
        self.assertNotIn("access-control-allow-origin", h)
        recs = [m_["event"] for m_ in self.s.dump("invalid")
                if m in base64.b64decode(m_["event"].get("body_base64", "")).decode("utf-8", "replace")]
        self.assertEqual(len(recs), 1)
        self.assertIsNone(recs[0]["remote_addr"])  # --ip=drop
        s, _, _ = self.s.request("OPTIONS", "/v1/events", headers={"Origin": "https://evil.test"})
        self.assertEqual(s, 403)
        s, h, _ = self.s.post_events(event(), headers={"Origin": "https://www.shop.test"})
        self.assertEqual(s, 200)
        self.assertEqual(h["access-control-allow-origin"], "https://www.shop.test")

    def test_site_allowlist_and_ip_drop(self):
        good, other = event(event_id=uid()), event(event_id=uid(), site="other.test")
        s, _, b = self.s.post_events([good, other])
        self.assertEqual(s, 200)
        self.assertEqual(b["rejected"][0]["reason"], "site_not_allowed")
        evs = {m["event"]["event_id"]: m["event"] for m in self.s.dump("pageview")}
        self.assertNotIn("ip", evs[good["event_id"]])
        self.assertNotIn(other["event_id"], evs)


class DailyVisitorIds(unittest.TestCase):
    """An event without anonymous_id or user_id gets the day's keyed hash of
    site, client address and user agent (ingest/visitor.h); with
    --visitor-salt-dir the day's salt outlives a restart."""

    def test_ids_made_in_ingest_for_events_without_one(self):
        salts = tempfile.mkdtemp(prefix="activity-salts-")
        self.addCleanup(shutil.rmtree, salts)
        st = Stack(partitions=2, brokers=1, ingest_args=("--visitor-salt-dir", salts))
        self.addCleanup(st.close)

        def anonymous(**fields):
            e = event(event_id=uid(), **fields)
            del e["anonymous_id"]
            return e
        ev = [anonymous(), anonymous(), anonymous(site="blog.test"),
              event(event_id=uid(), anonymous_id="from-the-device"),
              anonymous(user_id="u-42")]
        other_ua = anonymous()
        day = time.strftime("%Y-%m-%d", time.gmtime())
        self.assertEqual(st.post_events(ev)[0], 200)
        self.assertEqual(st.post_events([other_ua], headers={"User-Agent": "Mozilla/5.0 (other)"})[0],
                         200)
        self.assertEqual(stop(st.ingest), 0)
        st.start_ingest("--visitor-salt-dir", salts)  # a restart, the same day
        after_restart = anonymous()
        self.assertEqual(st.post_events([after_restart])[0], 200)
        if time.strftime("%Y-%m-%d", time.gmtime()) != day:
            self.skipTest("UTC midnight passed during the test: the ids changed, as they must")

        got = {m["event"]["event_id"]: (m["event"].get("anonymous_id"), m["key"])
               for m in st.dump("pageview")}
        ids = [got[e["event_id"]][0] for e in ev + [other_ua, after_restart]]
        self.assertRegex(ids[0], r"^d-[0-9a-f]{32}$")
        self.assertEqual(ids[1], ids[0])        # one visitor, one id all day
        self.assertEqual(ids[6], ids[0])        # also after the restart
        self.assertNotEqual(ids[2], ids[0])     # another site
        self.assertNotEqual(ids[5], ids[0])     # another browser
        self.assertEqual(ids[3], "from-the-device")  # an id sent is kept
        self.assertIsNone(ids[4])               # so is a user_id alone
        self.assertEqual(got[ev[4]["event_id"]][1], "u-42")
        for e in ev[:3]:
            self.assertEqual(got[e["event_id"]][1], got[e["event_id"]][0])  # the Kafka key
        # one salt, today's, readable by its owner only
        files = os.listdir(salts)
        self.assertEqual(files, ["salt-" + day])
        self.assertEqual(os.stat(os.path.join(salts, files[0])).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    unittest.main(verbosity=2)
