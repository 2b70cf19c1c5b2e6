#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keys the daemon makes and keeps (CA.GenerateCertificate), signing with them (CA.Sign) and verifying
(CA.Verify) on the real daemon (tp-run --daemon: private system bus, swtpm, real polkitd), with the
openssl CLI as the independent peer in both directions: our signatures pass `openssl cms -verify`,
openssl's pass Verify, changed data and revoked signers fail. Also the TPM profiles (ak, ek) through
IssueCertificate with the TPM attributes as options, at least 12 malformed calls per method, polkit
refusing nobody, and the tpctl verbs (ca issue --key-in, ca sign, ca verify)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from daemontest import AS_NOBODY, ERROR, NAME, PATH, TPCTL, bus_call, busctl, tptest

CA = NAME + ".CA"
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
DENIED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
TPM_OPTS = (3, "TPMManufacturer", "s", "id:00001014", "TPMModel", "s", "swtpm", "TPMVersion", "s", "id:20191023")
DATA = b"release 4.2 of the thing\n" * 1000

os.environ["TP_BUS_INTERFACE"] = CA  # for bus-call
TMP = None


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="tp-daemon-ca-sign-")
    os.chmod(TMP, 0o755)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def run(*cmd, input=None, check=True, user=None):
    cmd = (AS_NOBODY if user == "nobody" else []) + [str(c) for c in cmd]
    p = subprocess.run(cmd, capture_output=True, timeout=120, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode().strip()[:800]}")
    return p


def ca_call(method, signature="", *args, user=None):
    p = busctl("call", NAME, PATH, CA, method, signature, *args, user=user)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def path(name):
    return os.path.join(TMP, name)


def write(name, data):
    with open(path(name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path(name)


def generate(profile, subject, sans=(), *options):
    n = len(options) // 3
    return ca_call("GenerateCertificate", "ssasa{sv}", profile, subject, len(sans), *sans, n, *options)


def make_csr(name, subj="/CN=x", key_args=("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"), san=None):
    cmd = ["openssl", "req", "-new", *key_args, "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".csr"),
           "-subj", subj]
    if san:
        cmd += ["-addext", f"subjectAltName={san}"]
    run(*cmd)
    with open(path(name + ".csr"), "rb") as f:
        return f.read()


def text_of(pem_or_path):
    if not os.path.exists(pem_or_path):
        pem_or_path = write("text.pem", pem_or_path)
    return run("openssl", "x509", "-in", pem_or_path, "-noout", "-text").stdout.decode()


class CaSignTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # Before Init() there is nothing to verify against.
        name, _ = bus_call("Verify", "ayaya{sv}", "00", "30", 0)
        if name != ERROR + "CANotInitialized":
            raise AssertionError(f"Verify before Init(): {name}")
        ca_call("Init", "a{sv}", 0)
        cls.root = write("root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
        cls.intermediate = write("intermediate.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])
        cls.signer, chain, cls.key_pem = generate("code-signing", "/CN=Release Signer/O=Example", (),
                                                  "KeyType", "s", "ecdsa-p256")
        cls.signer_chain = write("signer.pem", chain)
        cls.data = write("data.bin", DATA)

    def assertAlive(self):
        busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
        self.assertGreater(len(ca_call("GetCertificate", "sa{sv}", "root", 0)[0]), 100)

    def assertError(self, name, method, signature, *args, user=None):
        got, message = bus_call(method, signature, *args, user=user)
        if isinstance(name, tuple):
            self.assertIn(got, name, f"{method} {args}: {got} {message}")
        else:
            self.assertEqual(got, name, f"{method} {args}: {got} {message}")

    def verify_chain(self, cert):
        return run("openssl", "verify", "-CAfile", self.root, "-untrusted", self.intermediate, cert, check=False)

    def sign(self, serial, data=DATA):
        return bytes(ca_call("Sign", "saya{sv}", serial, len(data), *data, 0)[0]) if len(data) < 4096 else None

    def dbus_verify(self, data, sig):
        return ca_call("Verify", "ayaya{sv}", len(data), *data, len(sig), *sig, 0)

    def openssl_verify(self, sig_path, data_path, purpose_any=True):
        cmd = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig_path, "-content", data_path,
               "-CAfile", self.root, "-out", "/dev/null"]
        if purpose_any:
            cmd += ["-purpose", "any"]
        return run(*cmd, check=False)

    def test_generate_each_profile(self):
        cases = [("tls-server", "/CN=svc.example.test", ["DNS:svc.example.test", "IP:192.0.2.7"],
                  "TLS Web Server Authentication"),
                 ("tls-client", "/CN=client 1", [], "TLS Web Client Authentication"),
                 ("code-signing", "/CN=Builder", ["URI:https://example.test/builder"], "Code Signing"),
                 ("email", "/CN=Alice", ["email:alice@example.test"], "E-mail Protection"),
                 ("device", "/CN=device 1", ["URI:urn:uuid:2f1c3c4e-9d3a-4b1e-8a51-6b0b1c1e0f00"],
                  "TLS Web Client Authentication")]
        for profile, subject, sans, eku in cases:
            for key_type in ("ecdsa-p256", "rsa-2048"):
                with self.subTest(profile=profile, key_type=key_type):
                    serial, chain, key = generate(profile, subject, sans, "KeyType", "s", key_type,
                                                  "ValidityDays", "u", 30)
                    self.assertRegex(serial, "^[0-9A-F]{32}$")
                    cert = write(f"gen-{profile}-{key_type}.pem", chain)
                    p = self.verify_chain(cert)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    text = text_of(cert)
                    self.assertIn(eku, text)
                    for san in sans:
                        self.assertIn(san.replace("IP:", "IP Address:"), text)
                    # A file store's key stays in the daemon; a TPM store hands out only the wrapped blob.
                    self.assertTrue(key == "" or key.startswith("-----BEGIN TSS2 PRIVATE KEY-----"), key[:40])
                    entry = ca_call("ListCertificates", "a{sv}", 1, "Serial", "s", serial)[0][0]
                    self.assertEqual(entry[2], profile)
                    # And the daemon signs with it.
                    sig = self.sign(serial, b"hello")
                    self.assertTrue(self.dbus_verify(b"hello", sig)[0])

        # KeyStore=tpm is honoured exactly: granted with a TPM store, refused otherwise.
        got, message = bus_call("GenerateCertificate", "ssasa{sv}", "tls-client", "/CN=tpm only", 0, 1,
                                "KeyStore", "s", "tpm")
        if self.key_pem:
            self.assertIsNone(got, message)
        else:
            self.assertEqual(got, ERROR + "KeyStoreUnsuitable", message)

    def test_failed_generate_leaves_no_key(self):
        """A GenerateCertificate that fails after its key was made (the index refuses the record: chattr +i, which
        stops root too) answers an error and removes the key again; the daemon goes on and the next one works."""
        ca_dir = os.path.join(os.environ["TRUSTED_PLATFORM_STATE_DIR"], "ca")
        keys, index = os.path.join(ca_dir, "keys"), os.path.join(ca_dir, "index")
        before = sorted(os.listdir(keys))
        serials = {e[0] for e in ca_call("ListCertificates", "a{sv}", 0)[0]}
        run("chattr", "+i", index)
        try:
            got, message = bus_call("GenerateCertificate", "ssasa{sv}", "tls-client", "/CN=no room", 0, 0)
        finally:
            run("chattr", "-i", index)
        self.assertTrue(got.startswith(ERROR) or got.startswith("org.freedesktop.DBus.Error."), f"{got} {message}")
        self.assertEqual(sorted(os.listdir(keys)), before)
        self.assertEqual({e[0] for e in ca_call("ListCertificates", "a{sv}", 0)[0]},
                         serials)
        self.assertAlive()
        serial, _, _ = generate("tls-client", "/CN=room again")
        self.assertEqual(len(os.listdir(keys)), len(before) + 1)
        self.assertIn("cert-" + serial.lower() + ".pem", os.listdir(keys))

    def test_sign_interop_with_openssl(self):
        sig = path("data.sig")
        run(TPCTL, "ca", "sign", self.signer, self.data, sig)
        p = self.openssl_verify(sig, self.data)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Verification successful", p.stderr)
        # An email certificate passes openssl's default S/MIME purpose, exactly the command of the docs.
        serial, _, _ = generate("email", "/CN=Bob", ["email:bob@example.test"])
        run(TPCTL, "ca", "sign", serial, self.data, path("email.sig"))
        p = self.openssl_verify(path("email.sig"), self.data, purpose_any=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        # The signature carries the signer and the intermediate, and the digest follows the key.
        printed = run("openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", sig).stdout.decode()
        self.assertIn("Release Signer", printed)
        self.assertIn("sha256", printed)
        # Our own Verify on the same pair, through tpctl (the data is too large for busctl's argv).
        res = json.loads(run(TPCTL, "--json=short", "ca", "verify", self.data, sig).stdout)
        self.assertEqual(res, {"Valid": True, "SignerSubject": "O=Example,CN=Release Signer",
                               "SignerSerial": self.signer, "Reason": ""})
        self.assertIn(b"Valid: signed by", run(TPCTL, "ca", "verify", self.data, sig).stdout)

    def test_verify_openssl_made_signatures(self):
        make_csr("ossl", "/CN=openssl signer")
        serial, chain = ca_call("IssueCertificate", "aysa{sv}", *self.csr_args("ossl"), "code-signing", 0)
        cert = write("ossl.pem", chain.split("-----END CERTIFICATE-----\n")[0] + "-----END CERTIFICATE-----\n")
        for with_chain in (True, False):
            with self.subTest(with_chain=with_chain):
                sig = path(f"ossl-{with_chain}.sig")
                cmd = ["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", self.data, "-signer", cert,
                       "-inkey", path("ossl.key"), "-out", sig]
                if with_chain:
                    cmd += ["-certfile", self.intermediate]
                run(*cmd)
                res = json.loads(run(TPCTL, "--json=short", "ca", "verify", self.data, sig).stdout)
                self.assertTrue(res["Valid"], res)
                self.assertEqual(res["SignerSerial"], serial)
        # The daemon keeps no key for a certificate issued from a CSR.
        self.assertError(ERROR + "NoKey", "Sign", "saya{sv}", serial, "00", 0)

    def csr_args(self, name):
        with open(path(name + ".csr"), "rb") as f:
            csr = f.read()
        return (len(csr), *csr)

    def test_tampered_and_revoked(self):
        serial, chain, _ = generate("device", "/CN=device 9", ["DNS:device9.example.test"])
        sig = self.sign(serial, b"config v1")
        valid, subject, signer, reason = self.dbus_verify(b"config v1", sig)
        self.assertTrue(valid)
        self.assertEqual((subject, signer, reason), ("CN=device 9", serial, ""))
        valid, _, _, reason = self.dbus_verify(b"config v2", sig)
        self.assertFalse(valid)
        self.assertIn("does not match", reason)
        tampered = bytearray(sig)
        tampered[-5] ^= 0x01
        self.assertFalse(self.dbus_verify(b"config v1", bytes(tampered))[0])
        write("cfg", b"config v2")
        write("cfg.sig", sig)
        p = run(TPCTL, "ca", "verify", path("cfg"), path("cfg.sig"), check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"Invalid: The signature does not match the data.", p.stdout)

        ca_call("Revoke", "ssa{sv}", serial, "keyCompromise", 0)
        valid, subject, signer, reason = self.dbus_verify(b"config v1", sig)
        self.assertFalse(valid)
        self.assertEqual(signer, serial)
        self.assertIn("revoked (keyCompromise)", reason)
        self.assertError(ERROR + "CertificateRevoked", "Sign", "saya{sv}", serial, "00", 0)
        write("cfg", b"config v1")
        p = run(TPCTL, "ca", "verify", path("cfg"), path("cfg.sig"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"revoked", p.stdout)
        # A signature from another CA does not verify against ours.
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("foreign.key"), "-out", path("foreign.pem"), "-subj", "/CN=foreign", "-days", "2")
        run("openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", path("cfg"), "-signer", path("foreign.pem"),
            "-inkey", path("foreign.key"), "-out", path("foreign.sig"))
        with open(path("foreign.sig"), "rb") as f:
            valid, _, _, reason = self.dbus_verify(b"config v1", f.read())
        self.assertFalse(valid)
        self.assertIn("not certified by this CA", reason)

    def test_tpm_profiles_from_csr(self):
        make_csr("ak", "/CN=ak of host1")
        serial, chain = ca_call("IssueCertificate", "aysa{sv}", *self.csr_args("ak"), "ak", *TPM_OPTS)
        text = text_of(write("ak.pem", chain))
        self.assertIn("2.23.133.8.3", text)
        self.assertIn("DirName:/2.23.133.2.1=id:00001014/2.23.133.2.2=swtpm/2.23.133.2.3=id:20191023", text)
        self.assertEqual(self.verify_chain(path("ak.pem")).returncode, 0)
        make_csr("ek", "/CN=ek", key_args=("-newkey", "rsa:2048"))
        serial, chain = ca_call("IssueCertificate", "aysa{sv}", *self.csr_args("ek"), "ek", *TPM_OPTS)
        text = text_of(write("ek.pem", chain))
        self.assertIn("2.23.133.8.1", text)
        self.assertIn("Key Encipherment", text)
        self.assertNotIn("Digital Signature", text)
        self.assertError(ERROR + "NotForSigning", "Sign", "saya{sv}", serial, "00", 0)
        listed = ca_call("ListCertificates", "a{sv}", 1, "Serial", "s", serial)[0][0]
        self.assertEqual(listed[2], "ek")
        self.assertTrue(any(s.startswith("DirName:") for s in listed[8]), listed)

    def test_issue_tpm_options_malformed(self):
        csr = make_csr("akbad")
        good = ("TPMManufacturer", "s", "id:00001014", "TPMModel", "s", "swtpm", "TPMVersion", "s", "id:01")
        cases = [
                ("ak", 0),                                                               # none given
                ("ak", 2, *good[:6]),                                                    # version missing
                ("ak", 3, "TPMManufacturer", "s", "IBM", *good[3:]),                    # not id:
                ("ak", 3, "TPMManufacturer", "s", "id:1014", *good[3:]),                # 4 digits
                ("ak", 3, "TPMManufacturer", "s", "id:0000101Z", *good[3:]),            # not hex
                ("ak", 3, "TPMManufacturer", "u", 4116, *good[3:]),                     # wrong type
                ("ak", 3, *good[:3], "TPMModel", "s", "", *good[6:]),                   # empty model
                ("ak", 3, *good[:3], "TPMModel", "s", "M" * 65, *good[6:]),             # long model
                ("ak", 3, *good[:3], "TPMModel", "s", "a\tb", *good[6:]),               # control char
                ("ak", 3, *good[:6], "TPMVersion", "s", "id:123"),                     # odd digits
                ("ak", 3, *good[:6], "TPMVersion", "s", "2.0"),                        # dotted
                ("ak", 3, *good[:6], "TPMVersion", "s", "id:" + "0" * 18),             # too long
                ("ak", 4, *good, "TPMVersion", "s", "id:02"),                          # twice
                ("ek", 0),                                                               # ek needs them too
                ("tls-client", 3, *good),                                               # others take none
                ("ak", 3, *good[:3], "TPMModel", "s", "x" * 300, *good[6:]),            # very long
        ]
        for profile, *opts in cases:
            with self.subTest(profile=profile, opts=str(opts)[:80]):
                self.assertError(INVALID, "IssueCertificate", "aysa{sv}", csr.hex(), profile, *opts)
        self.assertAlive()

    def test_generate_malformed(self):
        cases = [
                ("ssasa{sv}", "", "/CN=x", 0, 0),                               # empty profile
                ("ssasa{sv}", "bogus", "/CN=x", 0, 0),                          # unknown profile
                ("ssasa{sv}", "sub-ca", "/CN=x", 0, 0),                         # not a daemon-kept profile
                ("ssasa{sv}", "ak", "", 0, 0),
                ("ssasa{sv}", "ocsp-signing", "/CN=x", 0, 0),
                ("ssasa{sv}", "tls-client", "", 0, 0),                          # subject needed
                ("ssasa{sv}", "tls-client", "CN=x", 0, 0),                      # no leading /
                ("ssasa{sv}", "tls-client", "/XX=x", 0, 0),                     # unknown attribute
                ("ssasa{sv}", "tls-client", "/CN=" + "x" * 65, 0, 0),           # too long a value
                ("ssasa{sv}", "tls-client", "/CN=x" * 300, 0, 0),               # longer than 1 KiB
                ("ssasa{sv}", "tls-server", "/CN=a.example", 0, 0),             # tls-server needs a SAN
                ("ssasa{sv}", "tls-server", "/CN=a.example", 1, "DNS:b.example", 0),  # CN not among SANs
                ("ssasa{sv}", "tls-server", "/CN=a.example", 1, "FTP:a.example", 0),  # unknown SAN kind
                ("ssasa{sv}", "tls-server", "/CN=-a-", 1, "DNS:-a-", 0),         # bad DNS name
                ("ssasa{sv}", "tls-client", "/CN=x", 2, "DNS:a.example", "DNS:a.example", 0),  # duplicate
                ("ssasa{sv}", "device", "/CN=x", 1, "email:x@example.test", 0),  # not a device name
                ("ssasa{sv}", "tls-client", "/CN=x", 101, *[f"DNS:h{i}.example" for i in range(101)], 0),
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "KeyType", "s", "dsa-1024"),
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "KeyType", "u", 1),
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "KeyStore", "s", "floppy"),
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "ValidityDays", "u", 0),
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "ValidityDays", "u", 5000),  # above the profile
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "TPMModel", "s", "x"),     # not an option here
                ("ssasa{sv}", "tls-client", "/CN=x", 0, 1, "Bogus", "s", "x"),
                ("ssas", "tls-client", "/CN=x", 0),                              # no options
                ("ssa{sv}", "tls-client", "/CN=x", 0),                           # no SAN list
                ("s", "tls-client"),
        ]
        before = len(ca_call("ListCertificates", "a{sv}", 0)[0])
        for args in cases:
            with self.subTest(args=str(args)[:100]):
                self.assertError(INVALID, "GenerateCertificate", *args)
        # Nothing was issued by a refused request.
        self.assertEqual(len(ca_call("ListCertificates", "a{sv}", 0)[0]), before)
        self.assertAlive()

    def test_sign_malformed(self):
        cases = [
                ("saya{sv}", "", "00", 0),
                ("saya{sv}", "xyz", "00", 0),
                ("saya{sv}", "Z" * 32, "00", 0),
                ("saya{sv}", "0" * 33, "00", 0),
                ("saya{sv}", "../../etc/passwd", "00", 0),
                ("saya{sv}", self.signer, "zeros:16777217", 0),                # above 16 MiB
                ("saya{sv}", self.signer, "00", 1, "Digest", "s", "sha1"),     # no options
                ("saya{sv}", self.signer, "00", 1, "Bogus", "u", 1),
                ("saya{sv}", self.signer, "00", 2, "A", "u", 1, "B", "u", 2),
                ("say", self.signer, "00"),
                ("sa{sv}", self.signer, 0),
                ("ayay", "00", "00"),
                ("s", self.signer),
                ("u", 1),
        ]
        for args in cases:
            with self.subTest(args=str(args)[:100]):
                self.assertError(INVALID, "Sign", *args)
        self.assertError(ERROR + "NoSuchCertificate", "Sign", "saya{sv}", "0" * 31 + "1", "00", 0)
        self.assertAlive()

    def test_verify_malformed(self):
        sig = self.sign(self.signer, b"x")
        cases = [
                ("ayaya{sv}", "78", "", 0),                                 # empty signature
                ("ayaya{sv}", "78", "00" * 64, 0),                          # garbage
                ("ayaya{sv}", "78", "3000", 0),                             # empty SEQUENCE
                ("ayaya{sv}", "78", sig.hex() + "00", 0),                  # trailing byte
                ("ayaya{sv}", "78", sig[:-10].hex(), 0),                    # truncated
                ("ayaya{sv}", "78", "zeros:262145", 0),                     # above 256 KiB
                ("ayaya{sv}", "zeros:16777217", sig.hex(), 0),              # data above 16 MiB
                ("ayaya{sv}", "78", sig.hex(), 1, "Bogus", "s", "x"),
                ("ayaya{sv}", "78", sig.hex(), 1, "Anchor", "ay", "00"),
                ("ayay", "78", sig.hex()),
                ("aya{sv}", "78", 0),
                ("s", "x"),
                ("ayayas", "78", sig.hex(), 0),
        ]
        # A signature that is not CMS SignedData at all (a DER certificate).
        cert_der = bytes(ca_call("GetCertificate", "sa{sv}", "root", 0)[0])
        cases.append(("ayaya{sv}", "78", cert_der.hex(), 0))
        for args in cases:
            with self.subTest(args=str(args)[:100]):
                self.assertError(INVALID, "Verify", *args)
        self.assertTrue(self.dbus_verify(b"x", sig)[0])
        self.assertAlive()

    def test_nobody_is_refused_but_may_verify(self):
        self.assertError(DENIED, "GenerateCertificate", "ssasa{sv}", "tls-client", "/CN=nobody", 0, 0, user="nobody")
        self.assertError(DENIED, "Sign", "saya{sv}", self.signer, "00", 0, user="nobody")
        sig = self.sign(self.signer, b"public")
        p = busctl("call", NAME, PATH, CA, "Verify", "ayaya{sv}", 6, *b"public", len(sig), *sig, 0, user="nobody")
        self.assertTrue(json.loads(p.stdout)["data"][0])
        p = run(TPCTL, "ca", "sign", self.signer, self.data, path("nobody.sig"), user="nobody", check=False)
        self.assertEqual(p.returncode, 4, p.stderr)

    def test_tpctl_issue_key_in(self):
        out = path("tpctl")
        os.makedirs(out, exist_ok=True)
        res = json.loads(run(TPCTL, "--json=short", "ca", "issue", "--key-in=daemon", "--profile=device",
                             f"--out-dir={out}", "dev1.example.test").stdout)
        cert = os.path.join(out, "dev1.example.test.pem")
        self.assertEqual(res["Certificate"], cert)
        self.assertEqual(self.verify_chain(cert).returncode, 0)
        self.assertIn("DNS:dev1.example.test", text_of(cert))
        if self.key_pem:
            self.assertEqual(res["KeyIn"], "tpm")
        else:
            self.assertEqual(res["KeyIn"], "daemon")
            self.assertIsNone(res["Key"])
            self.assertFalse(os.path.exists(os.path.join(out, "dev1.example.test.key")))
        # Sign with it through tpctl, to a file and to standard output.
        sig = path("dev1.sig")
        res2 = json.loads(run(TPCTL, "--json=short", "ca", "sign", res["Serial"], self.data, sig).stdout)
        self.assertEqual(res2["Serial"], res["Serial"])
        self.assertEqual(self.openssl_verify(sig, self.data).returncode, 0)
        with open(self.data, "rb") as f:
            from_stdin = run(TPCTL, "ca", "sign", res["Serial"], "-", input=f.read()).stdout
        write("stdin.sig", from_stdin)
        self.assertEqual(self.openssl_verify(path("stdin.sig"), self.data).returncode, 0)

        # --key-in=tpm: in the TPM, or refused; the default falls back to a local key.
        p = run(TPCTL, "ca", "issue", "--key-in=tpm", f"--out-dir={out}", "tpm1.example.test", check=False)
        if self.key_pem:
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "tpm1.example.test.key")) as f:
                self.assertTrue(f.read().startswith("-----BEGIN TSS2 PRIVATE KEY-----"))
        else:
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(b"not the TPM", p.stderr)
            res = json.loads(run(TPCTL, "--json=short", "ca", "issue", f"--out-dir={out}",
                                 "dflt.example.test").stdout)
            self.assertEqual(res["Key"], os.path.join(out, "dflt.example.test.key"))
        local = json.loads(run(TPCTL, "--json=short", "ca", "issue", "--key-in=local", f"--out-dir={out}",
                               "local.example.test").stdout)
        key = run("openssl", "pkey", "-in", local["Key"], "-pubout").stdout
        self.assertEqual(key, run("openssl", "x509", "-in", local["Certificate"], "-noout", "-pubkey").stdout)

    def test_tpctl_bad_arguments(self):
        garbage = write("garbage.sig", b"not a signature")
        usage = [
                ["ca", "issue", "--key-in=floppy", "x.example"],
                ["ca", "issue", "--key-in=", "x.example"],
                ["ca", "sign", "xyz", self.data, path("o.sig")],
                ["ca", "sign", self.signer],
                ["ca", "sign", self.signer, self.data, "a", "b"],
                ["ca", "sign", "--key-in=tpm", self.signer, self.data, path("o.sig")],
                ["ca", "verify", self.data],
                ["ca", "verify", "-", "-"],
                ["ca", "verify", "--reason=x", self.data, garbage],
                ["ca", "issue", "--key-in=daemon", "--profile=sub-ca", "x.example"],
        ]
        for args in usage:
            with self.subTest(args=args):
                p = run(TPCTL, "--no-pager", *args, check=False)
                self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
        failures = [
                (["ca", "verify", self.data, garbage], b"Invalid"),
                (["ca", "verify", self.data, path("missing.sig")], b"missing.sig"),
                (["ca", "sign", "0" * 32, self.data, path("o.sig")], b"serial"),
        ]
        for args, text in failures:
            with self.subTest(args=args):
                p = run(TPCTL, "--no-pager", *args, check=False)
                self.assertEqual(p.returncode, 1, f"{args}: {p.stderr}")
                self.assertIn(text, p.stdout + p.stderr)
        self.assertAlive()


if __name__ == "__main__":
    tptest.main()
