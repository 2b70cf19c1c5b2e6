#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pam_trusted_platform.so through a real PAM stack (pam_start_confdir() with a generated service
file), asking a stand-in trust service on tp-run's private system bus. With TP_PAM_VALGRIND=1 every
PAM process runs under valgrind, and any memory error or leak fails the test."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402
from pamcheck import (CHECK, LOG_DEBUG, LOG_ERR, LOG_WARNING, MODULE, VALGRIND, WRAP, PamAssertions,  # noqa: E402
                      pam)

SERVICE = os.environ["TP_TRUST_SERVICE"]


class Service:
    """trust-service on the test bus, stopped by pid when the block ends."""

    def __init__(self, *args):
        self.args = [str(a) for a in args]

    def __enter__(self):
        self.p = subprocess.Popen([SERVICE, *self.args], stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if line.strip() != "READY":
            self.p.kill()
            self.p.wait()
            raise RuntimeError(f"trust-service {self.args} did not start")
        return self

    def __exit__(self, *exc):
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()


class PamTest(unittest.TestCase, PamAssertions):
    def test_trusted(self):
        with Service("serve", "trusted", 5):
            self.assertAllowedQuietly(pam(self))

    def test_untrusted_names_reason(self):
        with Service("serve", "untrusted", 5, "PCR 7 changed: db entry added", "second reason"):
            r = pam(self)
        self.assertDenied(r, "failed its integrity check (PCR 7 changed: db entry added)")
        self.assertNotIn("second reason", r.out)

    def test_untrusted_no_reasons(self):
        with Service("serve", "untrusted", 5):
            self.assertDenied(pam(self), "no reason given")

    def test_unknown(self):
        with Service("serve", "unknown", 5):
            self.assertDenied(pam(self), "the integrity of this computer has not been verified.")

    def test_unknown_names_reason(self):
        with Service("serve", "unknown", 5, "policy: no policy configured"):
            self.assertDenied(pam(self), "has not been verified (policy: no policy configured)")

    def test_daemon_absent_enforce(self):
        self.assertDenied(pam(self), "the trust service did not answer")

    def test_daemon_absent_warn(self):
        r = pam(self, "mode=warn")
        self.assertEqual(r.result, "PAM_SUCCESS", r.out)
        self.assertEqual(r.errors, [])
        self.assertEqual(len(r.infos), 1, r.out)
        self.assertIn("Warning: the trust service did not answer", r.infos[0])
        self.assertEqual(len(r.logged(LOG_WARNING)), 1, r.out)
        self.assertIn("warn mode", r.logged(LOG_WARNING)[0])

    def test_untrusted_warn(self):
        with Service("serve", "untrusted", 5, "PCR 4 changed"):
            r = pam(self, "mode=warn")
        self.assertEqual(r.result, "PAM_SUCCESS", r.out)
        self.assertIn("PCR 4 changed", r.infos[0])
        self.assertIn("PCR 4 changed", r.logged(LOG_WARNING)[0])

    def test_hang_times_out(self):
        with Service("hang"):
            r = pam(self, "timeout_ms=300")
        self.assertDenied(r, "did not answer")
        self.assertIn("Connection timed out", r.logged(LOG_WARNING)[0])
        if not VALGRIND:
            self.assertGreater(r.elapsed, 0.29)
            self.assertLess(r.elapsed, 3.0)

    def test_garbage(self):
        with Service("garbage"):
            self.assertDenied(pam(self), "invalid answer")

    def test_partial(self):
        with Service("partial"):
            self.assertDenied(pam(self), "invalid answer")

    def test_bogus_state(self):
        with Service("serve", "mostly-trusted", 5):
            self.assertDenied(pam(self), "invalid answer")

    def test_stale_default_max_age(self):
        with Service("serve", "trusted", 3700):
            self.assertDenied(pam(self), "more than the allowed 3600 s")

    def test_max_age_option(self):
        with Service("serve", "trusted", 120):
            self.assertDenied(pam(self, "max_age=60"), "allowed 60 s")
            self.assertAllowedQuietly(pam(self, "max_age=180"))

    def test_max_age_zero_accepts_old(self):
        with Service("serve", "trusted", 300000000):
            self.assertAllowedQuietly(pam(self, "max_age=0"))

    def test_never_attested(self):
        with Service("serve", "trusted", "never"):
            self.assertDenied(pam(self, "max_age=0"), "never been checked")

    def test_future(self):
        with Service("serve", "trusted", "future"):
            self.assertDenied(pam(self), "in the future")

    def test_exempt_group_member(self):
        with Service("serve", "untrusted", 5, "PCR 7 changed"):
            r = pam(self, "exempt_group=nogroup,root debug")
        self.assertAllowedQuietly(r)
        self.assertTrue(any("exempt group" in t for t in r.logged(LOG_DEBUG)), r.out)

    def test_exempt_group_not_member(self):
        with Service("serve", "untrusted", 5, "PCR 7 changed"):
            self.assertDenied(pam(self, "exempt_group=nogroup"), "PCR 7 changed")

    def test_exempt_group_daemon_absent(self):
        # The recovery login works when the daemon is gone.
        self.assertAllowedQuietly(pam(self, "exempt_group=root"))

    def test_unknown_option_ignored(self):
        with Service("serve", "trusted", 120):
            r = pam(self, "frobnicate max_age=60")
        self.assertDenied(r, "allowed 60 s")  # max_age after the unknown option still applies
        self.assertTrue(any("'frobnicate'" in t for t in r.logged(LOG_ERR)), r.out)

    def test_mode_bogus_enforces(self):
        r = pam(self, "mode=warn mode=permissive")
        self.assertDenied(r, "did not answer")
        self.assertTrue(any("mode=permissive" in t for t in r.logged(LOG_ERR)), r.out)

    def test_debug_logs(self):
        with Service("serve", "trusted", 5):
            quiet = pam(self)
            loud = pam(self, "debug")
        self.assertEqual(quiet.logged(LOG_DEBUG), [])
        self.assertTrue(any("Trust state trusted" in t and "verdict allow" in t for t in loud.logged(LOG_DEBUG)),
                        loud.out)

    def test_silent_flag(self):
        with Service("serve", "untrusted", 5, "PCR 7 changed"):
            r = pam(self, flags="silent")
        self.assertEqual(r.result, "PAM_PERM_DENIED", r.out)
        self.assertEqual(r.errors, [])
        self.assertEqual(len(r.logged(LOG_WARNING)), 1)

    def test_unknown_user_not_exempt(self):
        with Service("serve", "untrusted", 5, "PCR 7 changed"):
            r = pam(self, "exempt_group=root", user="no-such-user-tp")
        self.assertEqual(r.result, "PAM_PERM_DENIED", r.out)
        self.assertIn("'no-such-user-tp'", r.logged(LOG_WARNING)[0])

    def test_no_user_name(self):
        # PAM asks the conversation for a name, gets none: no user, no decision but "unknown user".
        with Service("serve", "trusted", 5):
            r = pam(self, user="")
        self.assertEqual(r.result, "PAM_USER_UNKNOWN", r.out)
        self.assertTrue(any("Cannot determine the user name" in t for t in r.logged(LOG_ERR)), r.out)

    def test_user_with_control_characters(self):
        with Service("serve", "trusted", 5):
            r = pam(self, user="evil\x1b[2J")
        self.assertEqual(r.result, "PAM_USER_UNKNOWN", r.out)
        self.assertNotIn("\x1b", r.out)

    def test_reason_with_control_characters(self):
        with Service("serve", "untrusted", 5, "PCR 7\x1b[31m changed\nfake line"):
            r = pam(self)
        self.assertDenied(r, "PCR 7?[31m changed?fake line")
        self.assertNotIn("\x1b", r.out)

    def test_connection_closed_per_check(self):
        # 50 checks in one process leave no descriptor behind: each bus connection is closed.
        with Service("serve", "trusted", 5), tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "tp-test"), "w") as f:
                f.write(f"account required {MODULE}\n")
            p = subprocess.run(WRAP + [CHECK, d, "tp-test", "root", "fds", "5" if VALGRIND else "50"],
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        before, after = p.stdout.split("fds: ")[1].split()
        self.assertEqual(before, after, p.stdout)

    def test_repeated_checks(self):
        # A new connection per call, closed before returning: many checks in a row keep working.
        with Service("serve", "trusted", 5):
            for _ in range(3 if VALGRIND else 20):
                self.assertAllowedQuietly(pam(self))


class ShippedFilesTest(unittest.TestCase):
    """pam/trusted-platform and the pam-auth-update profile, as PAM and pam-auth-update read them."""

    SRC = os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "pam")

    def test_pamd_snippet_through_pam(self):
        with open(os.path.join(self.SRC, "trusted-platform")) as f:
            text = f.read()
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        self.assertEqual(lines, ["account required pam_trusted_platform.so"])
        # The same stack with the module's build path: PAM parses it and the module refuses.
        text = text.replace("pam_trusted_platform.so", MODULE)
        with Service("serve", "untrusted", 5, "PCR 7 changed"):
            r = pam(self, service_text=text)
        self.assertEqual(r.result, "PAM_PERM_DENIED", r.out)
        self.assertIn("PCR 7 changed", r.errors[0])

    def test_pam_auth_update_profile(self):
        fields, current = {}, None
        with open(os.path.join(self.SRC, "trusted-platform.pam-config")) as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith(("\t", " ")):
                    self.assertIsNotNone(current)
                    fields[current].append(line.strip())
                elif line:
                    key, _, value = line.partition(":")
                    current = key
                    fields[key] = [value.strip()] if value.strip() else []
        self.assertEqual(fields["Default"], ["no"])
        self.assertEqual(fields["Account-Type"], ["Additional"])
        self.assertTrue(fields["Name"][0])
        self.assertTrue(int(fields["Priority"][0]) >= 0)
        self.assertEqual([ln.split() for ln in fields["Account"]], [["required", "pam_trusted_platform.so"]])
        self.assertEqual(set(fields), {"Name", "Default", "Priority", "Account-Type", "Account"})


if __name__ == "__main__":
    tptest.main()
