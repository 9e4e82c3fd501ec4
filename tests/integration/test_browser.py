# SPDX-License-Identifier: Apache-2.0
"""The dashboard and tracker.js in a real browser: devbroker, ingest, an
aggregator and activity-web started here, tests/browser/dashboard.mjs
driving Debian's Chromium through playwright-core. Screenshots are kept in
$BUILD/test-artifacts/."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Stack, start, stop  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")


class Browser(unittest.TestCase):
    def stack_with_web(self, *aggregator_flags, web_flags=()):
        """devbroker, ingest, an aggregator and activity-web: (stack, db, web URL)."""
        self.assertTrue(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
                        "run `npm ci` in tests/browser (make test does)")
        stack = Stack()
        self.addCleanup(stack.close)
        db = stack.path("counters.db")
        agg = stack.start_aggregator(db, *aggregator_flags)
        self.addCleanup(stop, agg)
        web, url = start([BUILD + "/activity-web", "--db", db, "--listen", "127.0.0.1:0",
                          "--static-dir", os.path.join(ROOT, "web", "static"),
                          "--collector", stack.url, *web_flags], stack.path("web.log"))
        self.addCleanup(stop, web)
        return stack, db, url

    def summary(self, url, want, timeout=30):
        deadline = time.time() + timeout
        while True:
            with urllib.request.urlopen(url + "api/v1/summary?site=demo", timeout=10) as resp:
                s = json.load(resp)
            got = tuple(s[k] for k in ("pageview", "click", "search", "zero_result_search"))
            if got == want or time.time() > deadline:
                return got
            time.sleep(0.2)

    def test_tracker_sends_a_failed_batch_again(self):
        stack, db, url = self.stack_with_web()
        r = subprocess.run(["node", "retry.mjs", url], cwd=BROWSER_DIR, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.summary(url, (1, 0, 1, 0)), (1, 0, 1, 0))

    def test_demo_site_counts_appear_live_and_html_stays_text(self):
        # UTC+14: its date is not UTC's for 14 hours a day, so "today" is
        # only right if the page and the API both take the site's
        zone = "Pacific/Kiritimati"
        stack, db, url = self.stack_with_web(web_flags=("--site-tz", "demo=" + zone))
        artifacts = os.path.join(BUILD, "test-artifacts")
        r = subprocess.run(["node", "dashboard.mjs", url, artifacts, zone], cwd=BROWSER_DIR,
                           capture_output=True, text=True, timeout=180)
        if r.returncode:
            sent = ["%s %s %s %s" % (m["topic"], m["event"]["url"], m["event"].get("bot"),
                                     m["event"].get("user_agent"))
                    for m in stack.dump("pageview", "click", "search", "invalid")]
            self.fail("browser test failed:\n%s%s\nin Kafka:\n%s"
                      % (r.stdout, r.stderr, "\n".join(sent)))
        self.assertTrue(os.path.getsize(os.path.join(artifacts, "dashboard.png")) > 10000)
        # the counts the page showed are the stored ones, humans only
        self.assertEqual(self.summary(url, (3, 3, 2, 1), timeout=0), (3, 3, 2, 1))
        out = subprocess.run(["sqlite3", db, "SELECT count(*) FROM bot_counts"],
                             capture_output=True, text=True)
        self.assertEqual(out.stdout.strip(), "0")

    def test_default_tracker_stores_nothing_and_opt_out_stops_it(self):
        stack, db, url = self.stack_with_web()
        r = subprocess.run(["node", "privacy.mjs", url], cwd=BROWSER_DIR, capture_output=True,
                           text=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # 2 pageviews (one per browser context that sends) and 2 clicks, by
        # one visitor: the collector's daily id, with no storage shared
        self.assertEqual(self.summary(url, (2, 2, 0, 0)), (2, 2, 0, 0))
        with urllib.request.urlopen(url + "api/v1/summary?site=demo", timeout=10) as resp:
            self.assertEqual(json.load(resp)["uniques"], 1)

    def test_fresh_install_url_view_csv_bots_and_phone(self):
        stack, db, url = self.stack_with_web()
        err_path = stack.path("firstrun.err")
        with open(err_path, "w") as err_file:
            p = subprocess.Popen(["node", "firstrun.mjs", url,
                                  os.path.join(BUILD, "test-artifacts")],
                                 cwd=BROWSER_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=err_file, text=True)
        try:
            line = p.stdout.readline()  # the first-run panel was checked
            if line.strip() != "send":
                p.kill()
                with open(err_path) as f:
                    self.fail("before any event: %s%s" % (line, f.read()))
            now = int(time.time() * 1000)
            ev = {"type": "pageview", "site": "fresh", "url": "https://fresh.test/landing", "ts": now}
            self.assertEqual(stack.post_events([ev])[0], 200)
            self.assertEqual(stack.post_events([ev], headers={"User-Agent": "curl/8.0"})[0], 200)
            p.stdin.write("sent\n")
            p.stdin.flush()
            out = p.communicate(timeout=120)[0]
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        with open(err_path) as f:
            self.assertEqual(p.returncode, 0, out + f.read())

    def test_share_link_shows_one_site(self):
        token = "browser-test-token-0123456789"
        shares = tempfile.mkdtemp(prefix="activity-shares-")
        self.addCleanup(shutil.rmtree, shares)
        shares = os.path.join(shares, "shares")
        r = subprocess.run([BUILD + "/activity-web", "--share-file", shares, "--new-share",
                            "shared"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        stack, db, url = self.stack_with_web(web_flags=("--token", token, "--share-file", shares))
        now = int(time.time() * 1000)
        for site in ("shared", "secret"):
            ev = {"type": "pageview", "site": site, "url": "https://x.test/", "ts": now}
            self.assertEqual(stack.post_events([ev])[0], 200)
        r = subprocess.run(["node", "share.mjs", url, r.stdout.strip(), "shared", "secret"],
                           cwd=BROWSER_DIR, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_range_past_retention_is_marked_partial(self):
        # minutes kept 10 minutes: the last-hour view is partial, today is not
        stack, db, url = self.stack_with_web("--keep-minutes", "10m", "--retention-interval", "1s")
        now = int(time.time())
        status, _, body = stack.post_events([
            {"type": "pageview", "site": "r", "anonymous_id": "v1", "url": "https://r.test/" + p,
             "ts": ts * 1000} for p, ts in (("old", max(now - 1800, now - now % 86400)),
                                            ("new", now))])
        self.assertEqual((status, body["accepted"]), (200, 2), body)
        deadline = time.time() + 60
        while subprocess.run(["sqlite3", db, "SELECT count(*) FROM retention WHERE granularity = "
                              "'minute' AND scope = 'totals'"], capture_output=True,
                             text=True).stdout.strip() != "1":
            self.assertLess(time.time(), deadline, "no retention pass")
            time.sleep(0.2)
        r = subprocess.run(["node", "partial.mjs", url, "r", os.path.join(BUILD, "test-artifacts")],
                           cwd=BROWSER_DIR, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
