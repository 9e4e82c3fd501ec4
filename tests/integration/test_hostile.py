# SPDX-License-Identifier: Apache-2.0
"""activity-ingest against single hostile requests: every one is answered
with a clear error (as valid UTF-8 JSON), is kept in the dead letter when it
carried events, and leaves ingest running. Each case here once crashed or
fooled the collector."""

import base64
import json
import os
import socket
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import Stack, event  # noqa: E402

stack = None
A63E = "a" * 63 + "\u00e9"  # a 64-byte cut splits the two-byte character


def setUpModule():
    global stack
    stack = Stack(partitions=2, brokers=1, ingest_args=(
        "--sites", "shop.test," + "b" * 99, "--ip", "keep",
        "--trust-forwarded", "--trusted-proxies", "10.0.0.1, 10.0.0.2"))


def tearDownModule():
    codes = stack.close()
    assert codes["ingest"] == 0, "ingest exited %s" % codes["ingest"]


def deadletters():
    return [m["event"] for m in stack.dump("invalid")]


def answer(status, body):
    """The JSON of an answer, which must be valid UTF-8."""
    return json.loads(body.decode("utf-8"))


class Crashes(unittest.TestCase):
    def tearDown(self):
        self.assertIsNone(stack.ingest.poll(), "ingest died")

    def test_pixel_with_invalid_utf8_in_key_and_value(self):
        for q in ("%ff=%ff", "site=%ff", "%c3=1", "ts=%ff"):
            marker = "m" + uuid.uuid4().hex[:10]
            s, _, b = stack.request("GET", "/v1/pixel.gif?%s&_=%s" % (q, marker))
            self.assertEqual(s, 400, q)
            self.assertIn("is not valid UTF-8", answer(s, b)["error"])
            # the dead letter keeps the query as sent, percent-encoded
            recs = [r for r in deadletters() if marker in r.get("query", "")]
            self.assertEqual(len(recs), 1, q)
            self.assertIn(q.split("=")[0].upper(), recs[0]["query"].upper())

    def test_names_cut_inside_a_character(self):
        bodies = [
            {"events": [], A63E: 1},
            event(type_=A63E),
            event(**{A63E: 1}),
            event(props={A63E: []}),
            event(site="b" * 99 + "\u00e9"),
        ]
        for body in bodies:
            body = json.dumps(body, ensure_ascii=False).encode()
            for path in ("/v1/validate", "/v1/events"):
                s, _, b = stack.request("POST", path, body, {"Content-Type": "application/json"})
                self.assertIn(s, (200, 400), (path, body))
                a = answer(s, b)
                err = a.get("error") or a["rejected"][0]["error"]
                self.assertIn("aaaa" if b"aaa" in body else "bbbb", err)

    def test_json_error_quoting_invalid_utf8(self):
        # jansson's message quotes the input near the error; found by fuzz_event
        body = b'{"title":"T\\u0\xd0\x9a\xc6"}'
        for path in ("/v1/validate", "/v1/events"):
            s, _, b = stack.request("POST", path, body, {"Content-Type": "application/json"})
            self.assertEqual(s, 400)
            self.assertIn("invalid JSON", answer(s, b)["error"])

    def test_time_past_9999_is_an_invalid_value(self):
        late = "9999-12-31T23:59:59-00:01"
        for path in ("/v1/validate", "/v1/events"):
            s, _, b = stack.post_events(event(ts=late), path=path)
            self.assertEqual(s, 400, b)
            self.assertEqual(b["rejected"][0]["reason"], "invalid_value")
        s, _, b = stack.request("GET", "/v1/pixel.gif?type=pageview&site=shop.test&"
                                "anonymous_id=v&url=https://shop.test/&ts=" + late)
        self.assertEqual(s, 400)
        self.assertEqual(answer(s, b)["rejected"][0]["reason"], "invalid_value")

    def test_overlong_numeric_ts_is_a_time_error(self):
        s, _, b = stack.request("GET", "/v1/pixel.gif?type=pageview&site=shop.test&"
                                "anonymous_id=v&url=https://shop.test/&ts=" + "9" * 400)
        self.assertEqual(s, 400)
        self.assertIn("field 'ts' must be", answer(s, b)["rejected"][0]["error"])



class Protocol(unittest.TestCase):
    """Framing a server must refuse (RFC 9112), answered at once with the
    connection closed, so nothing can be smuggled behind them."""

    HEAD = b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

    def refused(self, data, status, needle):
        s, h, b = stack.raw_request(data, timeout=10)
        self.assertEqual(s, status, b)
        self.assertIn(needle, b["error"])
        self.assertEqual(h["connection"], "close")
        return b

    def test_smuggling_forms(self):
        smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        self.refused(self.HEAD + b"Content-Length: 2\r\nContent-Length: 0\r\n\r\n{}" + smuggled,
                     400, "two Content-Length")
        self.refused(self.HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"0\r\n\r\n" + smuggled, 400, "Transfer-Encoding")
        self.refused(b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                     400, "two Content-Type")

    def test_transfer_codings_get_an_answer_not_a_wait(self):
        self.refused(self.HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n",
                     501, "Transfer-Encoding")
        self.refused(self.HEAD + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
                     411, "Content-Length")
        self.refused(self.HEAD + b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc\r\n",
                     411, "Content-Length")

    def test_too_many_query_parameters(self):
        q = "&".join("a%d=1" % i for i in range(500))
        self.refused(b"GET /v1/pixel.gif?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q.encode(),
                     414, "too many query parameters")
        s, _, _ = stack.request("GET", "/v1/pixel.gif?" + "&".join("_%d=1" % i for i in range(99)))
        self.assertEqual(s, 400)  # 99 + none: under the limit, parsed (and incomplete)

    def test_media_type_is_matched_exactly(self):
        s, _, b = stack.post_events(event(), content_type="application/jsonfoo",
                                    path="/v1/validate")
        self.assertEqual(s, 415, b)
        s, _, b = stack.post_events(event(), content_type="application/json; charset=utf-8",
                                    path="/v1/validate")
        self.assertEqual(s, 200, b)

    def test_head_where_get_works(self):
        for path in ("/healthz", "/metrics", "/tracker.js"):
            s, _, b = stack.request("HEAD", path)
            self.assertEqual((s, b), (200, b""), path)
        # the pixel's HEAD validates and records nothing
        marker = "head-" + uuid.uuid4().hex[:8]
        s, _, _ = stack.request("HEAD", "/v1/pixel.gif?type=pageview&site=shop.test&"
                                "anonymous_id=%s&url=https://shop.test/" % marker)
        self.assertEqual(s, 200)
        s, _, _ = stack.request("HEAD", "/v1/pixel.gif?type=pageview&anonymous_id=" + marker)
        self.assertEqual(s, 400)
        self.assertFalse([m for m in stack.dump("pageview", "invalid") if marker in m["value"]])

    def test_forwarded_for_is_read_from_the_right(self):
        def remote_addr(xff):
            marker = "xff-" + uuid.uuid4().hex[:8]
            s, _, _ = stack.post_events(event(type_="purchase", anonymous_id=marker),
                                        headers={"X-Forwarded-For": xff})
            self.assertEqual(s, 400)
            recs = [r for r in deadletters() if r.get("event", {}).get("anonymous_id") == marker]
            self.assertEqual(len(recs), 1)
            return recs[0]["remote_addr"]
        self.assertEqual(remote_addr("6.6.6.6, 1.2.3.4"), "1.2.3.4")
        self.assertEqual(remote_addr("6.6.6.6, 1.2.3.4, 10.0.0.2,10.0.0.1"), "1.2.3.4")
        self.assertEqual(remote_addr("not an address"), "127.0.0.1")

    def test_a_huge_rejected_event_still_fits_the_dead_letter(self):
        marker = "big-" + uuid.uuid4().hex[:8]
        head = '{"type":"pageview","site":"shop.test","anonymous_id":"%s",' \
               '"url":"https://shop.test/","ts":1,"title":"' % marker
        body = (head + "\\u0001" * ((1000 << 10) // 6) + '"}').encode()
        self.assertLess(len(body), 1 << 20)
        s, _, b = stack.post_events(body)
        self.assertEqual(s, 400, b)
        recs = [r for r in deadletters() if r.get("event_truncated") and
                marker.encode() in base64.b64decode(r["event_base64"])]
        self.assertEqual(len(recs), 1)
        self.assertGreater(recs[0]["event_bytes"], 1000000)
        self.assertEqual(len(base64.b64decode(recs[0]["event_base64"])), 65536)


if __name__ == "__main__":
    unittest.main()
