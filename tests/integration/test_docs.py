# SPDX-License-Identifier: Apache-2.0
"""The README's flag tables are generated from each program's option table
(--help-markdown); this keeps them from drifting apart, and checks that
--help explains every flag."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class Docs(unittest.TestCase):
    def test_readme_flag_tables_match_the_programs(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        for prog, cmd in (("activity-ingest", ()), ("activity-aggregator", ()),
                          ("activity-export", ()), ("activity-devbroker", ()),
                          ("activity-web", ()), ("activity-topics", ("check",))):
            out = subprocess.run([BUILD + "/" + prog, *cmd, "--help-markdown"],
                                 capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                self.assertIn(line, readme, "%s: README lacks or differs on:\n%s" % (prog, line))

    def test_every_source_file_names_its_licence(self):
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split()
        sources = [f for f in files if f.endswith((".c", ".h", ".py", ".sh", ".js", ".mjs",
                                                    ".css", ".html", ".sql"))
                   or f in ("Makefile", ".ci/run")]
        self.assertGreater(len(sources), 100)
        for f in sources:
            with open(os.path.join(ROOT, f), errors="replace") as fh:
                head = "".join(fh.readline() for _ in range(3))
            self.assertIn("SPDX-License-Identifier: Apache-2.0", head, f)
        with open(os.path.join(ROOT, "LICENSE")) as fh:
            self.assertIn("Apache License", fh.read(500))

    def test_every_program_says_its_version(self):
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        for prog in ("activity-ingest", "activity-aggregator", "activity-export",
                     "activity-devbroker", "activity-web", "activity-topics"):
            r = subprocess.run([BUILD + "/" + prog, "--version"], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, prog)
            self.assertTrue(r.stdout.startswith("%s %s" % (prog, version)), r.stdout)

    def test_help_explains_every_flag_and_errors_are_clear(self):
        out = subprocess.run([BUILD + "/activity-ingest", "--help"], capture_output=True,
                             text=True, check=True).stdout
        for flag in ("--brokers", "--listen", "--ack-timeout", "--ip", "-X prop=value", "--config"):
            self.assertIn(flag, out)
        bad = subprocess.run([BUILD + "/activity-ingest", "--ip", "hide"], capture_output=True,
                             text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--ip must be one of truncate|drop|keep, not 'hide'", bad.stderr)
        bad = subprocess.run([BUILD + "/activity-ingest", "-X", "no.such.property=1",
                              "--listen", "127.0.0.1:0"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("no.such.property", bad.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
