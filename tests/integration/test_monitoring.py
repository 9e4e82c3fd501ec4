# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard and the Prometheus alert rules in scripts/monitoring
use only metrics the programs export: every activity_* name in them is
found in the /metrics of a running ingest, aggregator and exporter. The
rules also pass promtool (Debian's prometheus package)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Stack, event, start, stop  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MONITORING = os.path.join(ROOT, "scripts", "monitoring")


def names(text):
    return {re.split(r"[{ ]", line, 1)[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def fetch(url):
    return urllib.request.urlopen(url, timeout=10).read().decode()


class Monitoring(unittest.TestCase):
    def test_dashboard_and_rules_use_exported_metrics(self):
        with open(os.path.join(MONITORING, "grafana-dashboard.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        with open(os.path.join(MONITORING, "alerts.yml")) as f:
            rules = f.read()
        used = set(re.findall(r"activity_[a-z_]+", " ".join(exprs) + rules))
        self.assertGreater(len(used), 20)

        st = Stack(partitions=1, brokers=1)
        try:
            agg, agg_url = st.start_aggregator_with_url(st.path("c.db"),
                                                        "--retention-interval", "1s")
            exp, exp_url = start([BUILD + "/activity-export", "--brokers", st.brokers,
                                  "--out", st.path("export"), "--metrics-listen", "127.0.0.1:0"],
                                 st.path("export.log"))
            self.assertEqual(st.post_events(event())[0], 200)
            deadline = time.time() + 60
            # assigned, and a retention pass has measured the file with the event in it
            while not ("activity_aggregator_lag_messages{" in fetch(agg_url) and
                       "activity_aggregator_oldest_bucket_seconds{" in fetch(agg_url) and
                       "activity_export_lag_messages{" in fetch(exp_url)):
                self.assertLess(time.time(), deadline, "no assignment")
                time.sleep(0.2)
            exported = names(fetch(agg_url)) | names(fetch(exp_url)) | \
                names(st.request("GET", "/metrics")[2].decode())
            for n in sorted(used):
                base = re.sub(r"_(bucket|sum|count)$", "", n)
                self.assertTrue(n in exported or base + "_bucket" in exported,
                                "%s is not exported by any program" % n)
            self.assertEqual(stop(agg), 0)
            self.assertEqual(stop(exp), 0)
        finally:
            st.close()

        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "rules",
                                os.path.join(MONITORING, "alerts.yml")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("SUCCESS: 7 rules found", r.stdout)
        else:
            print("\n  promtool not installed: the rules' syntax was not checked")


if __name__ == "__main__":
    unittest.main(verbosity=2)
