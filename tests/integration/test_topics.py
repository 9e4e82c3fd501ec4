# SPDX-License-Identifier: Apache-2.0
"""activity-topics against the devbroker: check reports what a cluster's
topics have and what production would want; create says why it failed.
The devbroker implements neither CreateTopics nor DescribeConfigs, so the
rules on replication, min.insync.replicas and retention are unit-tested
(tests/unit/test_topic_rules.c) and here only what the devbroker answers."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Stack  # noqa: E402


def topics(*args):
    return subprocess.run([BUILD + "/activity-topics", *args, "--timeout", "1000"],
                          capture_output=True, text=True, timeout=120)


class Topics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack(partitions=3, brokers=1)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def test_check_reports_partitions_replicas_and_weak_settings(self):
        r = topics("check", "--brokers", self.st.brokers)
        self.assertEqual(r.returncode, 0, r.stderr)
        for t in ("pageview", "click", "search", "invalid"):
            self.assertIn("topic activity.%s: 3 partitions, replication 1" % t, r.stdout)
            self.assertIn("WARN topic activity.%s: replication factor 1" % t, r.stdout)
        self.assertIn("WARN min.insync.replicas and retention not checked", r.stdout)

    def test_missing_topics_fail_the_check(self):
        r = topics("check", "--brokers", self.st.brokers, "--topic-prefix", "absent")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR topic absent.click does not exist", r.stdout)

    def test_create_says_why_it_failed(self):
        r = topics("create", "--brokers", self.st.brokers, "--topic-prefix", "new")
        self.assertEqual(r.returncode, 1)
        self.assertIn("activity-topics: CreateTopics: ", r.stderr)

    def test_usage(self):
        r = subprocess.run([BUILD + "/activity-topics"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("say create or check", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
