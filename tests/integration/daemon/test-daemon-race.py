#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CVE-2021-3560-style disconnect race (ATTACKS b-8) against the real daemon, polkitd and swtpm.

As nobody, race-client sends TPM.Provision({}) with the allow-interactive-authorization flag and hangs
up after a random delay between 0 and twice the measured handling time, up to 10,000 times or for as
long as the time budget allows. nobody is never authorized, so nothing may have happened afterwards:
no SRK at 0x81000001 (asked through the daemon, then through tpm2_getcap once the daemon let go of the
TPM), no srk.pub, and the daemon still answers."""

import os
import subprocess
import time
import unittest

from daemontest import (RACE_CLIENT, SRK_HANDLE, AS_NOBODY, tpharness, tptest,  # noqa: F401
                        daemon_alive, new_daemon, provision_once, status)

CALLS = 10000
# Seconds of racing (the number of calls made is reported); TP_RACE_BUDGET shortens it for a local run.
BUDGET = float(os.environ.get("TP_RACE_BUDGET", "30"))


class RaceTest(unittest.TestCase):

    def test_disconnect_race_on_provision(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as s:
            with new_daemon(s) as d:
                self.assertFalse(status()["SRKProvisioned"])

                start = time.monotonic()
                p = subprocess.run(AS_NOBODY + [RACE_CLIENT, str(CALLS), str(BUDGET)], capture_output=True,
                                   text=True, timeout=BUDGET * 4 + 120, stdin=subprocess.DEVNULL)
                elapsed = time.monotonic() - start
                report = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line
                              and not line.startswith("error="))
                errors = [line[6:] for line in p.stdout.splitlines() if line.startswith("error=")]
                print(f"# race: {report.get('calls')} of {CALLS} disconnecting Provision() calls as nobody "
                      f"in {elapsed:.1f}s (median handling {int(report.get('median_ns', 0)) / 1e6:.2f} ms), "
                      f"{report.get('replies')} answered before the hang-up: {', '.join(errors) or 'none'}; "
                      f"seed {report.get('seed')}")
                self.assertNotEqual(p.returncode, 2, "a Provision() call by nobody succeeded:\n" + p.stdout)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertGreater(int(report["calls"]), 500, "too few races to mean anything")
                self.assertEqual(report["succeeded"], "0")
                # Every answer that made it back was a refusal.
                for line in errors:
                    name = line.split()[0]
                    self.assertIn(name, ("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
                                         "org.freedesktop.DBus.Error.AccessDenied"), line)

                # One more, waited for: answered after the daemon worked through what the race left
                # queued in polkit, and refused.
                name, _ = provision_once(user="nobody")
                self.assertIn(name, ("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
                                     "org.freedesktop.DBus.Error.AccessDenied"))

                daemon_alive(self, d)
                self.assertFalse(status()["SRKProvisioned"])
                self.assertFalse(os.path.exists(os.path.join(s.state_dir, "srk.pub")))

            # The daemon let go of the TPM: ask it directly.
            self.assertNotIn(SRK_HANDLE, s.swtpm.handles("persistent"))
            self.assertEqual(s.swtpm.handles("persistent"), [])
            self.assertEqual([f for f in os.listdir(s.state_dir) if f.startswith("srk")], [])


if __name__ == "__main__":
    tptest.main()
