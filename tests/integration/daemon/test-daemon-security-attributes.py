#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Manager.GetSecurityAttributes() (issue 7 item 3): fwupd HSI-style rows (id, result, severity, summary,
resolution) on a fresh swtpm. The rows follow the state: TpmProvisioned after Provision(), TpmLockout
after wrong-PIN Unseal() calls until dictionary-attack lockout (and after ResetLockout()),
MeasuredBootPolicy and Attestation as the policy file goes from missing to forced-empty to a PCR rule the
platform breaks to one it meets. Everyone may call it; any argument is InvalidArgs and the daemon stays
alive."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemontest  # noqa: E402
from daemontest import INVALID, MANAGER, NAME, PATH, TPM, bus_call, busctl, dbus_send  # noqa: E402
import tptest  # noqa: E402

IDS = ["TpmPresent", "TpmLockout", "TpmProvisioned", "EkCertificate", "SecureBoot", "MeasuredBootPolicy",
       "Attestation", "SealedVolumes"]
RESULTS = {"pass", "fail", "unknown", "not-applicable"}
SEVERITIES = {"critical", "high", "medium", "low"}


def attributes(user=None):
    p = busctl("call", NAME, PATH, MANAGER, "GetSecurityAttributes", user=user)
    rows = json.loads(p.stdout)["data"][0]
    return {row[0].removeprefix("org.trustedplatform."): row for row in rows}


def call(interface, method, signature="", *args):
    p = busctl("call", NAME, PATH, interface, method, signature, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def attest():
    return tuple(call(MANAGER, "Attest", "a{sv}", 0))


class SecurityAttributesTest(daemontest.DaemonClassTest):
    @classmethod
    def prepare(cls):
        cls.policy = os.path.join(cls.stack.dir, "policy.json")

    @classmethod
    def config(cls):
        return f"[Attestation]\nPolicy={cls.policy}\nInterval=0\n"

    def write_policy(self, text):
        with open(self.policy + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.policy + ".tmp", self.policy)

    def assertAlive(self):
        daemontest.daemon_alive(self, self.daemon)

    def assertRow(self, rows, name, result, text=None):
        row = rows[name]
        self.assertEqual(row[1], result, row)
        if text:
            self.assertIn(text, row[3])
        # A passing row needs no resolution; a failing one names what to do.
        if result == "pass":
            self.assertEqual(row[4], "", row)
        elif result == "fail":
            self.assertNotEqual(row[4], "", row)

    def test_1_shape_and_fresh_tpm(self):
        rows = attributes()
        self.assertEqual(sorted(rows), sorted(IDS))
        for row in rows.values():
            self.assertEqual(len(row), 5)
            self.assertIn(row[1], RESULTS, row)
            self.assertIn(row[2], SEVERITIES, row)
            self.assertTrue(row[3], row)
        self.assertRow(rows, "TpmPresent", "pass", "TPM 2.0 from IBM")
        self.assertRow(rows, "TpmProvisioned", "fail")
        self.assertIn("tpctl tpm provision", rows["TpmProvisioned"][4])
        self.assertRow(rows, "TpmLockout", "pass", "Not in dictionary-attack lockout")
        self.assertRow(rows, "SecureBoot", "fail")  # no efivars in the test environment
        self.assertRow(rows, "SealedVolumes", "not-applicable")
        self.assertIn(rows["EkCertificate"][1], ("fail", "unknown", "pass"))
        self.assertEqual(rows["TpmPresent"][2], "critical")
        # No policy file yet: the attestation at start-up could not judge the platform.
        self.assertRow(rows, "MeasuredBootPolicy", "fail", "does not exist")
        self.assertRow(rows, "Attestation", "unknown")

    def test_2_open_to_everyone(self):
        self.assertEqual(sorted(attributes(user="nobody")), sorted(IDS))

    def test_3_provision(self):
        call(TPM, "Provision", "a{sv}", 0)
        self.assertRow(attributes(), "TpmProvisioned", "pass")

    def test_4_policy_and_attestation(self):
        self.write_policy('{"version": 1, "force": true}')
        self.assertEqual(attest()[0], "trusted")
        rows = attributes()
        self.assertRow(rows, "MeasuredBootPolicy", "fail", "accepts everything")
        self.assertRow(rows, "Attestation", "pass", "s ago")

        self.write_policy(json.dumps({"version": 1, "pcrs": {"sha256": {"7": "11" * 32}}}))
        self.assertEqual(attest()[0], "untrusted")
        rows = attributes()
        self.assertRow(rows, "MeasuredBootPolicy", "pass", "is loaded")
        self.assertRow(rows, "Attestation", "fail", "untrusted")
        self.assertRegex(rows["Attestation"][3], r"; 1 reason\)\.$")  # one PCR rule fails; not "1 reasons"
        self.assertIn("tpctl attest", rows["Attestation"][4])

        pcr7 = bytes(call(TPM, "ReadPCRs", "sau", "sha256", 1, 7)[0][0][1]).hex()  # a(uay)
        self.write_policy(json.dumps({"version": 1, "pcrs": {"sha256": {"7": pcr7}}}))
        self.assertEqual(attest()[0], "trusted")
        rows = attributes()
        self.assertRow(rows, "MeasuredBootPolicy", "pass")
        self.assertRow(rows, "Attestation", "pass", "trusted")

    def test_5_lockout(self):
        busctl("call", NAME, PATH, TPM, "ResetLockout", "a{sv}", 0)
        secret = b"pin-protected"
        blob = bytes(call(TPM, "Seal", "aya{sv}", len(secret), *secret, 1, "PIN", "s", "1234")[0])
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 1, "PIN", "s", "9999")
        self.assertEqual(name, daemontest.ERROR + "BadPIN", message)
        rows = attributes()
        self.assertRow(rows, "TpmLockout", "pass", "1 of ")

        for _ in range(64):
            name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 1, "PIN", "s", "9999")
            if name == daemontest.ERROR + "TPMLockout":
                break
        self.assertEqual(name, daemontest.ERROR + "TPMLockout", message)
        rows = attributes()
        self.assertRow(rows, "TpmLockout", "fail", "dictionary-attack lockout")
        self.assertIn("tpctl tpm lockout --reset", rows["TpmLockout"][4])

        busctl("call", NAME, PATH, TPM, "ResetLockout", "a{sv}", 0)
        self.assertRow(attributes(), "TpmLockout", "pass", "0 of ")

    def test_6_malformed_calls(self):
        method = MANAGER + ".GetSecurityAttributes"
        cases = [("string:x",), ("int32:1",), ("uint32:0",), ("boolean:true",), ("double:1.5",), ("byte:1",),
                 ("objpath:/x",), ("array:string:a",), ("array:byte:1",), ("dict:string:string:a,b",),
                 ("dict:string:int32:a,1",), ("variant:string:x",), ("string:", "string:"),
                 ("dict:string:string:a,b", "string:x")]
        for args in cases:
            with self.subTest(args=args):
                name, message = dbus_send(PATH, method, *args)
                self.assertEqual(name, INVALID, message)
                name, message = dbus_send(PATH, method, *args, user="nobody")
                self.assertEqual(name, INVALID, message)
        self.assertAlive()
        self.assertEqual(sorted(attributes()), sorted(IDS))

    def test_7_secure_boot_variable(self):
        # The daemon reads the SecureBoot variable at start: 4 attribute bytes, then 1 (on) or 0 (off).
        # Anything else (a short read, another value) counts as off.
        efivars = os.path.join(self.stack.dir, "efivars")
        os.makedirs(efivars, exist_ok=True)
        variable = os.path.join(efivars, "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
        cases = [(b"\x06\x00\x00\x00\x01", True), (b"\x06\x00\x00\x00\x00", False),
                 (b"\x06\x00\x00\x00", False), (b"\x06\x00\x00\x00\x02", False),
                 (b"\x06\x00\x00\x00\x01\x01", False), (b"", False)]
        cls = type(self)
        try:
            for data, on in cases:
                with self.subTest(data=data):
                    with open(variable, "wb") as f:
                        f.write(data)
                    cls.stop_daemon()
                    cls.start_daemon({"TRUSTED_PLATFORM_EFIVARS": efivars})
                    p = busctl("get-property", NAME, PATH, MANAGER, "SecureBoot")
                    self.assertIs(json.loads(p.stdout)["data"], on)
                    self.assertRow(attributes(), "SecureBoot", "pass" if on else "fail",
                                   "enabled" if on else "disabled")
        finally:
            os.unlink(variable)
            cls.stop_daemon()
            cls.start_daemon()

if __name__ == "__main__":
    tptest.main()
