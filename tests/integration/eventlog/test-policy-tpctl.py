#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tpctl policy learn / check on a TPM that booted a real machine's firmware log (tp-simulate-boot into
swtpm before trusted-platformd starts): the learned policy passes on the machine it was learned from;
one more measurement into a PCR it covers makes exactly that rule fail (and the firmware log no longer
confirmed), with exit status 1; a malformed policy is refused with its place; a policy that checks
nothing is refused; a log that does not match the TPM gives no facts to learn."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402
from importlib.machinery import SourceFileLoader  # noqa: E402

compare = SourceFileLoader("compare", os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                                   "test-eventlog-compare-tpm.py")).load_module()
Booted, tpctl, FIXTURES = compare.Booted, compare.tpctl, compare.FIXTURES
ARCH = os.path.join(FIXTURES, "event-arch-linux.bin")
BOOTORDER = os.path.join(FIXTURES, "event-bootorder.bin")


class PolicyTest(unittest.TestCase):
    def test_learn_check_and_change(self):
        with Booted(ARCH), tempfile.TemporaryDirectory() as d:
            policy = os.path.join(d, "policy.json")
            p = tpctl("policy", "learn", "--eventlog", ARCH, policy)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            learned = json.load(open(policy))
            self.assertEqual(learned["version"], 1)
            self.assertEqual(sorted(learned["pcrs"]["sha256"]), [str(i) for i in range(8)])
            # Facts were learned: the arch log measures Secure Boot state.
            self.assertIn("secure_boot", learned)

            p = tpctl("--json=short", "policy", "check", "--eventlog", ARCH, policy)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            rows = json.loads(p.stdout)
            self.assertTrue(all(r["Passed"] for r in rows), rows)
            self.assertIn("pcrs.sha256.7", [r["Rule"] for r in rows])

            p = tpctl("tpm", "extend", "7", input=b"a new db entry")
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            p = tpctl("--json=short", "policy", "check", "--eventlog", ARCH, policy)
            self.assertEqual(p.returncode, 1)
            failed = {r["Rule"]: r["Message"] for r in json.loads(p.stdout) if not r["Passed"]}
            self.assertIn("pcrs.sha256.7", failed)
            self.assertIn("PCR 7 (sha256) is", failed["pcrs.sha256.7"])
            self.assertIn("eventlog", failed)
            self.assertIn("does not match PCR 7", failed["eventlog"])
            self.assertNotIn("pcrs.sha256.0", failed)
            self.assertIn("rules failed", p.stderr.decode())

            # Text output: one line per rule.
            p = tpctl("policy", "check", "--eventlog", ARCH, policy)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.stdout.decode(), r"(?m)^FAIL pcrs\.sha256\.7 +PCR 7 \(sha256\) is ")
            self.assertRegex(p.stdout.decode(), r"(?m)^ok   pcrs\.sha256\.0 ")

            # Learning now: the log no longer matches, so only PCR values.
            p = tpctl("policy", "learn", "--eventlog", ARCH)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertIn("Not learning facts", p.stderr.decode())
            self.assertNotIn("secure_boot", json.loads(p.stdout))

    def test_refusals(self):
        with Booted(BOOTORDER), tempfile.TemporaryDirectory() as d:
            def check(text, *args):
                path = os.path.join(d, "p.json")
                with open(path, "w") as f:
                    f.write(text)
                return tpctl("policy", "check", "--eventlog", BOOTORDER, *args, path)

            p = check('{"version": 1, "pcrs": {"sha256": {"7": "00"}}}')
            self.assertEqual(p.returncode, 1)
            self.assertIn('pcrs.sha256."7": a digest of 1 bytes, expected 32', p.stderr.decode())
            p = check('{"version": 1}')
            self.assertEqual(p.returncode, 1)
            self.assertIn("would accept every machine", p.stderr.decode())
            p = check('{"version": 1, "secureboot": true}')
            self.assertEqual(p.returncode, 1)
            self.assertIn('unknown key "secureboot"', p.stderr.decode())
            p = tpctl("policy", "check", os.path.join(d, "missing.json"))
            self.assertEqual(p.returncode, 1)
            # A forced empty policy passes and says so.
            p = check('{"version": 1, "force": true}')
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertIn("checks nothing", p.stdout.decode())
            # Bad arguments.
            self.assertEqual(tpctl("policy").returncode, 2)
            self.assertEqual(tpctl("policy", "forget").returncode, 2)
            self.assertEqual(tpctl("policy", "learn", "--pcrs", "0-99").returncode, 2)
            self.assertEqual(tpctl("policy", "learn", "--bank", "md5").returncode, 2)
            self.assertEqual(tpctl("policy", "check", "a", "b").returncode, 2)
            self.assertEqual(tpctl("policy", "check", "--compare-tpm", "x").returncode, 2)


if __name__ == "__main__":
    tptest.main()
