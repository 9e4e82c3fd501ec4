# SPDX-License-Identifier: Apache-2.0
"""Visits end to end: a scripted browsing sequence of five visits by four
people (and a bot) goes through ingest, Kafka and an aggregator that is
killed with -9 halfway, and activity-web must answer exactly the visits,
bounces, durations, entry and exit pages, sources, UTM tags and devices
the script makes."""

import json
import os
import random
import signal
import sqlite3
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Stack, event, stop  # noqa: E402
from test_web import get, start_web  # noqa: E402

SITE = "visits.test"
CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
SAMSUNG = ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, like "
           "Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CURL = "curl/8.5.0"
MIN = 60000


def ev(type_, path, **fields):
    """An event of a page of SITE with no visitor id: ingest makes the day's
    from the address and user agent, as for the default tracker."""
    e = event(type_, url="https://%s%s" % (SITE, path), site=SITE, **fields)
    del e["anonymous_id"]
    return e


class Visits(unittest.TestCase):
    def test_scripted_visits_are_exact_across_a_kill_9(self):
        now = int(time.time() * 1000)
        t = now - now % 3600000 - 2 * 3600000 + 5 * MIN  # 5 minutes into the hour 2 h ago
        # (user agent, events in the order a browser sends them); no
        # anonymous_id: ingest's daily id of address and user agent
        first_visits = [
            (CHROME_WIN, [  # google, tagged: 3 pageviews, a click, 2 minutes
                ev("pageview", "/home?utm_source=news&utm_medium=email&utm_campaign=launch", ts=t,
                   referrer="https://www.google.com/search?q=x"),
                ev("pageview", "/pricing", ts=t + MIN, referrer="https://visits.test/home"),
                ev("click", "/pricing", ts=t + MIN + 30000, target="plan-pro"),
                ev("pageview", "/signup", ts=t + 2 * MIN)]),
            (SAFARI_IPHONE, [  # t.co, one pageview: a bounce
                ev("pageview", "/blog/post", ts=t + 3 * MIN, referrer="https://t.co/abc")]),
            (SAMSUNG, [  # an internal referrer is direct; a search: no bounce, 10 s
                ev("pageview", "/a", ts=t + 4 * MIN, referrer="https://visits.test/x"),
                ev("search", "/a", ts=t + 4 * MIN + 10000, query="shoes", results=2)]),
            (FIREFOX_LINUX, [  # two pageviews, 5 minutes
                ev("pageview", "/docs", ts=t + 5 * MIN),
                ev("pageview", "/docs/install", ts=t + 10 * MIN)]),
            (CURL, [ev("pageview", "/home", ts=t + 6 * MIN)]),  # a bot: no visit
        ]
        # Chrome again 40 minutes after its last event: a second visit, a bounce
        second_visit = (CHROME_WIN, [ev("pageview", "/home", ts=t + 42 * MIN)])

        st = Stack(partitions=3, brokers=1)
        db = st.path("counters.db")
        web = None
        try:
            agg = st.start_aggregator(db)
            # one request per event, the visitors interleaved (each in its own order)
            sends = []
            queues = [list(evs) for _, evs in first_visits]
            rnd = random.Random(7)
            while any(queues):
                i = rnd.choice([k for k, q in enumerate(queues) if q])
                sends.append((first_visits[i][0], queues[i].pop(0)))
            for n, (ua, e) in enumerate(sends):
                status, _, body = st.post_events([e], headers={"User-Agent": ua})
                self.assertEqual(status, 200, body)
                if n == len(sends) // 2:  # halfway: kill -9, and a new worker
                    self.wait_counted(db, n + 1)
                    stop(agg, signal.SIGKILL)
                    agg = st.start_aggregator(db)
            self.wait_counted(db, len(sends))
            # the second visit is sent once the first is counted: a browser
            # sends it 40 minutes later
            status, _, body = st.post_events(second_visit[1], headers={"User-Agent": second_visit[0]})
            self.assertEqual(status, 200, body)
            self.wait_counted(db, len(sends) + 1)
            stop(agg, signal.SIGKILL)  # and once more, with everything counted
            agg = st.start_aggregator(db)

            web, url = start_web(st, db)
            frm = t - t % 3600000 - 3600000
            rng = {"site": SITE, "from": frm // 1000, "to": frm // 1000 + 4 * 3600}

            def api(route, **params):
                status, _, body = get(url, "/api/v1/%s?%s" % (route, urllib.parse.urlencode(
                    dict(rng, **params))))
                self.assertEqual(status, 200, body)
                return json.loads(body)

            s = api("summary")
            self.assertEqual({k: s[k] for k in ("visit", "bounce", "visit_ms", "visit_pageviews",
                                                "pageview", "bots")},
                             {"visit": 5, "bounce": 2, "visit_ms": 120000 + 10000 + 300000,
                              "visit_pageviews": 8, "pageview": 8, "bots": 1}, s)
            self.assertAlmostEqual(s["bounce_rate"], 0.4)
            self.assertAlmostEqual(s["visit_duration"], 86.0)
            self.assertAlmostEqual(s["pageviews_per_visit"], 1.6)

            def top(type_):
                return {i["dim"]: i["n"] for i in api("top", type=type_, limit=100)["items"]}

            want = {
                "entry": {"/home": 2, "/blog/post": 1, "/a": 1, "/docs": 1},
                "exit": {"/signup": 1, "/home": 1, "/blog/post": 1, "/a": 1, "/docs/install": 1},
                "source": {"google.com": 1, "t.co": 1, "(direct)": 3},
                "utm_source": {"news": 1}, "utm_medium": {"email": 1},
                "utm_campaign": {"launch": 1},
                "device": {"desktop": 3, "mobile": 2},
                "browser": {"Chrome": 2, "Safari": 1, "Samsung Internet": 1, "Firefox": 1},
                "os": {"Windows": 2, "iOS": 1, "Android": 1, "Linux": 1},
            }
            for type_, expected in want.items():
                self.assertEqual(top(type_), expected, type_)
            # the distinct people behind each value: Chrome's two visits are one
            # visitor; the bot's /home is not one
            def visitors(type_):
                return {i["dim"]: i["visitors"] for i in api("top", type=type_,
                                                               limit=100)["items"]}
            want_visitors = {
                "entry": {"/home": 1, "/blog/post": 1, "/a": 1, "/docs": 1},
                "source": {"google.com": 1, "t.co": 1, "(direct)": 3},
                "utm_source": {"news": 1},
                "device": {"desktop": 2, "mobile": 2},
                "browser": {"Chrome": 1, "Safari": 1, "Samsung Internet": 1, "Firefox": 1},
                "os": {"Windows": 1, "iOS": 1, "Android": 1, "Linux": 1},
                "pageview": {"/home": 1, "/pricing": 1, "/signup": 1, "/blog/post": 1, "/a": 1,
                             "/docs": 1, "/docs/install": 1},
                "click": {"plan-pro": 1}, "search": {"shoes": 1},
            }
            for type_, expected in want_visitors.items():
                self.assertEqual(visitors(type_), expected, type_)
            self.assertEqual(top("pageview")["/home"], 2)
            self.assertNotIn("visitors", api("top", type="exit")["items"][0])
            status, _, body = get(url, "/api/v1/top?" + urllib.parse.urlencode(
                dict(rng, type="exit", format="csv")))
            self.assertEqual(body.split(b"\r\n")[0], b"dim,n")
            # values are kept by the hour: a shorter range answers its whole hours
            part = api("top", type="entry", **{"from": t // 1000 + 60, "to": t // 1000 + 120})
            self.assertEqual((part["from"], part["to"], part["granularity"]),
                             (t // 1000 - 300, t // 1000 + 3300, "hour"))
            # (both of Chrome's visits began in that hour: 5 and 47 minutes in)
            self.assertEqual(part["items"][0], {"dim": "/home", "n": 2, "visitors": 1})
            # a visit is counted in the hour it began: the second one's
            points = dict(map(tuple, api("timeseries", type="visit", granularity="hour")["points"]))
            first_hour = (t - t % 3600000) // 1000
            self.assertEqual(points[first_hour], 5)
            self.assertEqual(sum(v for v in points.values() if v), 5)
            # the state kept for them: one row per visitor
            con = sqlite3.connect(db)
            self.assertEqual(con.execute("SELECT count(*) FROM visits").fetchone()[0], 4)
            con.close()
        finally:
            if web:
                stop(web)
            stop(agg)
            st.close()

    def wait_counted(self, db, events, timeout=120):
        """Until the aggregator has stored this many events (bots too)."""
        deadline = time.time() + timeout
        have = None
        while time.time() < deadline:
            try:
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
                have = con.execute("SELECT coalesce(sum(n), 0) FROM counters WHERE "
                                   "granularity = 'minute' AND dim = '' AND type IN "
                                   "('pageview', 'click', 'search')").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:  # not created yet
                pass
            if have == events:
                return
            self.assertTrue(have is None or have < events, "counted %s of %s" % (have, events))
            time.sleep(0.2)
        self.fail("counted %s of %d events within %d s" % (have, events, timeout))


if __name__ == "__main__":
    unittest.main()
