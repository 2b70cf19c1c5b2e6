#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The trust gate (issue 7 item 6): with [Attestation] GateOperations=yes and TrustState "untrusted" (a policy
whose PCR rule the platform breaks), TPM.Unseal(), CA.IssueCertificate() and CA.GenerateCertificate() are
refused with Error.PlatformUntrusted, the trust reasons in the message, for a non-root caller (nobody),
before polkit is asked; root still gets through. Trust restored (a policy the platform meets), "unknown"
(no policy) and GateOperations=no let the call reach polkit again (which refuses nobody: no agent). An
invalid GateOperations= value stops the daemon from starting."""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemontest  # noqa: E402
from daemontest import AS_NOBODY, BUS_CALL, ERROR, MANAGER, NAME, PATH, TPM, busctl, new_daemon  # noqa: E402
import tpharness  # noqa: E402
import tptest  # noqa: E402

UNTRUSTED = ERROR + "PlatformUntrusted"
POLKIT_NO = ("org.freedesktop.DBus.Error.AccessDenied",
             "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
CA = NAME + ".CA"
BAD_PCR7 = "11" * 32


def bus_call(interface, method, signature, *args, user=None):
    """bus-call on any interface: (error name or None, message)."""
    cmd = (AS_NOBODY if user == "nobody" else []) + [BUS_CALL, method, signature] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, TP_BUS_INTERFACE=interface))
    if p.returncode == 0:
        return None, ""
    if p.returncode != 3:
        raise AssertionError(f"bus-call failed ({p.returncode}): {p.stderr}")
    _, name, message = (p.stdout.rstrip("\n") + " ").split(" ", 2)
    return name, message.strip()


def call(interface, method, signature="", *args):
    p = busctl("call", NAME, PATH, interface, method, signature, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def attest():
    return tuple(call(MANAGER, "Attest", "a{sv}", 0))


class TrustGateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = tpharness.Stack(swtpm=True, bus=True, polkit=True)
        cls.stack.__enter__()
        cls.policy = os.path.join(cls.stack.dir, "policy.json")

    @classmethod
    def tearDownClass(cls):
        cls.stack.__exit__(None, None, None)

    def daemon(self, name, gate):
        d = new_daemon(self.stack, name=name)
        with open(os.path.join(d.config_dir, "trusted-platform.conf"), "w") as f:
            f.write(f"[Attestation]\nPolicy={self.policy}\nInterval=0\nGateOperations={gate}\n"
                    "[CA]\nKeyStore=file\n")  # swtpm serves one client: see ca-file-store.conf
        return d

    def write_policy(self, pcr7):
        if pcr7 is None:
            if os.path.exists(self.policy):
                os.unlink(self.policy)
            return
        with open(self.policy + ".tmp", "w") as f:
            json.dump({"version": 1, "pcrs": {"sha256": {"7": pcr7}}}, f)
        os.rename(self.policy + ".tmp", self.policy)

    def pcr7(self):
        return bytes(call(TPM, "ReadPCRs", "sau", "sha256", 1, 7)[0][0][1]).hex()

    def blob(self):
        call(TPM, "Provision", "a{sv}", 0)
        call(CA, "Init", "a{sv}", 0)  # so that GenerateCertificate() gets past opening the CA
        return bytes(call(TPM, "Seal", "aya{sv}", 6, *b"secret", 0)[0])

    def gated_calls(self, blob, user):
        """The three gated methods' answers for user: [(error name or None, message)]."""
        return [bus_call(TPM, "Unseal", "aya{sv}", blob.hex(), 0, user=user),
                bus_call(CA, "IssueCertificate", "aysa{sv}", "3082", "tls-server", 0, user=user),
                bus_call(CA, "GenerateCertificate", "ssasa{sv}", "tls-server", "CN=x", 0, 0, user=user)]

    def assertGated(self, answers):
        for name, message in answers:
            self.assertEqual(name, UNTRUSTED, message)
            self.assertIn("pcrs.sha256.7", message)  # the trust reasons travel in the message

    def assertNotGated(self, answers):
        for name, message in answers:
            self.assertNotEqual(name, UNTRUSTED, message)

    def test_1_gate_on(self):
        with self.daemon("gate-on", "yes") as d:
            blob = self.blob()
            good = self.pcr7()

            self.write_policy(BAD_PCR7)
            self.assertEqual(attest()[0], "untrusted")
            self.assertGated(self.gated_calls(blob, "nobody"))
            # Root is not gated: the unseal works, the CA calls fail for their own reasons.
            self.assertEqual(bytes(call(TPM, "Unseal", "aya{sv}", len(blob), *blob, 0)[0]), b"secret")
            self.assertNotGated(self.gated_calls(blob, None))

            # Trust restored: nobody reaches polkit again, which refuses (no agent).
            self.write_policy(good)
            self.assertEqual(attest()[0], "trusted")
            answers = self.gated_calls(blob, "nobody")
            self.assertNotGated(answers)
            self.assertIn(answers[0][0], POLKIT_NO, answers[0][1])

            # "unknown" (no policy) is not gated either.
            self.write_policy(None)
            self.assertEqual(attest()[0], "unknown")
            self.assertNotGated(self.gated_calls(blob, "nobody"))

            # Untrusted again: gated again, also after malformed calls.
            self.write_policy(BAD_PCR7)
            self.assertEqual(attest()[0], "untrusted")
            name, message = bus_call(TPM, "Unseal", "aya{sv}", "00", 0, user="nobody")
            self.assertEqual(name, "org.freedesktop.DBus.Error.InvalidArgs", message)  # validation comes first
            self.assertGated(self.gated_calls(blob, "nobody"))
            daemontest.daemon_alive(self, d)

    def test_2_gate_off(self):
        with self.daemon("gate-off", "no") as d:
            blob = self.blob()
            self.write_policy(BAD_PCR7)
            self.assertEqual(attest()[0], "untrusted")
            answers = self.gated_calls(blob, "nobody")
            self.assertNotGated(answers)
            self.assertIn(answers[0][0], POLKIT_NO, answers[0][1])
            daemontest.daemon_alive(self, d)

    def test_3_invalid_switch(self):
        d = self.daemon("gate-bad", "maybe")
        with self.assertRaises(Exception):
            with d:
                pass


if __name__ == "__main__":
    tptest.main()
