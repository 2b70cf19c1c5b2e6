# SPDX-License-Identifier: LGPL-2.1-or-later
"""One account check through a real PAM stack, shared by test-pam.py (stand-in trust service) and
test-pam-daemon.py (the real daemon): pam-check runs pam_start_confdir() with a service file generated
here, pam_acct_mgmt(), pam_end(), and prints the conversation, libpam's syslog lines and the result.
With TP_PAM_VALGRIND=1 every pam-check runs under valgrind, and any memory error or leak fails it."""

import os
import subprocess
import tempfile
import time

MODULE = os.environ["TP_PAM_MODULE"]
CHECK = os.environ["TP_PAM_CHECK"]
VALGRIND = os.environ.get("TP_PAM_VALGRIND") == "1"
WRAP = (["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
         "--errors-for-leak-kinds=definite,indirect,possible", "--show-leak-kinds=definite,indirect,possible"]
        if VALGRIND else [])
LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_DEBUG = 3, 4, 5, 7


class Result:
    def __init__(self, out, elapsed):
        self.out = out
        self.elapsed = elapsed
        self.result = None
        self.errors, self.infos, self.syslog = [], [], []
        for line in out.splitlines():
            if line.startswith("result: "):
                self.result = line[8:]
            elif line.startswith("error: "):
                self.errors.append(line[7:])
            elif line.startswith("info: "):
                self.infos.append(line[6:])
            elif line.startswith("syslog "):
                prio, text = line[7:].split(": ", 1)
                self.syslog.append((int(prio), text))

    def logged(self, prio):
        return [t for p, t in self.syslog if p == prio]


def pam(test, options="", user="root", flags=None, service_text=None):
    """pam_acct_mgmt() for user through "account required pam_trusted_platform.so OPTIONS" (or the
    given service file text)."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "tp-test"), "w") as f:
            f.write(service_text or f"account required {MODULE} {options}\n")
        args = WRAP + [CHECK, d, "tp-test", user] + ([flags] if flags else [])
        start = time.monotonic()
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - start
    test.assertEqual(p.returncode, 0, f"pam-check failed ({p.returncode}): {p.stdout}\n{p.stderr}")
    r = Result(p.stdout, elapsed)
    test.assertIsNotNone(r.result, p.stdout)
    return r


class PamAssertions:
    """For unittest.TestCase subclasses: what a refused and an allowed login look like."""

    def assertDenied(self, r, *fragments):
        self.assertEqual(r.result, "PAM_PERM_DENIED", r.out)
        self.assertEqual(len(r.errors), 1, r.out)
        self.assertTrue(r.errors[0].startswith("Login refused: "), r.out)
        warn = r.logged(LOG_WARNING)
        self.assertEqual(len(warn), 1, r.out)
        self.assertIn("'root'", warn[0])
        for f in fragments:
            self.assertIn(f, r.errors[0])
            self.assertIn(f, warn[0])

    def assertAllowedQuietly(self, r):
        self.assertEqual(r.result, "PAM_SUCCESS", r.out)
        self.assertEqual(r.errors, [], r.out)
        self.assertEqual(r.infos, [], r.out)
        self.assertEqual(r.logged(LOG_WARNING), [], r.out)
