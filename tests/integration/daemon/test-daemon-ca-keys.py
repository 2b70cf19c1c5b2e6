#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where the daemon's CA keeps its keys ([CA] KeyStore=, ca-keys.c), with the openssl CLI as the independent
peer:
- the default TPM store, with swtpm behind tpm2-abrmd: Init() through busctl and tpctl, the keys are TSS2
  PRIVATE KEY files that `openssl x509 -req -provider tpm2` signs with, issue + revoke + `openssl verify
  -crl_check`, 16-byte distinct serials, and a restarted daemon keeps the CA;
- the TPM store on a TPM that serves one client (swtpm without a resource manager): a clear error naming
  the fix, and the rest of the daemon runs;
- the file store: its passphrase sealed in the TPM (nothing in the clear on disk), the CA survives a
  restart, an older version's clear passphrase is sealed and removed, [CA] PassphraseFile= is used as given;
- malformed [CA] values make the daemon refuse to start."""

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from daemontest import ERROR, NAME, PATH, TPCTL, TPM, bus_call, busctl, new_daemon, tpharness, tptest

CA = NAME + ".CA"
os.environ["TP_BUS_INTERFACE"] = CA  # for bus-call


def ca_call(method, signature="", *args):
    p = busctl("call", NAME, PATH, CA, method, signature, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def run(*cmd, check=True, env=None):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr[:800]}")
    return p


def write_config(d, text):
    d.config_dir = os.path.join(d.dir, "config")
    os.makedirs(d.config_dir, mode=0o755, exist_ok=True)
    with open(os.path.join(d.config_dir, "trusted-platform.conf"), "w") as f:
        f.write(text)


def make_csr(tmp, name, der=True):
    key, csr = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".csr")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-subj", f"/CN={name}.example.test", "-addext", f"subjectAltName=DNS:{name}.example.test", "-out", csr,
        *(["-outform", "DER"] if der else []))
    with open(csr, "rb") as f:
        return f.read(), csr


def save(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    return p


def daemon_log(d):
    with open(d.log_path) as f:
        return f.read()


class CaKeysTest(unittest.TestCase):

    def issue(self, tmp, name):
        der, _ = make_csr(tmp, name)
        serial, chain = ca_call("IssueCertificate", "aysa{sv}", len(der), *der, "tls-server", 0)
        return serial, save(tmp, name + ".pem", chain)

    def test_tpm_store_behind_abrmd(self):
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-keys-") as tmp:
            provider_env = {"TPM2OPENSSL_TCTI": stack.abrmd.tcti}
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            d.extra_env["TRUSTED_PLATFORM_LOG_LEVEL"] = "debug"  # to see the serials' random pool filled
            with d:
                # The default store: Init through busctl, then tpctl (idempotent).
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                run(TPCTL, "--no-pager", "ca", "init")
                self.assertFalse(ca_call("Init", "a{sv}", 0)[0])

                keys = os.path.join(stack.state_dir, "ca", "tpm-keys")
                for k in ("root", "intermediate"):
                    path = os.path.join(keys, k + ".pem")
                    self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                    with open(path) as f:
                        self.assertTrue(f.read().startswith("-----BEGIN TSS2 PRIVATE KEY-----"), k)
                self.assertFalse(os.path.exists(os.path.join(stack.state_dir, "ca", "keys")))
                self.assertFalse(os.path.exists(os.path.join(stack.state_dir, "ca-passphrase.sealed")))

                root = save(tmp, "root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
                inter = save(tmp, "intermediate.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])

                # The openssl CLI signs with the TPM-held intermediate key through the tpm2 provider.
                _, csr = make_csr(tmp, "cli", der=False)
                ext = save(tmp, "ext.cnf", "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:cli.example.test\n")
                run("openssl", "x509", "-req", "-provider", "tpm2", "-provider", "default", "-in", csr, "-CA", inter,
                    "-CAkey", os.path.join(keys, "intermediate.pem"), "-CAcreateserial", "-days", "1", "-extfile",
                    ext, "-out", os.path.join(tmp, "cli.pem"), env=provider_env)
                out = run("openssl", "verify", "-CAfile", root, "-untrusted", inter, os.path.join(tmp, "cli.pem"))
                self.assertIn("OK", out.stdout)

                # Issue, revoke, and the CRL says so.
                good, good_pem = self.issue(tmp, "good")
                bad, bad_pem = self.issue(tmp, "bad")
                ca_call("Revoke", "ssa{sv}", bad, "keyCompromise", 0)
                save(tmp, "crl.der", bytes(ca_call("GetCRL", "a{sv}", 0)[0]))
                run("openssl", "crl", "-inform", "DER", "-in", os.path.join(tmp, "crl.der"), "-out",
                    os.path.join(tmp, "crl.pem"))
                verify = ["openssl", "verify", "-crl_check", "-CRLfile", os.path.join(tmp, "crl.pem"), "-CAfile", root,
                          "-untrusted", inter]
                self.assertEqual(run(*verify, good_pem, check=False).returncode, 0)
                p = run(*verify, bad_pem, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("certificate revoked", p.stdout + p.stderr)

                # Serials: 128 bits, all different.
                serials = [good, bad] + [self.issue(tmp, f"s{i}")[0] for i in range(6)]
                for s in serials:
                    self.assertRegex(s, "^[0-9A-F]{32}$")
                self.assertEqual(len(set(serials)), len(serials))
                text = run("openssl", "x509", "-in", good_pem, "-noout", "-serial").stdout
                self.assertEqual(text.strip(), "serial=" + good)
                # ... mixed with TPM random bytes: the pool was filled through the worker and never ran dry.
                self.assertIn("Filled the serials' random pool with", daemon_log(d))
                self.assertNotIn("the rest is OpenSSL's alone", daemon_log(d))

                # Sign() with a key the daemon keeps in the TPM runs on the TPM worker (its own tpm2 provider
                # instance), while the event loop signs with the CA's TPM keys at the same time: signatures
                # and certificates issued side by side all verify.
                signer, chain, key_pem = ca_call("GenerateCertificate", "ssasa{sv}", "code-signing", "/CN=signer",
                                                 0, 1, "KeyType", "s", "ecdsa-p256")
                self.assertTrue(key_pem.startswith("-----BEGIN TSS2 PRIVATE KEY-----"))
                signer_pem = save(tmp, "signer.pem", chain)
                # The key was made on the TPM worker, and is the file the store keeps.
                self.assertIn("(made on the TPM worker)", daemon_log(d))
                with open(os.path.join(keys, f"cert-{signer.lower()}.pem")) as f:
                    self.assertEqual(f.read(), key_pem)
                self.assertEqual(run("openssl", "verify", "-CAfile", root, "-untrusted", inter,
                                     signer_pem).returncode, 0)
                # Refused before any key is made, with the same errors as on the event loop.
                before = sorted(os.listdir(keys))
                name, _ = bus_call("GenerateCertificate", "ssasa{sv}", "code-signing", "/CN=e", 0, 1, "KeyType", "s",
                                   "ed25519")
                self.assertEqual(name, ERROR + "KeyStoreUnsuitable")
                name, _ = bus_call("GenerateCertificate", "ssasa{sv}", "tls-server", "/CN=no.sans", 0, 0)
                self.assertEqual(name, "org.freedesktop.DBus.Error.InvalidArgs")
                self.assertEqual(sorted(os.listdir(keys)), before)
                # A certificate that cannot be recorded (the index refuses: chattr +i stops root too) takes the
                # key made for it on the worker along.
                index = os.path.join(stack.state_dir, "ca", "index")
                run("chattr", "+i", index)
                try:
                    name, _ = bus_call("GenerateCertificate", "ssasa{sv}", "code-signing", "/CN=no room", 0, 0)
                finally:
                    run("chattr", "-i", index)
                self.assertIsNotNone(name)
                self.assertEqual(sorted(os.listdir(keys)), before)
                data = save(tmp, "data.bin", b"firmware 1.2\n" * 100)
                calls = []
                for i in range(6):
                    calls.append(subprocess.Popen(
                        ["busctl", "--system", "--json=short", "call", NAME, PATH, CA, "Sign", "saya{sv}", signer,
                         str(1300), *[str(b) for b in b"firmware 1.2\n" * 100], "0"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                        env=dict(os.environ)))
                    self.issue(tmp, f"beside{i}")
                for i, c in enumerate(calls):
                    out, err = c.communicate(timeout=120)
                    self.assertEqual(c.returncode, 0, err)
                    sig = save(tmp, f"sig{i}.der", bytes(json.loads(out)["data"][0]))
                    p = run("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", data,
                            "-CAfile", root, "-certfile", inter, "-purpose", "any", "-out", "/dev/null", check=False)
                    self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("(in the TPM)", daemon_log(d))
                for i in range(6):
                    p = run("openssl", "verify", "-CAfile", root, "-untrusted", inter,
                            os.path.join(tmp, f"beside{i}.pem"), check=False)
                    self.assertEqual(p.returncode, 0, p.stderr)
                # While a Sign() waits for the TPM (swtpm stopped), the event loop answers other calls, CA ones
                # included; the Sign() completes once the TPM is back.
                log_before = len(daemon_log(d))
                os.kill(stack.swtpm.pid, signal.SIGSTOP)
                try:
                    waiting = subprocess.Popen(
                        ["busctl", "--system", "--json=short", "--timeout=120", "call", NAME, PATH, CA, "Sign",
                         "saya{sv}", signer, "2", "1", "2", "0"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                    deadline = time.monotonic() + 30
                    while "on the TPM worker" not in daemon_log(d)[log_before:]:
                        self.assertLess(time.monotonic(), deadline, "Sign() never reached the worker")
                        time.sleep(0.05)
                    busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping", timeout=10)
                    self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], open(root).read())
                    self.assertIsNone(waiting.poll(), "Sign() finished although the TPM was stopped")
                finally:
                    os.kill(stack.swtpm.pid, signal.SIGCONT)
                out, err = waiting.communicate(timeout=120)
                self.assertEqual(waiting.returncode, 0, err)
                self.assertGreater(len(json.loads(out)["data"][0]), 100)

                # The refusals are the same as on the event loop.
                name, _ = bus_call("Sign", "saya{sv}", "0" * 32, "0102", 0)
                self.assertEqual(name, ERROR + "NoSuchCertificate")
                ca_call("Revoke", "ssa{sv}", signer, "keyCompromise", 0)
                name, _ = bus_call("Sign", "saya{sv}", signer, "0102", 0)
                self.assertEqual(name, ERROR + "CertificateRevoked")
                busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")

            # A restarted daemon adopts the CA on the TPM keys, and signs with them.
            d2 = new_daemon(stack, name="daemon2")
            d2.extra_env.update(stack.abrmd.env)
            with d2:
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], open(root).read())
                entries = {e[0]: e[3] for e in ca_call("ListCertificates", "a{sv}", 0)[0]}
                self.assertEqual(entries[bad], "revoked")
                self.assertFalse(ca_call("Init", "a{sv}", 0)[0])
                _, after = self.issue(tmp, "after")
                self.assertEqual(run("openssl", "verify", "-CAfile", root, "-untrusted", inter, after).returncode, 0)

            # Another key type the TPM holds, in a CA of its own.
            state = os.path.join(tmp, "state-p384")
            os.mkdir(state, 0o700)
            d3 = new_daemon(stack, name="daemon3", state_dir=state)
            d3.extra_env.update(stack.abrmd.env)
            write_config(d3, "[CA]\nKeyType=ecdsa-p384\n")
            with d3:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                pem = save(tmp, "i384.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])
                self.assertIn("P-384", run("openssl", "x509", "-in", pem, "-noout", "-text").stdout)
                with open(os.path.join(state, "ca", "tpm-keys", "intermediate.pem")) as f:
                    self.assertTrue(f.read().startswith("-----BEGIN TSS2 PRIVATE KEY-----"))
                self.issue(tmp, "p384leaf")

    def test_tpm_store_on_a_one_client_tpm(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack:
            d = new_daemon(stack)  # default config: KeyStore=tpm, swtpm: without a resource manager
            with d:
                self.assertIn("KeyStore=tpm needs a TPM connection of its own", daemon_log(d))
                # Every CA method names the problem and the fix (a read too: Init() could not help).
                for method, sig, *args in (("Init", "a{sv}", 0), ("GetCertificate", "sa{sv}", "root", 0),
                                           ("ListCertificates", "a{sv}", 0)):
                    name, message = bus_call(method, sig, *args)
                    self.assertEqual(name, ERROR + "CAKeyStoreUnavailable", message)
                    self.assertIn("KeyStore=file", message)
                    self.assertIn("TCTI=", message)
                # The rest of the daemon runs.
                self.assertEqual(len(json.loads(busctl("call", NAME, PATH, TPM, "GetRandom", "u", 8).stdout)["data"][0]),
                                 8)
                self.assertFalse(os.path.exists(os.path.join(stack.state_dir, "ca")))

    def test_file_store_sealed_passphrase(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-keys-") as tmp:
            d = new_daemon(stack)
            write_config(d, "[CA]\nKeyStore=file\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                root = ca_call("GetCertificate", "sa{sv}", "root", 0)[1]
                serial, _ = self.issue(tmp, "one")
            sealed = os.path.join(stack.state_dir, "ca-passphrase.sealed")
            self.assertEqual(os.stat(sealed).st_mode & 0o777, 0o600)
            self.assertFalse(os.path.exists(os.path.join(stack.state_dir, "ca-passphrase")))
            with open(sealed, "rb") as f:
                blob = f.read()
            self.assertTrue(blob.startswith(b"TPSB"))
            # No passphrase in the clear: 64 hex digits (or the raw 32 bytes as hex) appear nowhere.
            self.assertIsNone(re.search(rb"[0-9a-f]{32}", blob))
            for k in ("root", "intermediate"):
                with open(os.path.join(stack.state_dir, "ca", "keys", k + ".pem")) as f:
                    self.assertTrue(f.read().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----"))

            # A restart unseals the passphrase at start: the CA is there and issues.
            d2 = new_daemon(stack, name="daemon2")
            d2.config_dir = d.config_dir
            with d2:
                # The TPM interface does not unseal the daemon's own blob for anyone (root included).
                p = busctl("call", NAME, PATH, TPM, "Unseal", "aya{sv}", len(blob), *blob, 0, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("sealed to the storage root key alone", p.stderr)
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], root)
                self.assertEqual([e[0] for e in ca_call("ListCertificates", "a{sv}", 0)[0]], [serial])
                self.issue(tmp, "two")
                self.assertFalse(ca_call("Init", "a{sv}", 0)[0])

            # Keys whose passphrase is gone: never a new passphrase over them, not even from Init().
            os.rename(sealed, sealed + ".away")
            d3 = new_daemon(stack, name="daemon3")
            d3.config_dir = d.config_dir
            with d3:
                for method, sig, *args in (("Init", "a{sv}", 0), ("GetCertificate", "sa{sv}", "root", 0)):
                    name, message = bus_call(method, sig, *args)
                    self.assertIsNotNone(name, method)
                self.assertFalse(os.path.exists(sealed))
                self.assertIn("give it in [CA] PassphraseFile=", daemon_log(d3))
            os.rename(sealed + ".away", sealed)

            # With KeyStore= unset, an existing CA keeps the store its keys are in (here: file, on a TPM
            # the provider could not even share), so a CA from before the TPM default goes on working.
            d4 = new_daemon(stack, name="daemon4")
            write_config(d4, "[CA]\n")
            with d4:
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], root)
                self.issue(tmp, "three")
                self.assertNotIn("KeyStore=tpm needs", daemon_log(d4))

    def test_file_store_opened_later_through_the_worker(self):
        """The TPM is missing when the daemon starts, so the CA stays closed; once the TPM is back, CA calls
        wait for the passphrase to be unsealed on the TPM worker (several at once) and then answer."""
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack:
            d = new_daemon(stack)
            write_config(d, "[CA]\nKeyStore=file\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                root = ca_call("GetCertificate", "sa{sv}", "root", 0)[1]

            os.kill(stack.swtpm.pid, signal.SIGKILL)
            stack.swtpm.proc.popen.wait(10)
            d2 = new_daemon(stack, name="daemon2")
            d2.config_dir = d.config_dir
            d2.extra_env["TRUSTED_PLATFORM_LOG_LEVEL"] = "debug"
            with d2:
                self.assertIn("no TPM", daemon_log(d2))
                name, message = bus_call("GetCertificate", "sa{sv}", "root", 0)
                self.assertEqual(name, ERROR + "CAKeyStoreUnavailable", message)
                self.assertIn("PassphraseFile=", message)

                stack.swtpm.start()
                self.assertEqual(len(json.loads(busctl("call", NAME, PATH, TPM, "GetRandom", "u", 8).stdout)["data"][0]),
                                 8)
                calls = [subprocess.Popen(["busctl", "--system", "--json=short", "call", NAME, PATH, CA,
                                           "GetCertificate", "sa{sv}", "root", "0"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                         for _ in range(4)]
                for c in calls:
                    out, err = c.communicate(timeout=60)
                    self.assertEqual(c.returncode, 0, err)
                    self.assertEqual(json.loads(out)["data"][1], root)
                self.assertIn("GetCertificate() waits for the CA to be opened on the TPM worker", daemon_log(d2))
                self.assertEqual(daemon_log(d2).count("The CA open on the TPM worker finished (ok)"), 1)
                self.assertFalse(ca_call("Init", "a{sv}", 0)[0])

    def test_file_store_migrates_a_clear_passphrase(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-keys-") as tmp:
            # What an older version left: 32 random bytes as hex, 0600.
            passphrase = os.urandom(32).hex()
            clear = os.path.join(stack.state_dir, "ca-passphrase")
            fd = os.open(clear, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, passphrase.encode())
            os.close(fd)
            d = new_daemon(stack)
            write_config(d, "[CA]\nKeyStore=file\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                self.assertFalse(os.path.exists(clear))
                self.assertTrue(os.path.exists(os.path.join(stack.state_dir, "ca-passphrase.sealed")))
            # The keys are encrypted under the migrated passphrase (openssl reads them with it).
            pw = save(tmp, "pw", passphrase)
            run("openssl", "pkey", "-in", os.path.join(stack.state_dir, "ca", "keys", "root.pem"), "-passin",
                f"file:{pw}", "-noout")

            # An older version's whole CA (keys + clear passphrase, no sealed one) under a new daemon with
            # no [CA] settings: opened at start in its file store, the passphrase sealed, the clear copy gone.
            sealed = os.path.join(stack.state_dir, "ca-passphrase.sealed")
            os.unlink(sealed)
            fd = os.open(clear, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, passphrase.encode())
            os.close(fd)
            d2 = new_daemon(stack, name="daemon2")
            with d2:
                self.assertFalse(os.path.exists(clear))
                self.assertTrue(os.path.exists(sealed))
                self.assertIn("removed the clear copy", daemon_log(d2))
                self.issue(tmp, "after-upgrade")

    def test_passphrase_file(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-keys-") as tmp:
            pw = save(tmp, "ca.pass", "an administrator's passphrase\n")
            os.chmod(pw, 0o644)
            d = new_daemon(stack)
            write_config(d, f"[CA]\nKeyStore=file\nPassphraseFile={pw}\n")
            with d:
                # Open to others: refused.
                name, message = bus_call("Init", "a{sv}", 0)
                self.assertIsNotNone(name, message)
                os.chmod(pw, 0o600)
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
            self.assertFalse(os.path.exists(os.path.join(stack.state_dir, "ca-passphrase.sealed")))
            run("openssl", "pkey", "-in", os.path.join(stack.state_dir, "ca", "keys", "intermediate.pem"),
                "-passin", f"file:{pw}", "-noout")

    def test_pkcs11_store(self):
        # The CA's keys on a softhsm2 token: the daemon logs in with the PIN from PKCS11PINFile=, issues,
        # revokes, and openssl checks the chain and the CRL; a wrong PIN makes the CA unavailable (the
        # token is asked once), a missing PKCS11Token= refuses to start.
        module = "/usr/lib/softhsm/libsofthsm2.so"
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-pkcs11-") as tmp:
            os.makedirs(os.path.join(tmp, "tokens"))
            conf = save(tmp, "softhsm2.conf", f"directories.tokendir = {tmp}/tokens\nobjectstore.backend = file\n")
            os.environ["SOFTHSM2_CONF"] = conf
            run("softhsm2-util", "--init-token", "--free", "--label", "tp-ca", "--pin", "4711", "--so-pin", "0815")
            pin = save(tmp, "pin", "4711\n")
            os.chmod(pin, 0o600)
            d = new_daemon(stack)
            write_config(d, f"[CA]\nKeyStore=pkcs11\nPKCS11Module={module}\nPKCS11Token=tp-ca\n"
                            f"PKCS11PINFile={pin}\nKeyType=ecdsa-p384\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                self.assertFalse(os.path.exists(os.path.join(stack.state_dir, "ca", "keys")))
                root = save(tmp, "root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
                serial, chain = self.issue(tmp, "p11")
                good = run("openssl", "verify", "-CAfile", root, "-untrusted", chain, chain)
                self.assertIn("OK", good.stdout)
                ca_call("Revoke", "ssa{sv}", serial, "keyCompromise", 0)
                crl = ca_call("GetCRL", "a{sv}", 0)[0]
                crl_path = save(tmp, "crl.der", bytes(crl))
                crl_pem = os.path.join(tmp, "crl.pem")
                run("openssl", "crl", "-inform", "DER", "-in", crl_path, "-out", crl_pem)
                bad = run("openssl", "verify", "-crl_check", "-CAfile", root, "-untrusted", chain, "-CRLfile",
                          crl_pem, chain, check=False)
                self.assertNotEqual(bad.returncode, 0)
                self.assertIn("revoked", bad.stdout + bad.stderr)
            # Restarted: the CA on the token is adopted.
            d2 = new_daemon(stack, name="again")
            d2.config_dir = d.config_dir
            with d2:
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], open(root).read())
            # A wrong PIN: the CA methods fail, the daemon runs.
            save(tmp, "pin", "0000\n")
            d3 = new_daemon(stack, name="wrongpin")
            d3.config_dir = d.config_dir
            with d3:
                name, message = bus_call("GetCertificate", "sa{sv}", "root", 0)
                self.assertIsNotNone(name, message)
                self.assertIn("PKCS#11", daemon_log(d3))
            d4 = new_daemon(stack, name="notoken")
            write_config(d4, f"[CA]\nKeyStore=pkcs11\nPKCS11Module={module}\n")
            with self.assertRaises(tpharness.HarnessError):
                d4.start()
            with contextlib.suppress(tpharness.HarnessError):
                d4.stop()
            self.assertIn("PKCS11Token=", daemon_log(d4))
            del os.environ["SOFTHSM2_CONF"]

    def test_bad_config_refuses_to_start(self):
        bad = ("KeyStore=nonsense", "KeyStore=TPM", "KeyType=dsa-1024", "KeyStore=tpm\nKeyType=ed25519",
               "KeyStore=tpm\nKeyType=rsa-4096", "RootValidityDays=0", "RootValidityDays=x",
               "RootValidityDays=99999999", "IntermediateValidityDays=0", "IntermediateValidityDays=-5",
               "RootValidityDays=100\nIntermediateValidityDays=200", "PathLength=-1", "PathLength=17",
               "PathLength=one", "PermittedDNS=bad..example", "PermittedDNS=*.example.test",
               "ExcludedDNS=a.example a.example", "ExcludedDNS=" + " ".join(f"n{i}.example" for i in range(33)),
               "RootSubject=not a subject", "IntermediateSubject=/CN=Trusted Platform Root CA",
               "PassphraseFile=relative/path", "TCTI=" + "x" * 300)
        self.assertGreaterEqual(len(bad), 12)
        with tpharness.Stack(swtpm=True, bus=True, polkit=False) as stack:
            for i, lines in enumerate(bad):
                d = new_daemon(stack, name=f"bad{i}")
                write_config(d, f"[CA]\n{lines}\n")
                with self.assertRaises(tpharness.HarnessError, msg=lines):
                    d.start()
                with contextlib.suppress(tpharness.HarnessError):
                    d.stop()
                self.assertIn("refusing to start", daemon_log(d), lines)
            # The good values of the same keys start.
            d = new_daemon(stack, name="good")
            write_config(d, "[CA]\nKeyStore=file\nKeyType=ed25519\nRootValidityDays=400\n"
                            "IntermediateValidityDays=300\nPathLength=1\nPermittedDNS=example.test corp.example\n"
                            "ExcludedDNS=bad.example.test\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                with tempfile.TemporaryDirectory(prefix="tp-ca-keys-") as tmp:
                    inter = save(tmp, "i.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])
                    text = run("openssl", "x509", "-in", inter, "-noout", "-text").stdout
                self.assertIn("pathlen:1", text)
                self.assertIn("Permitted:", text)
                self.assertIn("DNS:example.test", text)
                self.assertIn("DNS:corp.example", text)
                self.assertIn("Excluded:", text)
                self.assertIn("DNS:bad.example.test", text)
                self.assertIn("ED25519", text.upper())


if __name__ == "__main__":
    tptest.main()
