#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Credential activation on two swtpm instances (two EKs): runs test-tpm2-credential with TPM A as
TRUSTED_PLATFORM_TCTI and TPM B as TP_SECOND_TCTI, then checks that neither TPM holds a transient
object or session afterwards."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tpharness  # noqa: E402
import tptest  # noqa: E402

PROGRAM = sys.argv.pop(1) if len(sys.argv) > 1 else None


class Credential(unittest.TestCase):
    def test_activate_credential_two_tpms(self):
        self.assertIsNotNone(PROGRAM, "usage: test-tpm2-credential.py PROGRAM")
        with tpharness.Swtpm() as a, tpharness.Swtpm() as b, \
                tempfile.TemporaryDirectory(prefix="tp-cred-") as state:
            env = dict(os.environ,
                       TRUSTED_PLATFORM_TCTI=a.tcti,
                       TP_SECOND_TCTI=b.tcti,
                       TRUSTED_PLATFORM_STATE_DIR=state)
            p = subprocess.run([PROGRAM], env=env, capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
            sys.stderr.write(p.stdout)
            sys.stderr.write(p.stderr)
            self.assertEqual(p.returncode, 0, "test-tpm2-credential failed (TAP above)")
            self.assertNotIn("not ok", p.stdout)
            a.check_no_leaks()
            b.check_no_leaks()


if __name__ == "__main__":
    tptest.main()
