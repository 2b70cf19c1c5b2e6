#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""trusted-platformd on a machine without a TPM: it starts, says so, and TPM calls fail with NoTPM
instead of hanging or crashing. Run through tp-run --bus --daemon PATH with TRUSTED_PLATFORM_TCTI naming a
TPM that is not there."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402

NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
TPCTL = os.path.join(os.environ["PROJECT_BUILD_ROOT"], "src", "tpctl", "tpctl")


def dbus_send(interface, method, *args):
    return subprocess.run(["dbus-send", "--system", "--print-reply", f"--dest={NAME}", PATH,
                           f"{NAME}.{interface}.{method}", *args], capture_output=True, text=True, timeout=30)


class NoTpmTest(unittest.TestCase):

    def test_tpm_present_false(self):
        p = subprocess.run(["busctl", "--system", "--json=short", "get-property", NAME, PATH, NAME + ".Manager",
                            "TPMPresent"], capture_output=True, text=True, check=True)
        self.assertIs(json.loads(p.stdout)["data"], False)

    def test_calls_fail_with_no_tpm(self):
        for method, args in (("GetInfo", []), ("GetRandom", ["uint32:16"]),
                             ("ReadPCRs", ["string:sha256", "array:uint32:0"])):
            p = dbus_send("TPM", method, *args)
            self.assertNotEqual(p.returncode, 0, method)
            self.assertIn(f"Error {NAME}.Error.NoTPM", p.stderr, method)
            self.assertIn("No TPM is available at 'swtpm:path=/nonexistent/swtpm.sock'", p.stderr, method)
        # dbus-send cannot build a{sv}; busctl prints the message only.
        p = subprocess.run(["busctl", "--system", "call", NAME, PATH, NAME + ".TPM", "Provision", "a{sv}", "0"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("No TPM is available", p.stderr)

    def test_security_attributes_without_tpm(self):
        # Every row is still there; the TPM ones say there is no TPM instead of failing the call.
        p = subprocess.run(["busctl", "--system", "--json=short", "call", NAME, PATH, NAME + ".Manager",
                            "GetSecurityAttributes"], capture_output=True, text=True, check=True, timeout=30)
        rows = {r[0].removeprefix("org.trustedplatform."): r for r in json.loads(p.stdout)["data"][0]}
        self.assertEqual(len(rows), 8)
        self.assertEqual(rows["TpmPresent"][1:3], ["fail", "critical"])
        self.assertIn("No TPM is available", rows["TpmPresent"][3])
        for name in ("TpmLockout", "TpmProvisioned", "EkCertificate"):
            self.assertEqual(rows[name][1], "not-applicable", rows[name])

    def test_validation_before_tpm(self):
        # Bad arguments are reported as such even without a TPM.
        p = dbus_send("TPM", "GetRandom", "uint32:0")
        self.assertIn("org.freedesktop.DBus.Error.InvalidArgs", p.stderr)

    def test_tpctl_reports_no_tpm(self):
        p = subprocess.run([TPCTL, "--no-pager", "tpm", "info"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("TPM", p.stderr)
        p = subprocess.run([TPCTL, "--no-pager", "--json=short", "status"], capture_output=True, text=True,
                           timeout=30, check=True)
        self.assertIs(json.loads(p.stdout)["TPMPresent"], False)


if __name__ == "__main__":
    tptest.main()
