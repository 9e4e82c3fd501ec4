# SPDX-License-Identifier: Apache-2.0
"""activity-web end to end: events through ingest and an aggregator into
SQLite, then every API route, every bad parameter, the live stream, the
token rule and the static-file escapes; and ingest's /tracker.js."""

import gzip
import http.client
import json
import os
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Stack, event, start, stop  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STATIC = os.path.join(ROOT, "web", "static")
TOKEN = "test-token-0123456789abcdef"


def get(url, path, headers=None, method="GET", body=None, context=None):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPSConnection(u.hostname, u.port, timeout=30, context=context) \
        if u.scheme == "https" else http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def start_web(stack, db, *extra, static=STATIC):
    return start([BUILD + "/activity-web", "--db", db, "--listen", "127.0.0.1:0",
                  "--static-dir", static, "--collector", stack.url, *extra],
                 stack.path("web.log"))


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.db = cls.stack.path("counters.db")
        cls.agg = cls.stack.start_aggregator(cls.db)
        now = int(time.time())
        cls.minute = now - now % 60
        ts = cls.minute * 1000 + 500
        ev = [event("pageview", site="s1", url="https://s1.test/a", ts=ts, anonymous_id="v1"),
              event("pageview", site="s1", url="https://s1.test/a", ts=ts, anonymous_id="v2"),
              event("pageview", site="s1", url="https://s1.test/b", ts=ts, anonymous_id="v3"),
              event("click", site="s1", target="buy", ts=ts, anonymous_id="v1"),
              event("search", site="s1", query="shoes", results=0, ts=ts, anonymous_id="v2"),
              event("search", site="s1", query="hats", results=4, ts=ts, anonymous_id="v2"),
              event("pageview", site="s2", ts=ts)]
        status, _, body = cls.stack.post_events(ev)
        assert status == 200 and body["accepted"] == 7, body
        # 7 events and the zero-result search's own row: 8 in all (the
        # aggregator may store them in more than one batch)
        deadline = time.time() + 60
        while True:
            out = subprocess.run(["sqlite3", cls.db, "SELECT coalesce(sum(n),0) FROM counts "
                                  "WHERE granularity='minute' AND dim=''"],
                                 capture_output=True, text=True)
            if out.stdout.strip() == "8":
                break
            assert time.time() < deadline, "counted %s of 8" % out.stdout.strip()
            time.sleep(0.2)
        cls.web, cls.url = start_web(cls.stack, cls.db)

    @classmethod
    def tearDownClass(cls):
        stop(cls.web)
        stop(cls.agg)
        cls.stack.close()

    def api(self, path, **params):
        status, headers, body = get(self.url, "/api/v1/" + path + "?" +
                                    urllib.parse.urlencode(params))
        return status, json.loads(body)

    def test_sites(self):
        status, body = self.api("sites")
        self.assertEqual(status, 200)
        self.assertEqual(body["sites"], ["s1", "s2"])

    def test_summary_with_every_time_form(self):
        day = self.minute - self.minute % 86400
        iso_day = time.strftime("%Y-%m-%d", time.gmtime(day))
        for params in ({}, {"from": str(day), "to": str(day + 86400)},
                       {"from": iso_day}, {"from": iso_day + "T00:00:00Z"},
                       {"from": str(self.minute), "to": str(self.minute + 60)}):
            status, s = self.api("summary", site="s1", **params)
            self.assertEqual(status, 200, params)
            self.assertEqual((s["pageview"], s["click"], s["search"], s["zero_result_search"]),
                             (3, 1, 2, 1), params)
            self.assertEqual(s["uniques"], 3, params)
            self.assertEqual(s["active"], 3, params)
        status, s = self.api("summary", site="s1", **{"from": str(day - 86400), "to": str(day)})
        self.assertEqual((s["pageview"], s["uniques"]), (0, 0))

    def test_site_time_zones(self):
        # s1 in India (+05:30): its day starts at 18:30 UTC the day before
        web, url = start_web(self.stack, self.db, "--site-tz", "s1=Asia/Kolkata")
        try:
            def api(path, **params):
                status, _, body = get(url, "/api/v1/" + path + "?" + urllib.parse.urlencode(params))
                return status, json.loads(body)
            status, sites = api("sites")
            self.assertEqual(sites["time_zones"], {"s1": "Asia/Kolkata"})
            local = self.minute + 19800
            day = local - local % 86400 - 19800  # the local day holding the events, in UTC
            status, s = api("summary", site="s1")  # today, where s1 is
            self.assertEqual((status, s["from"], s["to"], s["pageview"]),
                             (200, day, day + 86400, 3), s)
            date = time.strftime("%Y-%m-%d", time.gmtime(local))
            status, s = api("summary", site="s1", **{"from": date})
            self.assertEqual((s["from"], s["pageview"]), (day, 3))
            # day buckets begin at its midnight, summed from hours
            status, t = api("timeseries", site="s1", type="pageview", granularity="day",
                            **{"from": str(day - 86400), "to": str(day + 86400)})
            self.assertEqual((status, t["time_zone"]), (200, "Asia/Kolkata"), t)
            self.assertEqual([p[0] for p in t["points"]], [day - 86400, day])
            self.assertEqual(sum(p[1] for p in t["points"]), 3)
            # other sites stay in UTC
            status, s = api("summary", site="s2")
            self.assertEqual(s["from"] % 86400, 0)
        finally:
            stop(web)
        for bad in ("s1=Mars/Olympus", "s1", "s1=../../etc/passwd"):
            p = subprocess.run([BUILD + "/activity-web", "--db", self.db, "--listen",
                                "127.0.0.1:0", "--site-tz", bad], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--site-tz", p.stderr)

    def test_compare_with_the_previous_period(self):
        for start, now_n, before_n in ((self.minute, 3, 0), (self.minute + 60, 0, 3)):
            status, s = self.api("summary", site="s1", compare="previous",
                                 **{"from": str(start), "to": str(start + 60)})
            self.assertEqual(status, 200)
            prev = s["previous"]
            self.assertEqual((prev["from"], prev["to"]), (start - 60, start))
            self.assertEqual((s["pageview"], prev["pageview"]), (now_n, before_n))
            self.assertEqual(prev["uniques"], 3 if before_n else 0)
        status, s = self.api("summary", site="s1", compare="last-year")
        self.assertEqual((status, s["error"]), (400, "compare: must be previous"))

    def test_timeseries(self):
        status, t = self.api("timeseries", site="s1", type="pageview", granularity="minute",
                             **{"from": str(self.minute - 300), "to": str(self.minute + 120)})
        self.assertEqual(status, 200)
        self.assertEqual(len(t["points"]), 7)
        self.assertEqual(dict(map(tuple, t["points"]))[self.minute], 3)
        self.assertEqual(sum(n for _, n in t["points"]), 3)
        status, t = self.api("timeseries", site="s1", type="zero_result_search",
                             granularity="hour")
        self.assertEqual(len(t["points"]), 24)
        self.assertEqual(sum(n for _, n in t["points"]), 1)

    def test_top(self):
        cases = {"pageview": [{"dim": "/a", "n": 2, "visitors": 2},
                              {"dim": "/b", "n": 1, "visitors": 1}],
                 "click": [{"dim": "buy", "n": 1, "visitors": 1}],
                 "search": [{"dim": "hats", "n": 1, "visitors": 1},
                            {"dim": "shoes", "n": 1, "visitors": 1}],
                 "zero_result_search": [{"dim": "shoes", "n": 1, "visitors": 1}]}
        for type_, want in cases.items():
            status, t = self.api("top", site="s1", type=type_)
            self.assertEqual(status, 200)
            self.assertEqual(t["items"], want, type_)
            self.assertNotIn("visitors_from", t)  # today: whole hours
        status, t = self.api("top", site="s1", type="pageview", limit="1")
        self.assertEqual(t["items"], [{"dim": "/a", "n": 2, "visitors": 2}])
        # the values' visitors are kept by the hour: a range of minutes
        # counts its events by the minute and its visitors over whole hours
        hour = self.minute - self.minute % 3600
        status, t = self.api("top", site="s1", type="pageview",
                             **{"from": str(self.minute), "to": str(self.minute + 60)})
        self.assertEqual((t["granularity"], t["visitors_from"], t["visitors_to"]),
                         ("minute", hour, hour + 3600))
        self.assertEqual(t["items"][0], {"dim": "/a", "n": 2, "visitors": 2})

    def test_csv_answers(self):
        q = urllib.parse.urlencode({"site": "s1", "type": "pageview", "format": "csv"})
        status, headers, body = get(self.url, "/api/v1/top?" + q)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/csv; charset=utf-8")
        self.assertEqual(headers["content-disposition"], 'attachment; filename="top-pageview.csv"')
        self.assertEqual(body, b"dim,n,visitors\r\n/a,2,2\r\n/b,1,1\r\n")
        q = urllib.parse.urlencode({"site": "s1", "type": "pageview", "granularity": "minute",
                                    "from": self.minute - 60, "to": self.minute + 60,
                                    "format": "csv"})
        status, headers, body = get(self.url, "/api/v1/timeseries?" + q)
        self.assertEqual(status, 200)
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))
        self.assertEqual(body.decode(), "bucket,time,n\r\n%d,%s,0\r\n%d,%s,3\r\n" % (
            self.minute - 60, iso(self.minute - 60), self.minute, iso(self.minute)))
        for path, msg in (("summary?site=s1&format=csv", "format: csv is for top and timeseries"),
                          ("top?site=s1&type=click&format=xml", "format: must be json or csv")):
            status, _, body = get(self.url, "/api/v1/" + path)
            self.assertEqual((status, json.loads(body)["error"]), (400, msg))

    def test_bad_parameters_are_400_naming_them(self):
        cases = [("summary", {}, "site"),
                 ("summary", {"site": "s1", "from": "yesterday"}, "from"),
                 ("summary", {"site": "s1", "to": "2026-13-45"}, "to"),
                 ("summary", {"site": "s1", "from": "200", "to": "100"}, "to must be after"),
                 ("timeseries", {"site": "s1"}, "type"),
                 ("timeseries", {"site": "s1", "type": "purchase"}, "type"),
                 ("timeseries", {"site": "s1", "type": "click", "granularity": "week"},
                  "granularity"),
                 ("timeseries", {"site": "s1", "type": "click", "granularity": "minute",
                                 "from": "0", "to": "100000000"}, "granularity"),
                 ("top", {"site": "s1", "type": "click", "limit": "0"}, "limit"),
                 ("top", {"site": "s1", "type": "click", "limit": "ten"}, "limit"),
                 ("top", {"site": "s1", "type": "click", "limit": "5000"}, "limit"),
                 ("top", {"type": "click"}, "site"),
                 ("live", {}, "site")]
        for path, params, word in cases:
            status, body = self.api(path, **params)
            self.assertEqual(status, 400, (path, params))
            self.assertIn(word, body["error"], (path, params))
        status, _, body = get(self.url, "/api/v1/summary?site=%FF%FE")
        self.assertEqual(status, 400)
        self.assertIn("UTF-8", json.loads(body)["error"])
        # invalid UTF-8 in from/to is quoted escaped (this crashed activity-web)
        for q in ("from=%FF", "to=%C3", "from=" + "a" * 63 + "%C3%A9"):
            status, _, body = get(self.url, "/api/v1/summary?site=s1&" + q)
            self.assertEqual(status, 400, q)
            self.assertIn("is not a time", json.loads(body.decode("utf-8"))["error"])
        self.assertIsNone(self.web.poll(), "activity-web died")
        status, _, _ = get(self.url, "/api/v1/nothing")
        self.assertEqual(status, 404)
        status, _, _ = get(self.url, "/api/v1/summary?site=s1", method="DELETE")
        self.assertEqual(status, 405)

    def test_sql_in_parameters_is_just_text(self):
        status, s = self.api("summary", site="s1' OR '1'='1")
        self.assertEqual(status, 200)
        self.assertEqual(s["pageview"], 0)

    def test_live_stream_pushes_the_summary(self):
        u = urllib.parse.urlsplit(self.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request("GET", "/api/v1/live?site=s1")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        t0, events = time.time(), []
        while len(events) < 2:
            line = r.fp.readline().decode()
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
        c.close()
        self.assertGreaterEqual(time.time() - t0, 0.8, "one a second, not a flood")
        self.assertEqual((events[0]["pageview"], events[0]["active"]), (3, 3))

    def test_static_files_and_demo_config(self):
        status, h, body = get(self.url, "/")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertEqual(h["cache-control"], "no-cache")
        self.assertIn(b"activity-tracker", body)
        status, h, _ = get(self.url, "/app.js")
        self.assertTrue(h["content-type"].startswith("text/javascript"))
        self.assertIn("max-age", h["cache-control"])
        status, h, _ = get(self.url, "/style.css")
        self.assertTrue(h["content-type"].startswith("text/css"))
        status, _, body = get(self.url, "/demo/config.js")
        self.assertEqual(body.decode(), "window.ACTIVITY_COLLECTOR = %s;\n"
                         % json.dumps(self.stack.url))

    def test_nothing_outside_the_static_directory(self):
        static = self.stack.path("static")
        shutil.copytree(STATIC, static)
        secret = self.stack.path("secret.txt")
        with open(secret, "w") as f:
            f.write("secret")
        os.symlink(secret, os.path.join(static, "link.txt"))
        os.symlink(os.path.dirname(secret), os.path.join(static, "dirlink"))
        web, url = start_web(self.stack, self.db, static=static)
        try:
            for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
                         "/%2E%2E%2Fsecret.txt", "/demo/../../secret.txt", "/link.txt",
                         "/dirlink/secret.txt", "//etc/passwd", "/etc/passwd",
                         "/..\\secret.txt", "/demo", "/nonexistent.html"):
                status, _, body = get(url, path)
                self.assertEqual(status, 404, path)
                self.assertNotIn(b"secret", body.replace(b"secret.txt", b""), path)
            self.assertEqual(get(url, "/demo/index.html")[0], 200)
        finally:
            stop(web)


class Shares(unittest.TestCase):
    """Read-only share links: one site's dashboard and GET API, no other
    site, revoked by deleting the line."""

    def test_share_link_reads_one_site_until_revoked(self):
        stack = Stack(partitions=1)
        self.addCleanup(stack.close)
        db = stack.path("counters.db")
        agg = stack.start_aggregator(db)
        self.addCleanup(stop, agg)
        ts = int(time.time() * 1000)
        status, _, _ = stack.post_events([event("pageview", site="shared", ts=ts),
                                          event("pageview", site="secret", ts=ts)])
        self.assertEqual(status, 200)
        shares = stack.path("shares")
        r = subprocess.run([BUILD + "/activity-web", "--new-share", "shared"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--share-file", r.stderr)
        r = subprocess.run([BUILD + "/activity-web", "--share-file", shares, "--new-share",
                            "shared"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        link = r.stdout.strip()
        self.assertRegex(link, r"^/share/[0-9a-f]{32}$")
        self.assertEqual(os.stat(shares).st_mode & 0o777, 0o600)
        share_token = link.rsplit("/", 1)[1]
        web, url = start_web(stack, db, "--token", TOKEN, "--share-file", shares)
        self.addCleanup(stop, web)
        deadline = time.time() + 60
        while True:  # both sites counted
            status, _, body = get(url, "/api/v1/sites", {"Authorization": "Bearer " + TOKEN})
            if json.loads(body)["sites"] == ["secret", "shared"]:
                break
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)

        status, h, _ = get(url, link)
        self.assertEqual((status, h["location"]), (303, "/?site=shared"))
        self.assertIn("activity_share=" + share_token, h["set-cookie"])
        self.assertIn("HttpOnly", h["set-cookie"])
        cookie = {"Cookie": "activity_share=" + share_token}
        bearer = {"Authorization": "Bearer " + share_token}
        for auth in (cookie, bearer):
            status, _, body = get(url, "/api/v1/sites", auth)
            self.assertEqual((status, json.loads(body)["sites"]), (200, ["shared"]))
            status, _, body = get(url, "/api/v1/summary?site=shared", auth)
            self.assertEqual((status, json.loads(body)["pageview"]), (200, 1))
            for path in ("/api/v1/summary?site=secret", "/api/v1/top?site=secret&type=pageview",
                         "/api/v1/summary", "/api/v1/live?site=secret"):
                status, _, body = get(url, path, auth)
                self.assertEqual(status, 403, path)
                self.assertNotIn(b"secret", body.replace(b"/api", b""))
            self.assertEqual(get(url, "/", auth)[0], 200)  # the dashboard
            self.assertEqual(get(url, "/", auth, method="POST")[0], 405)
        # no link, a wrong one, or the admin token only in a share's place
        self.assertEqual(get(url, "/api/v1/summary?site=shared")[0], 401)
        self.assertEqual(get(url, "/share/" + "0" * 32)[0], 404)
        self.assertEqual(get(url, "/share/" + TOKEN)[0], 404)
        self.assertEqual(get(url, "/api/v1/summary?site=shared",
                             {"Cookie": "activity_share=" + "0" * 32})[0], 401)
        # revoked: the line deleted, the file re-read on its own
        with open(shares, "w") as f:
            f.write("# no shares\n")
        deadline = time.time() + 30
        while get(url, "/api/v1/summary?site=shared", cookie)[0] != 401:
            self.assertLess(time.time(), deadline, "the revoked link still works")
            time.sleep(0.2)
        self.assertEqual(get(url, link)[0], 404)
        # the admin sees everything throughout
        status, _, body = get(url, "/api/v1/summary?site=secret",
                              {"Authorization": "Bearer " + TOKEN})
        self.assertEqual((status, json.loads(body)["pageview"]), (200, 1))


class Token(unittest.TestCase):
    def test_token_rule(self):
        stack = Stack(partitions=1)
        self.addCleanup(stack.close)
        db = stack.path("counters.db")
        with open(os.path.join(ROOT, "schema", "counters.sql")) as f:
            subprocess.run(["sqlite3", db], input=f.read(), text=True, check=True)
        r = subprocess.run([BUILD + "/activity-web", "--db", db, "--listen", "0.0.0.0:0",
                            "--static-dir", STATIC], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a loopback address: set --token", r.stderr)
        r = subprocess.run([BUILD + "/activity-web", "--token", "short"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--token must be at least 16", r.stderr)

        web, url = start_web(stack, db, "--token", TOKEN)
        self.addCleanup(stop, web)
        status, h, _ = get(url, "/api/v1/sites")
        self.assertEqual(status, 401)
        self.assertEqual(h["www-authenticate"], "Bearer")
        self.assertEqual(get(url, "/api/v1/sites", {"Authorization": "Bearer wrong"})[0], 401)
        self.assertEqual(get(url, "/api/v1/sites", {"Authorization": "Bearer " + TOKEN[:-1]})[0],
                         401)
        status, _, body = get(url, "/api/v1/sites", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual((status, json.loads(body)), (200, {"sites": [], "time_zones": {}}))
        status, _, body = get(url, "/")
        self.assertEqual(status, 401)
        self.assertIn(b'<form method=post action=/login>', body)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(get(url, "/login", form, "POST", "token=nope")[0], 401)
        status, h, _ = get(url, "/login", form, "POST", "token=" + TOKEN)
        self.assertEqual(status, 303)
        self.assertEqual(h["location"], "/")
        cookie = h["set-cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        status, _, body = get(url, "/", {"Cookie": cookie.split(";")[0]})
        self.assertEqual(status, 200)
        self.assertIn(b"app.js", body)
        self.assertEqual(get(url, "/healthz")[0], 200, "health needs no token")


class Tls(unittest.TestCase):
    """HTTPS on web and ingest with a certificate made at test time; the
    sign-in cookie is Secure over TLS, or behind a proxy that says https."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(partitions=1, brokers=1)
        cls.cert, cls.key = cls.stack.path("cert.pem"), cls.stack.path("key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", cls.key, "-out", cls.cert, "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=60)
        cls.ctx = ssl.create_default_context(cafile=cls.cert)
        cls.db = cls.stack.path("counters.db")
        con = sqlite3.connect(cls.db)
        with open(os.path.join(ROOT, "schema", "counters.sql")) as f:
            con.executescript(f.read())
        con.close()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def https(self, url, method, path, body=None, headers=None):
        return get(url, path, headers, method, body, context=self.ctx)

    def login_cookie(self, url, request, headers=None):
        status, h, _ = request(url, "POST", "/login", "token=" + TOKEN,
                               {"Content-Type": "application/x-www-form-urlencoded",
                                **(headers or {})})
        self.assertEqual(status, 303)
        return h["set-cookie"]

    def test_web_over_https_sets_a_secure_cookie(self):
        web, url = start_web(self.stack, self.db, "--token", TOKEN, "--tls-cert", self.cert,
                             "--tls-key", self.key)
        try:
            self.assertTrue(url.startswith("https://"), url)
            self.assertEqual(self.https(url, "GET", "/healthz")[0], 200)
            self.assertIn("; Secure", self.login_cookie(url, self.https))
        finally:
            self.assertEqual(stop(web), 0)

    def test_secure_cookie_behind_a_tls_proxy_only_when_trusted(self):
        def plain(url, method, path, body=None, headers=None):
            return get(url, path, headers, method, body)
        for trusted in (False, True):
            web, url = start_web(self.stack, self.db, "--token", TOKEN,
                                 *(("--trust-forwarded",) if trusted else ()))
            try:
                cookie = self.login_cookie(url, plain, {"X-Forwarded-Proto": "https"})
                self.assertEqual("; Secure" in cookie, trusted, cookie)
                self.assertNotIn("; Secure", self.login_cookie(url, plain))
            finally:
                self.assertEqual(stop(web), 0)

    def test_ingest_over_https(self):
        self.stack.start_ingest("--tls-cert", self.cert, "--tls-key", self.key)
        try:
            self.assertTrue(self.stack.url.startswith("https://"), self.stack.url)
            status, _, body = self.https(self.stack.url, "POST", "/v1/events",
                                         json.dumps(event()).encode(),
                                         {"Content-Type": "application/json"})
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["accepted"], 1)
        finally:
            self.assertEqual(stop(self.stack.ingest), 0)
            self.stack.ingest = None
        r = subprocess.run([BUILD + "/activity-ingest", "--tls-cert", self.cert],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tls-cert and --tls-key go together", r.stderr)


class Tracker(unittest.TestCase):
    def test_ingest_serves_tracker_js_small_and_cacheable(self):
        stack = Stack(partitions=1)
        self.addCleanup(stack.close)
        status, h, body = stack.request("GET", "/tracker.js")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/javascript"))
        self.assertIn("max-age=3600", h["cache-control"])
        with open(os.path.join(ROOT, "web", "tracker.js"), "rb") as f:
            self.assertEqual(body, f.read())
        self.assertLessEqual(len(gzip.compress(body, 9)), 3072)
        status, h2, body = stack.request("GET", "/tracker.js", headers={"If-None-Match": h["etag"]})
        self.assertEqual((status, body), (304, b""))


class BotsAndSpreadsheets(unittest.TestCase):
    def test_bot_events_are_counted_apart_and_csv_cannot_run_formulas(self):
        stack = Stack(partitions=1, brokers=1)
        self.addCleanup(stack.close)
        db = stack.path("counters.db")
        agg = stack.start_aggregator(db)
        self.addCleanup(stop, agg)
        formula = "=HYPERLINK(\"http://evil.test\",\"click\")"
        self.assertEqual(stack.post_events([event("click", site="b", target=formula),
                                            event("click", site="b", target="-1")])[0], 200)
        self.assertEqual(stack.post_events([event(site="b"), event("search", site="b")],
                                           headers={"User-Agent": "curl/8.0"})[0], 200)
        deadline = time.time() + 60
        while subprocess.run(["sqlite3", db, "SELECT (SELECT coalesce(sum(n), 0) FROM counts WHERE "
                              "granularity = 'day' AND dim = '') || '/' || (SELECT coalesce(sum(n), "
                              "0) FROM bot_counts WHERE granularity = 'day' AND dim = '')"],
                             capture_output=True, text=True).stdout.strip() != "2/2":
            self.assertLess(time.time(), deadline, "the events were not counted")
            time.sleep(0.2)
        web, url = start_web(stack, db)
        self.addCleanup(stop, web)
        status, _, body = get(url, "/api/v1/summary?site=b")
        s = json.loads(body)
        self.assertEqual((s["pageview"], s["click"], s["search"], s["bots"]), (0, 2, 0, 2))
        status, _, body = get(url, "/api/v1/top?site=b&type=click&format=csv")
        rows = body.decode().split("\r\n")
        self.assertEqual(rows[0], "dim,n,visitors")
        # quoted, with a leading ' so that a spreadsheet shows it as text
        self.assertEqual(sorted(rows[1:3]), sorted(['"\'-1",1,1', '"\'=HYPERLINK(""http://evil.test"",'
                                                    '""click"")",1,1']))


class Retention(unittest.TestCase):
    """An aggregator with a one-hour minute window: an event three hours
    old stays in its hour and day, its minute is deleted, and every answer
    that reaches back there says it is partial, from when it is complete."""

    def test_pruned_ranges_are_marked_partial(self):
        stack = Stack(partitions=1, brokers=1)
        self.addCleanup(stack.close)
        db = stack.path("counters.db")
        agg, metrics = stack.start_aggregator_with_url(
            db, "--keep-minutes", "1h", "--keep-minute-dims", "1h", "--retention-interval", "1s")
        self.addCleanup(stop, agg)
        now = int(time.time())
        old = now - 3 * 3600  # counted (inside --max-past), its minute outside the window
        status, _, body = stack.post_events([
            event("pageview", site="r", url="https://r.test/old", ts=old * 1000, anonymous_id="a"),
            event("pageview", site="r", url="https://r.test/new", ts=now * 1000, anonymous_id="b")])
        self.assertEqual((status, body["accepted"]), (200, 2), body)

        def one(sql):
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
            try:
                return con.execute(sql).fetchone()[0]
            except sqlite3.OperationalError:  # not created yet
                return None
            finally:
                con.close()
        deadline = time.time() + 60
        while not (one("SELECT sum(n) FROM counts WHERE granularity = 'hour' AND dim = ''") == 2
                   and one("SELECT count(*) FROM retention WHERE granularity = 'minute'") == 2
                   and one("SELECT count(*) FROM counters WHERE granularity = 'minute' AND "
                           "bucket < %d" % (now - 3600)) == 0):
            self.assertLess(time.time(), deadline, "the old minute was never pruned")
            time.sleep(0.2)
        # the sizes in /metrics follow the passes: the new event's minute
        # totals left (its pageview's and its visit's)
        hour_start = old - old % 3600
        left = one("SELECT count(*) FROM counters WHERE granularity = 'minute' AND dim = ''")
        self.assertEqual(left, one("SELECT count(*) FROM counters WHERE granularity = 'minute' "
                                   "AND dim = '' AND bucket = %d" % (now - now % 60)))
        while True:
            text = urllib.request.urlopen(metrics, timeout=10).read().decode()
            if 'activity_aggregator_rows{granularity="minute",scope="totals"} %d\n' % left in text:
                break
            self.assertLess(time.time(), deadline, text)
            time.sleep(0.2)
        self.assertIn('activity_aggregator_sketches{granularity="hour"} 2\n', text)
        self.assertRegex(text, r"activity_aggregator_db_bytes [1-9]")
        self.assertRegex(text, r'activity_aggregator_oldest_bucket_seconds\{granularity="hour"\} '
                         + str(hour_start) + "\n")
        # passes run every second and move kept_from on each minute: the
        # aggregator is paused while the answers are compared with it
        agg.send_signal(signal.SIGSTOP)
        self.addCleanup(agg.send_signal, signal.SIGCONT)
        kept = one("SELECT kept_from FROM retention WHERE granularity = 'minute' AND "
                   "scope = 'totals'")
        self.assertEqual(kept, one("SELECT kept_from FROM retention WHERE granularity = "
                                   "'minute' AND scope = 'dims'"))
        self.assertTrue(old < kept <= time.time() - 3600, (old, kept, now))
        web, url = start_web(stack, db)
        self.addCleanup(stop, web)

        def api(path, **params):
            status, _, body = get(url, "/api/v1/%s?%s" % (path, urllib.parse.urlencode(params)))
            self.assertEqual(status, 200, body)
            return json.loads(body)
        end = now - now % 60 + 60
        # not whole hours: minutes, of which the old one is gone
        s = api("summary", site="r", **{"from": hour_start + 60, "to": end})
        self.assertEqual((s["pageview"], s["partial"], s["available_from"]), (1, True, kept))
        t = api("top", site="r", type="pageview", **{"from": hour_start + 60, "to": end})
        self.assertEqual((t["items"], t["partial"], t["available_from"]),
                         ([{"dim": "/new", "n": 1, "visitors": 1}], True, kept))
        ts = api("timeseries", site="r", type="pageview", granularity="minute",
                 **{"from": hour_start, "to": end})
        self.assertTrue(ts["partial"])
        self.assertEqual([p for p in ts["points"] if p[1] is None],
                         [[b, None] for b in range(hour_start, kept, 60)])
        self.assertEqual(sum(p[1] for p in ts["points"] if p[1] is not None), 1)
        # whole hours: both events, nothing missing
        s = api("summary", site="r", **{"from": hour_start, "to": now - now % 3600 + 3600})
        self.assertEqual((s["pageview"], s["uniques"], s["partial"]), (2, 2, False))
        self.assertNotIn("available_from", s)


if __name__ == "__main__":
    unittest.main(verbosity=2)
