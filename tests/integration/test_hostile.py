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
    stack = Stack(partitions=2, brokers=1, ingest_args=("--sites", "shop.test," + "b" * 99))


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


if __name__ == "__main__":
    unittest.main()
