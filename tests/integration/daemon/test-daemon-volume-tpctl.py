#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tpctl volume ... through the daemon (swtpm behind tpm2-abrmd): create, enroll, list and status as JSON,
recovery-key, unlock-test (offline) with the passphrase and the recovery key, reseal, unenroll."""

import json
import os
import subprocess
import tempfile
import unittest

from daemontest import new_daemon, tpctl, tpharness, tptest

SIZE = 32 * 1024 * 1024


class TpctlVolumeTest(unittest.TestCase):

    def test_tpctl_volume(self):
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-tpctl-volume-") as tmp:
            img = os.path.join(tmp, "disk.img")
            pf = os.path.join(tmp, "pass")
            with open(pf, "w") as f:
                f.write("s3cret passphrase\n")
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            with d:
                tpctl("tpm", "provision")
                out = json.loads(tpctl("--json=short", "volume", "create", f"--size={SIZE}", "--alg=pbkdf2:1000",
                                       f"--passphrase-file={pf}", img).stdout)
                uuid = out["uuid"]
                # The job's Result, printed in the order of the former reply.
                self.assertEqual(list(out), ["object", "uuid", "recovery_key"])
                self.assertEqual(out["recovery_key"], "")
                rows = json.loads(tpctl("--json=short", "volume", "list").stdout)
                self.assertIn(img, [r["path"] for r in rows])
                self.assertIn(out["object"], [r["object"] for r in rows])
                # Text output: one "name: value" line per value; no line for the recovery key none was made.
                p = tpctl("volume", "create", f"--size={SIZE}", "--alg=pbkdf2:1000", f"--passphrase-file={pf}",
                          img + "2")
                self.assertRegex(p.stdout.decode(), r"^object: /org/trustedplatform/TrustedPlatform1/volume/\S+\n"
                                                    r"uuid: [0-9a-f-]{36}\n$")

                out = json.loads(tpctl("--json=short", "volume", "enroll", f"--passphrase-file={pf}", img).stdout)
                self.assertTrue(out["weak_policy"])
                status = json.loads(tpctl("--json=short", "volume", "status", img).stdout)
                self.assertEqual(status["UUID"], uuid)
                self.assertIn("tpm2", [k[1] for k in status["Keyslots"]])
                self.assertIn("tpm2", tpctl("volume", "status", img).stdout.decode())

                key = json.loads(tpctl("--json=short", "volume", "recovery-key", "--alg=pbkdf2:1000",
                                       f"--passphrase-file={pf}", img).stdout)["recovery_key"]
                kf = os.path.join(tmp, "key")
                with open(kf, "w") as f:
                    f.write(key)
                self.assertIn("opens", tpctl("volume", "unlock-test", f"--passphrase-file={kf}", img).stdout.decode())
                self.assertIn("opens", tpctl("volume", "unlock-test", f"--passphrase-file={pf}", img).stdout.decode())
                with open(os.path.join(tmp, "bad"), "w") as f:
                    f.write("wrong")
                p = tpctl("volume", "unlock-test", "--passphrase-file=" + os.path.join(tmp, "bad"), img, check=False)
                self.assertNotEqual(p.returncode, 0)

                # An explicit PCR set without PCR 4 or 11 needs --accept-risk (ATTACKS b-6).
                p = tpctl("volume", "reseal", "--pcrs=7", img, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(b"neither PCR 4 nor PCR 11", p.stderr)
                p = tpctl("volume", "status", "--accept-risk", img, check=False)
                self.assertEqual(p.returncode, 2)
                tpctl("volume", "reseal", "--pcrs=7", "--accept-risk", img)
                p = tpctl("volume", "reseal", img)
                # The default (PCR 7 only) is accepted, with a warning that says what is weak and what helps.
                self.assertIn(b"weak_policy: yes", p.stdout)
                self.assertIn(b"sealed without PCR 4 or 11", p.stderr)
                self.assertIn(b"--pcrs=7,11", p.stderr)
                # After a PCR 7 change the token no longer unseals: reseal says why and how to give the
                # passphrase, and works with it.
                tpctl("tpm", "extend", "7", input=b"a Secure Boot update")
                p = tpctl("volume", "reseal", "--pcrs=7", "--accept-risk", img, check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn(b"PCR 7 (sha256) differs", p.stderr)
                self.assertIn(b"resealing needs the passphrase or a recovery key: PCR 7", p.stderr)
                self.assertIn(b"--passphrase-file=FILE " + img.encode(), p.stderr)
                tpctl("volume", "reseal", "--pcrs=7", "--accept-risk", f"--passphrase-file={pf}", img)
                status = json.loads(tpctl("--json=short", "volume", "status", img).stdout)
                tpm_token = [t[0] for t in status["Tokens"] if t[1] == "trusted-platform-tpm2"][0]
                tpctl("volume", "unenroll", img, str(tpm_token))
                status = json.loads(tpctl("--json=short", "volume", "status", img).stdout)
                self.assertNotIn("tpm2", [k[1] for k in status["Keyslots"]])

                p = tpctl("volume", "status", "/nonexistent.img", check=False)
                self.assertNotEqual(p.returncode, 0)

    def test_tpctl_volume_relative_path_and_size(self):
        """A relative PATH is the file in tpctl's working directory (the daemon takes only absolute paths), and
        --size= takes K/M/G/T suffixes; a malformed size is a usage error before anything is asked or sent."""
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-tpctl-volume-rel-") as tmp:
            pf = os.path.join(tmp, "pass")
            with open(pf, "w") as f:
                f.write("s3cret passphrase\n")
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            with d:
                for size in ("32x", "32Mx", "-1", "0", "M", "99999999999999999999", "16E"):
                    p = tpctl("volume", "create", f"--size={size}", f"--passphrase-file={pf}", "x.img", check=False)
                    self.assertEqual(p.returncode, 2, size)
                    self.assertIn(b"Invalid --size=", p.stderr)
                    self.assertFalse(os.path.exists("x.img"))
                cwd = os.getcwd()
                os.chdir(tmp)
                try:
                    out = json.loads(tpctl("--json=short", "volume", "create", "--size=32M", "--alg=pbkdf2:1000",
                                           f"--passphrase-file={pf}", "disk.img").stdout)
                    img = os.path.join(tmp, "disk.img")
                    self.assertEqual(os.path.getsize(img), 32 * 1024 * 1024)
                    rows = json.loads(tpctl("--json=short", "volume", "list").stdout)
                    self.assertIn(img, [r["path"] for r in rows])
                    for rel in ("disk.img", "./disk.img", "../" + os.path.basename(tmp) + "//disk.img"):
                        status = json.loads(tpctl("--json=short", "volume", "status", rel).stdout)
                        self.assertEqual(status["UUID"], out["uuid"], rel)
                    tpctl("volume", "create", "--size=1G", "--alg=pbkdf2:1000", f"--passphrase-file={pf}", "big.img")
                    # An existing file system is refused unless --force; --label= and --recovery-key reach the
                    # daemon's options; they belong to create only.
                    with open("fs.img", "wb") as f:
                        f.truncate(32 * 1024 * 1024)
                    subprocess.run(["mkfs.ext4", "-q", "-F", "fs.img"], check=True)
                    create = ["volume", "create", "--alg=pbkdf2:1000", f"--passphrase-file={pf}"]
                    p = tpctl(*create, "fs.img", check=False)
                    self.assertEqual(p.returncode, 1)
                    self.assertIn(b"ext4 signature", p.stderr)
                    out = json.loads(tpctl("--json=short", *create, "--force", "--label=data", "--recovery-key",
                                           "fs.img").stdout)
                    self.assertRegex(out["recovery_key"], r"^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$")
                    status = json.loads(tpctl("--json=short", "volume", "status", "fs.img").stdout)
                    self.assertEqual(status["Label"], "data")
                    self.assertIn("recovery-key", [k[1] for k in status["Keyslots"]])
                    for args in (["volume", "enroll", "--force", "fs.img"], ["volume", "enroll", "--label=x", "fs.img"],
                                 ["volume", "reseal", "--recovery-key", "fs.img"], ["tpm", "info", "--force"]):
                        p = tpctl(*args, check=False)
                        self.assertEqual(p.returncode, 2, args)
                    self.assertEqual(os.path.getsize("big.img"), 1024 ** 3)
                    # Before "tpm provision" there is no SRK to seal to: the error is NotProvisioned, without
                    # "Volume operation failed", and tpctl names the command that helps.
                    for args in (["volume", "enroll", "--pcrs=7,11", f"--passphrase-file={pf}", "disk.img"],
                                 ["tpm", "seal"]):
                        p = tpctl(*args, input=b"secret", check=False)
                        self.assertEqual(p.returncode, 1, args)
                        self.assertIn(b'run "tpctl tpm provision" once', p.stderr, args)
                        self.assertNotIn(b"Volume operation failed", p.stderr, args)
                    # Unknown: named by its absolute path.
                    p = tpctl("volume", "status", "other.img", check=False)
                    self.assertEqual(p.returncode, 1)
                    self.assertIn(os.path.join(tmp, "other.img").encode(), p.stderr)
                finally:
                    os.chdir(cwd)

    def test_tpctl_volume_signed_policy(self):
        """Enroll to a key's signed policies (--authorize-key, tested with --signed-policy), survive a PCR 7 change
        with a new signature and no passphrase, and refuse bad combinations."""
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-tpctl-volume-sp-") as tmp:
            img = os.path.join(tmp, "disk.img")
            pf = os.path.join(tmp, "pass")
            priv, pub = os.path.join(tmp, "key.pem"), os.path.join(tmp, "pub.pem")
            pol, pol2 = os.path.join(tmp, "policy"), os.path.join(tmp, "policy2")
            with open(pf, "w") as f:
                f.write("s3cret passphrase\n")
            subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-out", priv], check=True, capture_output=True)
            subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True, capture_output=True)
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            with d:
                tpctl("tpm", "provision")
                tpctl("volume", "create", f"--size={SIZE}", "--alg=pbkdf2:1000", f"--passphrase-file={pf}", img)
                tpctl("tpm", "sign-policy", f"--key={priv}", "--pcrs=7", pol)

                # Usage errors: no daemon call.
                for args in (["--authorize-key=" + pub],                        # no signed policy to test with
                             ["--authorize-key=" + pub, "--signed-policy=" + pol, "--pcrs=7"],
                             ["--authorize-key=" + pub, "--signed-policy=" + pol, "--bank=sha256"]):
                    p = tpctl("volume", "enroll", *args, f"--passphrase-file={pf}", img, check=False)
                    self.assertEqual(p.returncode, 2, args)
                # Refused by the daemon (InvalidArgs): not a key, not a signed policy.
                for args in (["--authorize-key=" + pf, "--signed-policy=" + pol],
                             ["--authorize-key=" + pub, "--signed-policy=" + pf]):
                    p = tpctl("volume", "enroll", *args, f"--passphrase-file={pf}", img, check=False)
                    self.assertNotEqual(p.returncode, 0, args)
                    self.assertNotIn(b"Traceback", p.stderr)

                out = json.loads(tpctl("--json=short", "volume", "enroll", f"--authorize-key={pub}",
                                       f"--signed-policy={pol}", f"--passphrase-file={pf}", img).stdout)
                self.assertFalse(out["weak_policy"])
                self.assertIn("signed", tpctl("volume", "status", img).stdout.decode().lower())

                # PCR 7 moves; the old policy no longer matches, a new signature (appended) does: reseal
                # without the passphrase.
                tpctl("tpm", "extend", "7", input=b"an update")
                p = tpctl("volume", "reseal", f"--signed-policy={pol}", img, check=False)
                self.assertNotEqual(p.returncode, 0)
                tpctl("tpm", "sign-policy", f"--key={priv}", "--pcrs=7", f"--append-to={pol}", pol2)
                tpctl("volume", "reseal", f"--authorize-key={pub}", f"--signed-policy={pol2}", img)
                status = json.loads(tpctl("--json=short", "volume", "status", img).stdout)
                self.assertEqual([k[1] for k in status["Keyslots"]].count("tpm2"), 1)


if __name__ == "__main__":
    tptest.main()
