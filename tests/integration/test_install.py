# SPDX-License-Identifier: Apache-2.0
"""make install into a temporary DESTDIR, the installed programs run from
another directory (activity-web finds its dashboard beside its binary), the
example configurations parse, the man pages render, the systemd units pass
systemd-analyze verify (where it is installed), and make uninstall removes
every file it installed."""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, start, stop  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROGRAMS = ("activity-ingest", "activity-aggregator", "activity-export", "activity-web",
            "activity-topics", "activity-devbroker")


def make(target, destdir):
    san = ["SAN=1"] if "asan" in BUILD else []
    return subprocess.run(["make", "-s", target, "BUILD=" + BUILD, *san, "DESTDIR=" + destdir,
                           "PREFIX=/opt/activity"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


class Install(unittest.TestCase):
    def test_install_run_elsewhere_and_uninstall(self):
        tmp = tempfile.mkdtemp(prefix="activity-install-")
        self.addCleanup(shutil.rmtree, tmp)
        dest = os.path.join(tmp, "dest")
        r = make("install", dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        prefix = dest + "/opt/activity"
        for p in PROGRAMS:
            self.assertTrue(os.access(prefix + "/bin/" + p, os.X_OK), p)
            with open(prefix + "/share/man/man1/%s.1" % p) as f:
                page = f.read()
            self.assertTrue(page.startswith(".TH %s 1" % p), p)
            self.assertIn("\\-\\-version", page)
        if shutil.which("man"):
            out = subprocess.run(["man", "-l", prefix + "/share/man/man1/activity-ingest.1"],
                                 capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
            self.assertIn("--max-body-memory", out.stdout)

        # the systemd units, checked by systemd's own verifier where there is
        # one (their ExecStart pointed into DESTDIR for the check)
        units = sorted(os.listdir(prefix + "/lib/systemd/system"))
        self.assertEqual(units, ["activity-aggregator@.service", "activity-export@.service",
                                 "activity-ingest.service", "activity-web.service"])
        if shutil.which("systemd-analyze"):
            check = os.path.join(tmp, "units")
            os.mkdir(check)
            for u in units:
                with open(prefix + "/lib/systemd/system/" + u) as f:
                    text = f.read().replace("/opt/activity/bin/", prefix + "/bin/")
                with open(os.path.join(check, u.replace("@.", "@1.")), "w") as f:
                    f.write(text)
            r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                                *sorted(os.path.join(check, u) for u in os.listdir(check))],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("Unknown", r.stdout + r.stderr)

        # the example configurations parse: the only complaint is the flag added
        for p, conf in (("activity-ingest", "ingest"), ("activity-aggregator", "aggregator"),
                        ("activity-export", "export"), ("activity-web", "web")):
            r = subprocess.run([prefix + "/bin/" + p, "--config",
                                prefix + "/share/activity-tracker/examples/%s.conf" % conf,
                                "--no-such-flag"], capture_output=True, text=True, cwd=tmp)
            self.assertEqual(r.returncode, 2, p)
            self.assertIn("unknown flag '--no-such-flag'", r.stderr, p)

        # activity-web from another directory, no --static-dir
        db = os.path.join(tmp, "counters.db")
        con = sqlite3.connect(db)
        with open(os.path.join(ROOT, "schema", "counters.sql")) as f:
            con.executescript(f.read())
        con.close()
        old = os.getcwd()
        os.chdir(tmp)
        try:
            web, url = start([prefix + "/bin/activity-web", "--db", db, "--listen", "127.0.0.1:0"],
                             os.path.join(tmp, "web.log"))
        finally:
            os.chdir(old)
        try:
            page = urllib.request.urlopen(url, timeout=30).read()
            self.assertIn(b"app.js", page)
            demo = urllib.request.urlopen(url + "demo/", timeout=30)
            self.assertEqual(demo.status, 200)
        finally:
            self.assertEqual(stop(web), 0)

        r = make("uninstall", dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        left = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files]
        self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
