#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TPM goes away under a running daemon (swtpm killed), and comes back (swtpm restarted on the same
socket with the same state): calls fail cleanly while it is gone, TPMPresent follows with a
PropertiesChanged signal each way, the daemon survives, and the first call after the return works."""

import os
import re
import select
import signal
import subprocess
import time
import unittest

from daemontest import (ERROR, MANAGER, PATH, TPM, call, daemon_alive, dbus_send, new_daemon,  # noqa: F401
                        tpharness, tpm_present, tptest)


class SignalWatch:
    """dbus-monitor for PropertiesChanged on our object, as a user's client would subscribe."""

    def __init__(self):
        self.proc = subprocess.Popen(
                ["dbus-monitor", "--system",
                 f"type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                 f"path='{PATH}'"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.buffer = ""
        # dbus-monitor prints its own NameAcquired/NameLost once its match rules are in place.
        self.wait_for(lambda text: "NameLost" in text or "NameAcquired" in text, 10)

    def wait_for(self, condition, timeout):
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while not condition(self.buffer):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"dbus-monitor saw nothing expected in {timeout}s:\n{self.buffer}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536).decode(errors="replace")
                if not chunk:
                    raise AssertionError("dbus-monitor exited: " + self.proc.stderr.read().decode())
                self.buffer += chunk
        return self.buffer

    def take(self):
        text, self.buffer = self.buffer, ""
        return text

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def tpm_present_change(value):
    """A PropertiesChanged of the Manager interface carrying TPMPresent = value, in dbus-monitor's format:
    'string "TPMPresent"' and on the next line 'variant   boolean false'."""
    pattern = re.compile(r'"TPMPresent"\s*\n\s*variant\s+boolean ' + ("true" if value else "false") + r"\b")

    def condition(text):
        return any(MANAGER in block and pattern.search(block) for block in text.split("\nsignal "))
    return condition


class TpmLossTest(unittest.TestCase):

    def test_swtpm_killed_and_restarted(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as s:
            with new_daemon(s) as d:
                watch = SignalWatch()
                self.addCleanup(watch.close)
                self.assertEqual(len(call(TPM, "GetRandom", "u", 32)[0]), 32)
                self.assertIs(tpm_present(), True)

                # The TPM disappears: swtpm dies without a goodbye.
                os.kill(s.swtpm.pid, signal.SIGKILL)
                s.swtpm.proc.popen.wait(10)

                name, message = dbus_send(PATH, TPM + ".GetRandom", "uint32:32")
                self.assertIn(name, (ERROR + "NoTPM", ERROR + "TPMFailure"), message)
                watch.wait_for(tpm_present_change(False), 10)
                self.assertIs(tpm_present(), False)
                daemon_alive(self, d)

                # Still gone: the reopen fails cleanly, as NoTPM now that the daemon knows.
                name, message = dbus_send(PATH, TPM + ".GetRandom", "uint32:32")
                self.assertEqual(name, ERROR + "NoTPM", message)
                name, message = dbus_send(PATH, TPM + ".ReadPCRs", "string:sha256", "array:uint32:0")
                self.assertEqual(name, ERROR + "NoTPM", message)
                self.assertIs(tpm_present(), False)
                # No flapping while it stays away.
                self.assertFalse(tpm_present_change(True)(watch.take()))

                # It comes back on the same socket with the same state: the next call reopens it.
                s.swtpm.start()
                self.assertEqual(len(call(TPM, "GetRandom", "u", 32)[0]), 32)
                self.assertIs(tpm_present(), True)
                watch.wait_for(tpm_present_change(True), 10)
                self.assertEqual([i for i, _ in call(TPM, "ReadPCRs", "sau", "sha256", 1, 7)[0]], [7])
                daemon_alive(self, d)
            # The daemon stopped cleanly (its context went to the restarted swtpm); the stack's leak
            # check then runs against the restarted swtpm.


if __name__ == "__main__":
    tptest.main()
