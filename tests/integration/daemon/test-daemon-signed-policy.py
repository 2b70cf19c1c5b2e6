#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Signed PCR policies and expected PCR values through trusted-platformd and tpctl, on swtpm with polkitd.

Run through tests/harness/tp-run --swtpm --bus --polkit --daemon PATH, like test-daemon-seal.py, whose bus
and tpctl helpers it uses. Keys are made with the openssl command line, as an administrator would."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import daemontest as ds  # noqa: E402

ERR, INVALID = ds.ERROR, ds.INVALID


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def pcr(index, bank="sha256"):
    return bytes(ds.tpm_call("ReadPCRs", "sau", bank, 1, index)[0][0][1])


def extend(index, data):
    ds.tpm_call("ExtendPCR", "usaya{sv}", index, "sha256", len(data), *data, 0)


class AuthorizeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ds.tpm_call("Provision", "a{sv}", 0)
        cls.dir = tempfile.mkdtemp()
        cls.keys = {}
        for name, args in (("ecc", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                           ("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                           ("other", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                           ("rsa1024", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
                           ("p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"])):
            priv, pub, der = (cls.path(f"{name}{ext}") for ext in (".key", ".pub", ".der"))
            openssl("genpkey", *args, "-out", priv)
            openssl("pkey", "-in", priv, "-pubout", "-out", pub)
            openssl("pkey", "-in", priv, "-pubout", "-outform", "DER", "-out", der)
            cls.keys[name] = (priv, pub, der)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def write(self, name, data):
        path = self.path(name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def sign(self, key, *args):
        return ds.tpctl("tpm", "sign-policy", "--key", self.keys[key][0], *args).stdout

    def assertInvalid(self, method, signature, *args, text=None):
        name, message = ds.bus_call(method, signature, *args)
        self.assertEqual(name, INVALID, f"{method} {args}: {name} {message}")
        if text:
            self.assertIn(text, message)

    def assertAlive(self):
        ds.busctl("call", ds.NAME, ds.PATH, "org.freedesktop.DBus.Peer", "Ping")
        self.assertEqual(len(ds.tpm_call("GetRandom", "u", 8)[0]), 8)

    # ---- tpctl, as the update story goes ----------------------------------------------------------------

    def test_tpctl_survives_update(self):
        secret = os.urandom(48)
        blob = ds.tpctl("tpm", "seal", "--authorize-key", self.keys["ecc"][1], input=secret).stdout
        self.assertEqual(blob[:6], b"TPSB\x02\x04")
        old = self.write("old.json", self.sign("ecc", "--pcrs", "7"))
        doc = json.load(open(old))
        self.assertEqual(doc["format"], "trusted-platform-signed-pcr-policy")
        self.assertEqual(doc["entries"][0]["pcrs"][0]["digest"], pcr(7).hex())
        self.assertEqual(ds.tpctl("tpm", "unseal", "--signed-policy", old, input=blob).stdout, secret)

        # An update measures something new into PCR 7: the old signature does not fit, and tpctl says so.
        before = pcr(7)
        extend(7, b"firmware update")
        after = pcr(7)
        p = ds.tpctl("tpm", "unseal", "--signed-policy", old, input=blob, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"no signed policy matches the current PCRs: PCR 7 (sha256) is {after.hex()}, "
                      f"the policy signed {before.hex()}", p.stderr.decode())

        # The vendor signs the new value next to the old one: the same blob opens again.
        new = self.write("new.json", self.sign("ecc", "--pcrs", "7", "--append-to", old))
        self.assertEqual(len(json.load(open(new))["entries"]), 2)
        self.assertEqual(ds.tpctl("tpm", "unseal", "--signed-policy", new, input=blob).stdout, secret)
        # Signing the same values again replaces instead of piling up.
        again = self.sign("ecc", "--pcrs", "7", "--append-to", new)
        self.assertEqual(len(json.loads(again)["entries"]), 2)

    def test_tpctl_pcr_values_file_and_rsa(self):
        # Signed ahead of time for the value PCR 11 will have, from a file, with an RSA key.
        future = hashlib.sha256(pcr(11) + hashlib.sha256(b"next boot").digest()).digest()
        values = self.write("future.txt", f"sha256:11={future.hex()}\n")
        policy = self.write("future.json", self.sign("rsa", "--pcr-values", values))
        self.assertEqual(json.load(open(policy))["entries"][0]["scheme"], "rsassa")
        blob = ds.tpctl("tpm", "seal", "--authorize-key", self.keys["rsa"][2], input=b"rsa").stdout
        p = ds.tpctl("tpm", "unseal", "--signed-policy", policy, input=blob, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("PCR 11 (sha256)", p.stderr.decode())
        extend(11, b"next boot")
        self.assertEqual(ds.tpctl("tpm", "unseal", "--signed-policy", policy, input=blob).stdout, b"rsa")

    def test_tpctl_pin(self):
        env = {"TPCTL_PIN": "2468"}
        blob = ds.tpctl("tpm", "seal", "--pin", "--authorize-key", self.keys["ecc"][1], input=b"pin", env=env).stdout
        policy = self.write("pin.json", self.sign("ecc"))
        self.assertEqual(ds.tpctl("tpm", "unseal", "--pin", "--signed-policy", policy, input=blob, env=env).stdout,
                         b"pin")
        p = ds.tpctl("tpm", "unseal", "--pin", "--signed-policy", policy, input=blob, env={"TPCTL_PIN": "1"},
                     check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"wrong PIN, \d+ (try|tries) left")
        name, message = ds.bus_call("Unseal", "aya{sv}", blob.hex(), 1, "SignedPolicy", "ay", self.read(policy).hex())
        self.assertEqual(name, ERR + "BadPIN", message)

    def test_tpctl_expected_pcrs(self):
        future = hashlib.sha256(pcr(12) + hashlib.sha256(b"later").digest()).digest()
        values = self.write("expected.txt", f"sha256:12={future.hex()}")
        blob = ds.tpctl("tpm", "seal", "--expected-pcrs", values, input=b"expected").stdout
        p = ds.tpctl("tpm", "unseal", input=blob, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("PCR 12 (sha256) differs", p.stderr.decode())
        extend(12, b"later")
        self.assertEqual(ds.tpctl("tpm", "unseal", input=blob).stdout, b"expected")

    def test_tpctl_usage(self):
        pub = self.keys["ecc"][1]
        cases = [
            ["tpm", "sign-policy"],                                           # no --key
            ["tpm", "sign-policy", "--key", self.keys["ecc"][0], "--pcrs", "16"],
            ["tpm", "sign-policy", "--key", self.keys["ecc"][0], "--pcrs", "23"],
            ["tpm", "sign-policy", "--key", self.keys["rsa1024"][0]],
            ["tpm", "sign-policy", "--key", self.keys["p384"][0]],
            ["tpm", "sign-policy", "--key", pub],                             # a public key
            ["tpm", "sign-policy", "--key", self.keys["ecc"][0], "--bank", "md5"],
            ["tpm", "sign-policy", "--key", self.keys["ecc"][0], "--append-to", pub],
            ["tpm", "seal", "--authorize-key", pub, "--pcrs", "7"],
            ["tpm", "seal", "--authorize-key", pub, "--expected-pcrs", pub],
            ["tpm", "seal", "--expected-pcrs", pub],                          # not PCR values
            ["tpm", "unseal", "--authorize-key", pub],
            ["tpm", "seal", "--signed-policy", pub],
            ["tpm", "pcrs", "--key", pub],
        ]
        for args in cases:
            with self.subTest(args=args):
                p = ds.tpctl(*args, input=b"x", check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
        p = ds.tpctl("tpm", "seal", "--authorize-key", self.keys["rsa1024"][1], input=b"x", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("2048", p.stderr.decode())
        self.assertIn("--authorize-key", ds.tpctl("tpm", "seal", "--help").stdout.decode())
        self.assertIn("--append-to", ds.tpctl("tpm", "sign-policy", "--help").stdout.decode())

    # ---- D-Bus ------------------------------------------------------------------------------------------

    def test_bus_der_key_wrong_key_and_tampering(self):
        der = self.read(self.keys["rsa"][2])
        blob = bytes(ds.tpm_call("Seal", "aya{sv}", 3, *b"bus", 1, "AuthorizeKey", "ay", len(der), *der)[0])
        good = self.sign("rsa")
        self.assertEqual(bytes(ds.tpm_call("Unseal", "aya{sv}", len(blob), *blob, 1, "SignedPolicy", "ay", len(good),
                                       *good)[0]), b"bus")

        # Signed by another key.
        other = self.sign("other")
        name, message = ds.bus_call("Unseal", "aya{sv}", blob.hex(), 1, "SignedPolicy", "ay", other.hex())
        self.assertEqual(name, ERR + "PolicyMismatch", message)
        self.assertIn("signed by the key the secret is sealed to", message)

        # The other key's signature under our key's name: the TPM refuses the signature.
        doc, mine = json.loads(other), json.loads(good)
        doc["entries"][0]["key"] = mine["entries"][0]["key"]
        forged = json.dumps(doc).encode()
        name, message = ds.bus_call("Unseal", "aya{sv}", blob.hex(), 1, "SignedPolicy", "ay", forged.hex())
        self.assertEqual(name, ERR + "PolicyMismatch", message)
        self.assertIn("refused the signed policy's signature", message)

        # A tampered signature.
        sig = mine["entries"][0]["signature"]
        mine["entries"][0]["signature"] = sig[:20] + ("0" if sig[20] != "0" else "1") + sig[21:]
        tampered = json.dumps(mine).encode()
        name, message = ds.bus_call("Unseal", "aya{sv}", blob.hex(), 1, "SignedPolicy", "ay", tampered.hex())
        self.assertEqual(name, ERR + "PolicyMismatch", message)
        self.assertIn("refused the signed policy's signature", message)

        # A tampered policy digest: not even parsed.
        mine = json.loads(good)
        d = mine["entries"][0]["policy"]
        mine["entries"][0]["policy"] = ("1" if d[0] == "0" else "0") + d[1:]
        name, message = ds.bus_call("Unseal", "aya{sv}", blob.hex(), 1, "SignedPolicy", "ay",
                                    json.dumps(mine).encode().hex())
        self.assertEqual(name, INVALID, message)
        self.assertIn("not a signed-policy file", message)
        self.assertAlive()

    def test_bus_expected_pcrs(self):
        future = hashlib.sha256(pcr(13) + hashlib.sha256(b"x").digest()).digest()
        blob = bytes(ds.tpm_call("Seal", "aya{sv}", 2, *b"ex", 2, "Bank", "s", "sha256",
                             "ExpectedPCRs", "a(uay)", 1, 13, 32, *future)[0])
        name, message = ds.bus_call("Unseal", "aya{sv}", blob.hex(), 0)
        self.assertEqual(name, ERR + "PolicyMismatch", message)
        self.assertIn(future.hex(), message)
        extend(13, b"x")
        self.assertEqual(ds.unseal(blob), b"ex")

    def test_bus_seal_malformed(self):
        ecc_der = self.read(self.keys["ecc"][2]).hex()
        ecc_pem = self.read(self.keys["ecc"][1]).hex()
        d32, d20 = "aa" * 32, "bb" * 20
        cases = [
            # AuthorizeKey
            (("01", 1, "AuthorizeKey", "ay", ""), "AuthorizeKey"),
            (("01", 1, "AuthorizeKey", "ay", "00"), "not a public key"),
            (("01", 1, "AuthorizeKey", "ay", "30" * 100), "not a public key"),
            (("01", 1, "AuthorizeKey", "ay", ecc_der + "00"), "not a public key"),
            (("01", 1, "AuthorizeKey", "ay", ecc_der[:-2]), "not a public key"),
            (("01", 1, "AuthorizeKey", "ay", ecc_pem[:len(ecc_pem) // 2]), "not a public key"),
            (("01", 1, "AuthorizeKey", "ay", "zeros:70000"), None),
            (("01", 1, "AuthorizeKey", "ay", self.read(self.keys["rsa1024"][2]).hex()), "2048"),
            (("01", 1, "AuthorizeKey", "ay", self.read(self.keys["p384"][2]).hex()), "P-256"),
            (("01", 1, "AuthorizeKey", "s", "key"), "type"),
            (("01", 2, "AuthorizeKey", "ay", ecc_der, "AuthorizeKey", "ay", ecc_der), "twice"),
            (("01", 2, "AuthorizeKey", "ay", ecc_der, "PCRs", "au", 1, 7), "cannot be combined"),
            (("01", 2, "AuthorizeKey", "ay", ecc_der, "Bank", "s", "sha1"), "cannot be combined"),
            (("01", 2, "AuthorizeKey", "ay", ecc_der, "ExpectedPCRs", "a(uay)", 1, 7, d32), "cannot be combined"),
            # ExpectedPCRs
            (("01", 1, "ExpectedPCRs", "a(uay)", 0), "empty"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 1, 24, d32), "out of range"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 1, 4294967295, d32), "out of range"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 1, 16, d32), "16"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 2, 7, d32, 23, d32), "23"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 2, 7, d32, 7, d32), "twice"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 1, 7, d20), "20 bytes"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 1, 7, ""), "0 bytes"),
            (("01", 1, "ExpectedPCRs", "a(uay)", 1, 7, "cc" * 65), "65 bytes"),
            (("01", 2, "Bank", "s", "sha1", "ExpectedPCRs", "a(uay)", 1, 7, d32), "32 bytes"),
            (("01", 2, "PCRs", "au", 1, 0, "ExpectedPCRs", "a(uay)", 1, 7, d32), "different PCRs"),
            (("01", 1, "ExpectedPCRs", "au", 1, 7), "type"),
            (("01", 2, "ExpectedPCRs", "a(uay)", 1, 7, d32, "ExpectedPCRs", "a(uay)", 1, 7, d32), "twice"),
        ]
        for i, (args, text) in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("Seal", "aya{sv}", *args, text=text)
        self.assertAlive()

    def test_bus_unseal_malformed(self):
        key_blob = ds.tpctl("tpm", "seal", "--authorize-key", self.keys["ecc"][1], input=b"k").stdout.hex()
        pcr_blob = ds.seal(b"p").hex()
        good = self.sign("ecc")
        doc = json.loads(good)
        version2 = dict(doc, version=2)
        reset16 = json.loads(good)
        reset16["entries"][0]["pcrs"][0]["index"] = 16
        extra = dict(doc, comment="x")
        cases = [
            (key_blob, 0),                                                    # SignedPolicy required
            (pcr_blob, 1, "SignedPolicy", "ay", good.hex()),                  # does not apply
            (key_blob, 1, "SignedPolicy", "ay", ""),
            (key_blob, 1, "SignedPolicy", "ay", "00"),
            (key_blob, 1, "SignedPolicy", "ay", b"{}".hex()),
            (key_blob, 1, "SignedPolicy", "ay", b"[]".hex()),
            (key_blob, 1, "SignedPolicy", "ay", good[:-10].hex()),
            (key_blob, 1, "SignedPolicy", "ay", (good + b"{}").hex()),
            (key_blob, 1, "SignedPolicy", "ay", json.dumps(version2).encode().hex()),
            (key_blob, 1, "SignedPolicy", "ay", json.dumps(reset16).encode().hex()),
            (key_blob, 1, "SignedPolicy", "ay", json.dumps(extra).encode().hex()),
            (key_blob, 1, "SignedPolicy", "ay", "ff" * 64),
            (key_blob, 1, "SignedPolicy", "ay", "zeros:300000"),
            (key_blob, 1, "SignedPolicy", "s", good.decode()),
            (key_blob, 2, "SignedPolicy", "ay", good.hex(), "SignedPolicy", "ay", good.hex()),
            (key_blob[:-2], 1, "SignedPolicy", "ay", good.hex()),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("Unseal", "aya{sv}", *args)
        self.assertAlive()


if __name__ == "__main__":
    tptest.main()
