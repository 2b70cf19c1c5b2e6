#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""TPM.Seal and TPM.Unseal of trusted-platformd on a private system bus with swtpm and real polkitd.

Run through tests/harness/tp-run --swtpm --bus --polkit --daemon PATH. Calls go through busctl and tpctl
as a user would make them; bus-call ($TP_BUS_CALL) is used where the D-Bus error name matters, since
busctl prints only the message."""

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from daemontest import INVALID, TpmTestCase, bus_call, busctl, seal, tpctl, unseal  # noqa: E402
from daemontest import tpm_call as call  # noqa: E402

NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
TPM = NAME + ".TPM"
ERR = NAME + ".Error."
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class SealTest(TpmTestCase):

    @classmethod
    def setUpClass(cls):
        call("Provision", "a{sv}", 0)

    def test_seal_unseal_round_trip(self):
        blob = seal(b"hello sealed world")
        self.assertEqual(blob[:4], b"TPSB")
        self.assertEqual(unseal(blob), b"hello sealed world")

    def test_seal_4k_secret(self):
        secret = os.urandom(4096)
        blob = seal(secret, 2, "PCRs", "au", 2, 0, 7, "Bank", "s", "sha256")
        self.assertNotIn(secret[:64], blob)  # envelope: ciphertext only
        self.assertEqual(unseal(blob), secret)

    def test_seal_with_pin(self):
        blob = seal(b"pin protected", 1, "PIN", "s", "1234")
        self.assertEqual(unseal(blob, 1, "PIN", "s", "1234"), b"pin protected")
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 1, "PIN", "s", "9999")
        self.assertEqual(name, ERR + "BadPIN", message)
        self.assertRegex(message, r"wrong PIN, \d+ (try|tries) left")
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 0)
        self.assertEqual(name, ERR + "BadPIN", message)
        # The right PIN still works afterwards (one failure is far from lockout).
        self.assertEqual(unseal(blob, 1, "PIN", "s", "1234"), b"pin protected")

    def test_seal_refused_for_nobody(self):
        # No session at all: allow_any is auth_admin, and there is no agent.
        name, message = bus_call("Seal", "aya{sv}", "01", 0, user="nobody")
        self.assertIn(name, ("org.freedesktop.DBus.Error.AccessDenied",
                             "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"), message)
        blob = seal(b"x")
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 0, user="nobody")
        self.assertIn(name, ("org.freedesktop.DBus.Error.AccessDenied",
                             "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"), message)
        self.assertAlive()

    def test_seal_malformed(self):
        cases = [
            (("", 0), "empty"),
            (("zeros:%d" % (1024 * 1024 + 1), 0), "at most"),
            (("01", 1, "PCRs", "au", 1, 24), "24"),
            (("01", 1, "PCRs", "au", 1, 16), "16"),
            (("01", 1, "PCRs", "au", 1, 23), "23"),
            (("01", 1, "PCRs", "au", 2, 7, 4294967295), "4294967295"),
            (("01", 1, "PCRs", "au", 0), None),
            (("01", 1, "Bank", "s", "md5"), "md5"),
            (("01", 1, "Bank", "u", 1), "type"),
            (("01", 1, "PCRs", "s", "7"), "type"),
            (("01", 1, "PIN", "s", ""), "empty"),
            (("01", 1, "PIN", "u", 1234), "type"),
            (("01", 1, "Pcrs", "au", 1, 7), "Pcrs"),
            (("01", 2, "PCRs", "au", 1, 7, "PCRs", "au", 1, 0), "twice"),
            (("01", 2, "PIN", "s", "1", "PIN", "s", "2"), "twice"),
        ]
        for i, (args, text) in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("Seal", "aya{sv}", *args, text=text)
        self.assertAlive()

    def test_unseal_malformed(self):
        blob = seal(b"for tampering")
        cases = [
            ("", 0),
            ("00", 0),
            ("54505342", 0),                                   # "TPSB" only
            (blob.hex() + "00", 0),                            # trailing byte
            (blob[:-1].hex(), 0),                              # truncated
            ("58" + blob[1:].hex(), 0),                        # bad magic
            (blob[:4].hex() + "09" + blob[5:].hex(), 0),       # unknown version
            (blob[:5].hex() + "f0" + blob[6:].hex(), 0),       # unknown flags
            (blob[:6].hex() + "0099" + blob[8:].hex(), 0),     # unknown bank
            (blob[:8].hex() + "00010000" + blob[12:].hex(), 0),  # mask: PCR 16
            ("ff" * 4096, 0),
            (blob.hex(), 1, "Pin", "s", "1"),
            (blob.hex(), 1, "PIN", "u", 1),
            (blob.hex(), 1, "PIN", "s", ""),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("Unseal", "aya{sv}", *args)
        name, message = bus_call("Unseal", "aya{sv}", "00", 0)
        self.assertIn("not a sealed blob", message)
        self.assertAlive()

    def test_unseal_after_extend_is_policy_mismatch(self):
        blob = seal(b"bound to pcr 7", 1, "PCRs", "au", 2, 0, 7)
        before = bytes(call("ReadPCRs", "sau", "sha256", 1, 7)[0][0][1])
        call("ExtendPCR", "usaya{sv}", 7, "sha256", 3, 1, 2, 3, 0)
        after = bytes(call("ReadPCRs", "sau", "sha256", 1, 7)[0][0][1])
        self.assertNotEqual(before, after)
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 0)
        self.assertEqual(name, ERR + "PolicyMismatch", message)
        self.assertIn("PCR 7 (sha256) differs", message)
        self.assertIn(before.hex()[:8], message)
        self.assertIn(after.hex()[:8], message)
        # Sealing anew binds to the new value.
        self.assertEqual(unseal(seal(b"again")), b"again")

    def test_extend_other_bank(self):
        before = bytes(call("ReadPCRs", "sau", "sha1", 1, 12)[0][0][1])
        call("ExtendPCR", "usaya{sv}", 12, "sha1", 0, 0)
        self.assertNotEqual(bytes(call("ReadPCRs", "sau", "sha1", 1, 12)[0][0][1]), before)

    def test_extend_refused_for_nobody(self):
        before = call("ReadPCRs", "sau", "sha256", 1, 9)
        name, message = bus_call("ExtendPCR", "usaya{sv}", 9, "sha256", "01", 0, user="nobody")
        self.assertIn(name, ("org.freedesktop.DBus.Error.AccessDenied",
                             "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"), message)
        self.assertEqual(call("ReadPCRs", "sau", "sha256", 1, 9), before)

    def test_extend_malformed(self):
        cases = [
            (24, "sha256", "01", 0),
            (25, "sha256", "01", 0),
            (4294967295, "sha256", "01", 0),
            (7, "md5", "01", 0),
            (7, "", "01", 0),
            (7, "SHA256", "01", 0),
            (7, "sha256 ", "01", 0),
            (7, "sha256", "01", 1, "Force", "b", 1),
            (7, "sha256", "01", 1, "PCRs", "au", 1, 7),
            (7, "sha256", "", 1, "", "s", "x"),
            (1000, "nosuch", "01", 0),
            (7, "sha3_256", "01", 0),
        ]
        before = call("ReadPCRs", "sau", "sha256", 0)
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("ExtendPCR", "usaya{sv}", *args)
        self.assertEqual(call("ReadPCRs", "sau", "sha256", 0), before)
        self.assertAlive()

    # ---- tpctl -----------------------------------------------------------------------------------------

    def test_tpctl_seal_unseal_pipe(self):
        secret = os.urandom(200)
        blob = tpctl("tpm", "seal", "--pcrs", "0,7", input=secret).stdout
        self.assertEqual(blob[:4], b"TPSB")
        self.assertEqual(tpctl("tpm", "unseal", input=blob).stdout, secret)
        # The blob tpctl made is what the daemon unseals on the bus too.
        self.assertEqual(unseal(blob), secret)

    def test_tpctl_seal_files_and_pin(self):
        d = tempfile.mkdtemp()
        src, sealed, out = (os.path.join(d, n) for n in ("secret", "sealed", "out"))
        with open(src, "wb") as f:
            f.write(b"file secret\n")
        tpctl("tpm", "seal", "--pin", "--bank", "sha256", src, sealed, env={"TPCTL_PIN": "4711"})
        self.assertEqual(stat.S_IMODE(os.stat(sealed).st_mode), 0o600)
        tpctl("tpm", "unseal", "--pin", sealed, out, env={"TPCTL_PIN": "4711"})
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"file secret\n")
        p = tpctl("tpm", "unseal", "--pin", sealed, env={"TPCTL_PIN": "0000"}, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr.decode(), r"wrong PIN, \d+ (try|tries) left")

    def test_tpctl_unseal_errors(self):
        blob = tpctl("tpm", "seal", "--pcrs", "7", input=b"x").stdout
        call("ExtendPCR", "usaya{sv}", 7, "sha256", 1, 42, 0)
        p = tpctl("tpm", "unseal", input=blob, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("PCR 7 (sha256) differs", p.stderr.decode())
        p = tpctl("tpm", "unseal", input=b"garbage", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not a sealed blob", p.stderr.decode())

    def test_tpctl_extend(self):
        data = b"measured by tpctl"
        before = bytes(call("ReadPCRs", "sau", "sha256", 1, 14)[0][0][1])
        tpctl("tpm", "extend", "14", input=data)
        after = bytes(call("ReadPCRs", "sau", "sha256", 1, 14)[0][0][1])
        self.assertEqual(after, hashlib.sha256(before + hashlib.sha256(data).digest()).digest())
        for args in (["24"], ["x"], ["-1"], ["7", "--bank", "md5"]):
            with self.subTest(args=args):
                self.assertEqual(tpctl("tpm", "extend", *args, input=b"x", check=False).returncode, 2)

    def test_tpctl_seal_usage(self):
        for args in (["--pcrs", "24"], ["--pcrs", "7,"], ["--pcrs", "16"], ["--bank", "md5"]):
            with self.subTest(args=args):
                p = tpctl("tpm", "seal", *args, input=b"x", check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
        p = tpctl("tpm", "seal", input=b"", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("empty", p.stderr.decode())
        p = tpctl("tpm", "unseal", "--pcrs", "7", input=b"", check=False)
        self.assertEqual(p.returncode, 2)
        for verb in ("seal", "unseal"):
            out = tpctl("tpm", verb, "--help").stdout.decode()
            self.assertIn("--pin", out)

    # ---- Quote -----------------------------------------------------------------------------------------

    # Named to run before any other quote test: the AK does not exist yet.
    def test_quote_0_ak_creation_needs_authorization(self):
        ak = os.path.join(os.environ["TRUSTED_PLATFORM_STATE_DIR"], "ak-default.blob")
        self.assertFalse(os.path.exists(ak))
        name, message = bus_call("Quote", "aya(sau)", "11" * 16, 1, "sha256", 1, 7, user="nobody")
        self.assertIn(name, ("org.freedesktop.DBus.Error.AccessDenied",
                             "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"), message)
        self.assertFalse(os.path.exists(ak))
        # Root creates it on first use; then anyone may quote.
        call("Quote", "aya(sau)", 16, *range(16), 1, "sha256", 1, 7)
        self.assertTrue(os.path.exists(ak))
        name, message = bus_call("Quote", "aya(sau)", "22" * 16, 1, "sha256", 1, 7, user="nobody")
        self.assertIsNone(name, message)

    def test_quote_values(self):
        nonce = os.urandom(32)
        attest, signature, values, ak_public = call("Quote", "aya(sau)", len(nonce), *nonce,
                                                    2, "sha256", 2, 0, 7, "sha1", 1, 7)
        attest = bytes(attest)
        self.assertEqual(attest[:4], b"\xffTCG")        # TPM_GENERATED_VALUE
        self.assertEqual(attest[4:6], b"\x80\x18")     # TPM_ST_ATTEST_QUOTE
        self.assertIn(nonce, attest)
        self.assertEqual([(b, i) for b, i, _ in values], [("sha256", 0), ("sha256", 7), ("sha1", 7)])
        pcr7 = bytes(call("ReadPCRs", "sau", "sha256", 1, 7)[0][0][1])
        self.assertEqual(bytes(values[1][2]), pcr7)
        self.assertGreater(len(signature), 64)
        self.assertGreater(len(ak_public), 80)

    def test_quote_malformed(self):
        good = "33" * 16
        cases = [
            ("", 1, "sha256", 1, 7),
            ("33" * 15, 1, "sha256", 1, 7),
            ("33" * 65, 1, "sha256", 1, 7),
            ("33" * 4096, 1, "sha256", 1, 7),
            (good, 0),
            (good, 1, "sha256", 0),
            (good, 1, "md5", 1, 7),
            (good, 1, "", 1, 7),
            (good, 1, "sha256", 1, 24),
            (good, 1, "sha256", 2, 7, 4294967295),
            (good, 2, "sha256", 1, 7, "sha256", 1, 0),
            (good, 2, "sha256", 1, 7, "sha1", 0),
            (good, 1, "SHA256", 1, 7),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("Quote", "aya(sau)", *args)
        self.assertAlive()

    def test_tpctl_quote_verify(self):
        d = tempfile.mkdtemp()
        nonce = os.urandom(20).hex()
        p = tpctl("tpm", "quote", "--nonce", nonce, "--pcrs", "0,7", "--out-dir", d)
        self.assertEqual(sorted(os.listdir(d)), ["ak.pub", "attest.bin", "pcrs.json", "signature.bin"])
        pcrs = json.load(open(os.path.join(d, "pcrs.json")))
        self.assertEqual([v["Index"] for v in pcrs["Values"]], [0, 7])
        pcr7 = bytes(call("ReadPCRs", "sau", "sha256", 1, 7)[0][0][1]).hex()
        self.assertEqual(pcrs["Values"][1]["Digest"], pcr7)

        # Offline: no daemon needed, so it also runs with no bus at all.
        env = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"}
        p = tpctl("tpm", "verify-quote", "--nonce", nonce, d, env=env)
        out = p.stdout.decode()
        self.assertIn("nonce matches", out)
        self.assertIn("Quote valid", out)
        self.assertNotIn("FAILED", out)

        # Another nonce: the replay check fails, with its reason.
        p = tpctl("tpm", "verify-quote", "--nonce", "00" * 20, d, env=env, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stdout.decode(), r"nonce matches +FAILED")
        self.assertIn("NOT valid: nonce", p.stderr.decode())

        # A tampered PCR value: the digest check fails.
        pcrs["Values"][1]["Digest"] = "11" * 32
        with open(os.path.join(d, "pcrs.json"), "w") as f:
            json.dump(pcrs, f)
        p = tpctl("tpm", "verify-quote", "--nonce", nonce, d, env=env, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stdout.decode(), r"PCR digest matches the values +FAILED")

    def test_tpctl_quote_usage(self):
        for args in (["tpm", "quote"], ["tpm", "quote", "--nonce", "00" * 8], ["tpm", "quote", "--nonce", "xyz" * 12],
                     ["tpm", "quote", "--nonce", "00" * 16, "--pcrs", "24"], ["tpm", "verify-quote", "/tmp"]):
            with self.subTest(args=args):
                self.assertEqual(tpctl(*args, check=False).returncode, 2)

    # Late by name: after every other call has been logged.
    def test_zy_secrets_never_logged(self):
        secret = b"SECRET-canary-7f3a9c"
        pin = "PIN-canary-51e2"
        blob = seal(secret, 1, "PIN", "s", pin)
        self.assertEqual(unseal(blob, 1, "PIN", "s", pin), secret)
        self.assertEqual(tpctl("tpm", "unseal", "--pin", input=blob, env={"TPCTL_PIN": pin}).stdout, secret)
        logs = [os.path.join(d, f) for d, _, files in os.walk(os.environ["TP_TEST_DIR"]) for f in files
                if f == "daemon.log"]
        self.assertEqual(len(logs), 1, logs)
        with open(logs[0], "rb") as f:
            log = f.read()
        self.assertIn(b"Using TPM", log)  # the right file: the daemon logs at debug level
        for needle in (secret, secret.hex().encode(), pin.encode(), pin.encode().hex().encode()):
            self.assertNotIn(needle, log)

    # Last by name: it locks the TPM's dictionary-attack protection for PIN-protected objects.
    def test_zz_lockout(self):
        blob = seal(b"locked", 1, "PIN", "s", "right")
        seen = []
        for _ in range(64):
            name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 1, "PIN", "s", "wrong")
            seen.append(name)
            if name != ERR + "BadPIN":
                break
        self.assertEqual(name, ERR + "TPMLockout", seen)
        self.assertIn("lockout", message)
        # The right PIN does not help now either, and it says why.
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 1, "PIN", "s", "right")
        self.assertEqual(name, ERR + "TPMLockout", message)
        p = tpctl("tpm", "unseal", "--pin", input=blob, env={"TPCTL_PIN": "right"}, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("lockout", p.stderr.decode())
        # Objects without a PIN are noDA: still fine.
        self.assertEqual(unseal(seal(b"no pin")), b"no pin")


if __name__ == "__main__":
    tptest.main()
