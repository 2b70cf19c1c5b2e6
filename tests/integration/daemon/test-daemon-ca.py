#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CA interface on the real daemon (tp-run --daemon: private system bus, swtpm, real polkitd), with
the openssl CLI as the independent peer: Init twice (idempotent), issue from CSRs, chains that
`openssl verify` accepts, revocation that `openssl verify -crl_check` sees in GetCRL's CRL, listing,
at least 12 malformed calls per method (clean D-Bus errors, the daemon alive), polkit refusing nobody,
and the tpctl ca verbs."""

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
NO_SUCH = ERROR + "NoSuchCertificate"

os.environ["TP_BUS_INTERFACE"] = CA  # for bus-call
TMP = None


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="tp-daemon-ca-")
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


def make_csr(name, key_args=("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"), cn="host.example.test",
             san="DNS:host.example.test", der=False):
    key, csr = path(name + ".key"), path(name + ".csr")
    cmd = ["openssl", "req", "-new", *key_args, "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={cn}"]
    if san:
        cmd += ["-addext", f"subjectAltName={san}"]
    if der:
        cmd += ["-outform", "DER"]
    run(*cmd)
    with open(csr, "rb") as f:
        return f.read()


def issue(csr, profile="tls-server"):
    serial, chain = ca_call("IssueCertificate", "aysa{sv}", len(csr), *csr, profile, 0)
    return serial, chain


def write(name, data):
    with open(path(name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path(name)


class CaTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # Before Init() nothing exists, and reading creates nothing.
        for method, sig, *args in (("GetCRL", "a{sv}", 0), ("GetCertificate", "sa{sv}", "root", 0),
                                   ("ListCertificates", "a{sv}", 0)):
            name, message = bus_call(method, sig, *args)
            if name != ERROR + "CANotInitialized":
                raise AssertionError(f"{method} before Init(): {name} {message}")
        for name in ("ca-passphrase", "ca-passphrase.sealed"):
            if os.path.exists(os.path.join(os.environ["TRUSTED_PLATFORM_STATE_DIR"], name)):
                raise AssertionError("reading created the key store passphrase")
        cls.created = ca_call("Init", "a{sv}", 0)[0]
        cls.root = write("root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
        cls.intermediate = write("intermediate.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])

    def assertAlive(self):
        busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
        self.assertEqual(len(ca_call("GetCertificate", "sa{sv}", "root", 0)[0]) > 100, True)

    def assertError(self, name, method, signature, *args, user=None):
        got, message = bus_call(method, signature, *args, user=user)
        if isinstance(name, tuple):
            self.assertIn(got, name, f"{method} {args}: {got} {message}")
        else:
            self.assertEqual(got, name, f"{method} {args}: {got} {message}")

    def verify(self, cert, crl=None):
        args = ["openssl", "verify", "-CAfile", self.root, "-untrusted", self.intermediate]
        if crl:
            args += ["-crl_check", "-CRLfile", crl]
        return run(*args, cert, check=False)

    def crl(self):
        der = bytes(ca_call("GetCRL", "a{sv}", 0)[0])
        write("crl.der", der)
        run("openssl", "crl", "-inform", "DER", "-in", path("crl.der"), "-out", path("crl.pem"))
        return path("crl.pem")

    def test_init_is_idempotent(self):
        self.assertTrue(self.created)
        self.assertFalse(ca_call("Init", "a{sv}", 0)[0])
        self.assertFalse(ca_call("Init", "a{sv}", 0)[0])
        with open(self.root) as f:
            self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], f.read())
        out = run("openssl", "x509", "-in", self.root, "-noout", "-text").stdout.decode()
        self.assertIn("CA:TRUE", out)
        # The key store's files and the passphrase are root's alone.
        state = os.environ["TRUSTED_PLATFORM_STATE_DIR"]
        self.assertEqual(os.stat(os.path.join(state, "ca-passphrase.sealed")).st_mode & 0o777, 0o600)
        self.assertFalse(os.path.exists(os.path.join(state, "ca-passphrase")))
        self.assertEqual(os.stat(os.path.join(state, "ca")).st_mode & 0o777, 0o700)

    def test_issue_verify_revoke_crl(self):
        for der in (False, True):
            with self.subTest(der=der):
                csr = make_csr(f"leaf{int(der)}", der=der)
                serial, chain = issue(csr)
                self.assertRegex(serial, "^[0-9A-F]{32}$")
                cert = write(f"leaf{int(der)}.pem", chain)
                self.assertEqual(chain.count("BEGIN CERTIFICATE"), 2)
                self.assertEqual(self.verify(cert).returncode, 0, self.verify(cert).stderr)
                self.assertEqual(self.verify(cert, self.crl()).returncode, 0)
                text = run("openssl", "x509", "-in", cert, "-noout", "-text").stdout.decode()
                self.assertIn("TLS Web Server Authentication", text)
                self.assertIn("DNS:host.example.test", text)
                # The same certificate by serial, lower-case too.
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", serial.lower(), 0)[1], chain.split("-----END CERTIFICATE-----\n")[0] + "-----END CERTIFICATE-----\n")

                ca_call("Revoke", "ssa{sv}", serial, "keyCompromise", 0)
                p = self.verify(cert, self.crl())
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(b"revoked", p.stdout + p.stderr)
                self.assertError(ERROR + "AlreadyRevoked", "Revoke", "ssa{sv}", serial, "superseded", 0)

                entry = ca_call("ListCertificates", "a{sv}", 1, "Serial", "s", serial)[0]
                self.assertEqual(len(entry), 1)
                self.assertEqual(entry[0][0], serial)
                self.assertEqual(entry[0][2], "tls-server")
                self.assertEqual(entry[0][3], "revoked")
                self.assertEqual(entry[0][4], "keyCompromise")
                self.assertGreater(entry[0][7], 0)

    def test_list_filters_by_status(self):
        serial, _ = issue(make_csr("listed", cn="client1", san=None), "tls-client")
        valid = ca_call("ListCertificates", "a{sv}", 1, "Status", "s", "valid")[0]
        self.assertIn(serial, [e[0] for e in valid])
        self.assertTrue(all(e[3] == "valid" for e in valid))
        revoked = ca_call("ListCertificates", "a{sv}", 1, "Status", "s", "revoked")[0]
        self.assertNotIn(serial, [e[0] for e in revoked])
        everything = ca_call("ListCertificates", "a{sv}", 0)[0]
        self.assertGreaterEqual(len(everything), len(valid) + len(revoked))

    def test_issue_malformed(self):
        good = make_csr("good")
        weak = make_csr("weak", key_args=("-newkey", "rsa:1024"))
        # A CSR whose signature does not verify: flip a byte of the signature at the end of the DER.
        der = bytearray(make_csr("der", der=True))
        der[-3] ^= 0xFF
        dsa = make_csr("dsa", key_args=("-newkey", "dsa:" + write("dsa.param", run(
                "openssl", "dsaparam", "1024").stdout)))
        cases = [
                ("aysa{sv}", "", "tls-server", 0),                         # empty CSR
                ("aysa{sv}", "00" * 16, "tls-server", 0),                  # garbage DER
                ("aysa{sv}", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n".hex(),
                 "tls-server", 0),                                         # garbage PEM
                ("aysa{sv}", "zeros:70000", "tls-server", 0),              # oversized
                ("aysa{sv}", bytes(der).hex(), "tls-server", 0),           # bad signature
                ("aysa{sv}", weak.hex(), "tls-server", 0),                 # RSA 1024
                ("aysa{sv}", dsa.hex(), "tls-server", 0),                  # DSA
                ("aysa{sv}", good.hex(), "nonsense", 0),                   # unknown profile
                ("aysa{sv}", good.hex(), "", 0),                           # empty profile
                ("aysa{sv}", good.hex(), "tls-server", 1, "Bogus", "s", "x"),          # unknown option
                ("aysa{sv}", good.hex(), "tls-server", 1, "ValidityDays", "s", "30"),  # wrong type
                ("aysa{sv}", good.hex(), "tls-server", 1, "ValidityDays", "u", 0),     # zero days
                ("aysa{sv}", good.hex(), "tls-server", 1, "ValidityDays", "u", 999999),  # too long
                ("aysa{sv}", good.hex(), "tls-server", 2, "ValidityDays", "u", 3, "ValidityDays", "u", 4),  # twice
                ("ays", good.hex(), "tls-server"),                         # no options
                ("s", "tls-server"),                                       # wrong signature
                ("aysa{sv}", make_csr("nosan", san=None).hex(), "tls-server", 0),  # tls-server needs a SAN
                ("aysa{sv}", make_csr("badname", cn="-bad-.example", san="DNS:-bad-.example").hex(), "tls-server",
                 0),                                                       # invalid DNS name
        ]
        for args in cases:
            with self.subTest(args=str(args)[:100]):
                self.assertError(INVALID, "IssueCertificate", *args)
        self.assertAlive()

    def test_revoke_malformed(self):
        serial, _ = issue(make_csr("torevoke"))
        cases = [
                ("ssa{sv}", "", "unspecified", 0),
                ("ssa{sv}", "00", "unspecified", 0),
                ("ssa{sv}", "Z" * 32, "unspecified", 0),
                ("ssa{sv}", "0" * 33, "unspecified", 0),
                ("ssa{sv}", "../../etc/passwd", "unspecified", 0),
                ("ssa{sv}", serial, "", 0),
                ("ssa{sv}", serial, "notAReason", 0),
                ("ssa{sv}", serial, "removeFromCRL", 0),
                ("ssa{sv}", serial, "cACompromise", 0),
                ("ssa{sv}", serial, "unspecified", 1, "Bogus", "u", 1),
                ("ss", serial, "unspecified"),
                ("sua{sv}", serial, 1, 0),
                ("s", serial),
        ]
        for args in cases:
            with self.subTest(args=str(args)[:100]):
                self.assertError(INVALID, "Revoke", *args)
        self.assertError(NO_SUCH, "Revoke", "ssa{sv}", "0" * 31 + "1", "unspecified", 0)
        self.assertEqual(ca_call("ListCertificates", "a{sv}", 1, "Serial", "s", serial)[0][0][3], "valid")
        self.assertAlive()

    def test_read_methods_malformed(self):
        for args in [("sa{sv}", "", 0), ("sa{sv}", "rooot", 0), ("sa{sv}", "A" * 31, 0), ("sa{sv}", "A" * 1000, 0),
                     ("sa{sv}", "../root", 0), ("sa{sv}", "root", 1, "Bogus", "s", "x"), ("s", "root"),
                     ("u", 1), ("", ), ("sa{sv}", "Root", 0), ("sa{sv}", "root ", 0), ("ss", "root", "x")]:
            with self.subTest(args=args):
                self.assertError(INVALID, "GetCertificate", *args)
        self.assertError(NO_SUCH, "GetCertificate", "sa{sv}", "0" * 32, 0)
        for args in [("a{sv}", 1, "Status", "s", "bogus"), ("a{sv}", 1, "Status", "u", 1),
                     ("a{sv}", 1, "Serial", "s", "xyz"), ("a{sv}", 1, "Bogus", "s", "x"),
                     ("a{sv}", 2, "Status", "s", "valid", "Status", "s", "valid"), ("s", "valid"), ("u", 0),
                     ("a{sv}", 1, "Serial", "u", 5), ("a{sv}", 1, "Status", "s", ""),
                     ("a{sv}", 1, "Serial", "s", ""), ("a{sv}", 1, "Status", "s", "VALID"), ("a{sv}s", 0, "x")]:
            with self.subTest(args=args):
                self.assertError(INVALID, "ListCertificates", *args)
        for args in [("a{sv}", 1, "Bogus", "s", "x"), ("s", "x"), ("u", 1), ("a{sv}", 1, "NextUpdate", "u", 1),
                     ("a{sv}s", 0, "x"), ("ay", "00"), ("a{sv}", 1, "", "s", ""), ("ss", "x", "y"),
                     ("a{sv}", 1, "Format", "s", "pem"), ("a{sv}u", 0, 1), ("au", 1, 5),
                     ("a{sv}", 2, "A", "u", 1, "B", "u", 2)]:
            with self.subTest(args=args):
                self.assertError(INVALID, "GetCRL", *args)
        for args in [("a{sv}", 1, "Bogus", "s", "x"), ("s", "x"), ("u", 1), ("a{sv}s", 0, "x"), ("ay", "00"),
                     ("a{sv}", 1, "", "s", ""), ("ss", "x", "y"), ("a{sv}", 1, "KeyType", "s", "rsa-1024"),
                     ("a{sv}u", 0, 1), ("au", 1, 5), ("a{sv}", 1, "Force", "b", "true"),
                     ("a{sv}", 2, "A", "u", 1, "B", "u", 2)]:
            with self.subTest(args=args):
                self.assertError(INVALID, "Init", *args)
        self.assertAlive()

    def test_nobody_is_refused_but_may_read(self):
        csr = make_csr("nobody")
        self.assertError(DENIED, "IssueCertificate", "aysa{sv}", csr.hex(), "tls-server", 0, user="nobody")
        serial, _ = issue(make_csr("nobody2"))
        self.assertError(DENIED, "Revoke", "ssa{sv}", serial, "unspecified", 0, user="nobody")
        self.assertError(DENIED, "Init", "a{sv}", 0, user="nobody")
        self.assertEqual(ca_call("ListCertificates", "a{sv}", 1, "Serial", "s", serial)[0][0][3], "valid")
        # Reading is open.
        self.assertIsNone(bus_call("GetCRL", "a{sv}", 0, user="nobody")[0])
        self.assertIsNone(bus_call("GetCertificate", "sa{sv}", serial, 0, user="nobody")[0])
        self.assertIsNone(bus_call("ListCertificates", "a{sv}", 0, user="nobody")[0])

    def test_tpctl_issue_sign_revoke_crl(self):
        out = path("tpctl")
        os.makedirs(out, exist_ok=True)
        self.assertIn(b"exists already", run(TPCTL, "--no-pager", "ca", "init").stdout)
        self.assertEqual(json.loads(run(TPCTL, "--json=short", "ca", "init").stdout), {"Created": False})
        bundle = path("bundle.pem")
        run(TPCTL, "ca", "bundle", bundle)
        with open(bundle) as f:
            self.assertEqual(f.read().count("BEGIN CERTIFICATE"), 2)

        for alg in ("ecdsa-p256", "rsa-2048", "ed25519"):
            with self.subTest(alg=alg):
                name = f"web-{alg}.example.test"
                res = json.loads(run(TPCTL, "--json=short", "ca", "issue", "--key-in=local", f"--alg={alg}",
                                     f"--out-dir={out}", name).stdout)
                key, cert = os.path.join(out, name + ".key"), os.path.join(out, name + ".pem")
                self.assertEqual(res["Certificate"], cert)
                self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
                self.assertEqual(run("openssl", "verify", "-CAfile", self.root, "-untrusted", bundle,
                                     cert).returncode, 0)
                pub_cert = run("openssl", "x509", "-in", cert, "-noout", "-pubkey").stdout
                pub_key = run("openssl", "pkey", "-in", key, "-pubout").stdout
                self.assertEqual(pub_cert, pub_key)
                serial = res["Serial"]

        shown = json.loads(run(TPCTL, "--json=short", "ca", "show", serial).stdout)
        self.assertEqual(shown["Status"], "valid")
        self.assertIn("BEGIN CERTIFICATE", shown["Certificate"])
        self.assertIn(b"Alternative names", run(TPCTL, "--no-pager", "ca", "show", serial).stdout)

        csr = make_csr("tpctl-client", cn="client7", san=None)
        signed = path("client7.pem")
        run(TPCTL, "ca", "sign-csr", "--profile=tls-client", "--validity-days=30", path("tpctl-client.csr"), signed)
        text = run("openssl", "x509", "-in", signed, "-noout", "-text").stdout.decode()
        self.assertIn("TLS Web Client Authentication", text)
        from_stdin = run(TPCTL, "ca", "sign-csr", "--profile=tls-client", input=csr).stdout
        self.assertIn(b"BEGIN CERTIFICATE", from_stdin)

        run(TPCTL, "ca", "revoke", "--reason=superseded", serial)
        listed = {e["Serial"]: e for e in json.loads(run(TPCTL, "--json=short", "ca", "list").stdout)}
        self.assertEqual(listed[serial]["Status"], "revoked")
        self.assertEqual(listed[serial]["Reason"], "superseded")
        self.assertIn(serial.encode(), run(TPCTL, "--no-pager", "ca", "list").stdout)
        crl = path("tpctl-crl.pem")
        run(TPCTL, "ca", "crl", crl)
        revoked_cert = os.path.join(out, "web-ed25519.example.test.pem")
        p = self.verify(revoked_cert, crl)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"revoked", p.stdout + p.stderr)
        self.assertEqual(self.verify(os.path.join(out, "web-rsa-2048.example.test.pem"), crl).returncode, 0)

    def test_tpctl_tpm_profiles(self):
        """tpctl ca issue / sign-csr pass the TPM of an ak or ek certificate: openssl shows the TCG EKU and the
        directoryName SAN with manufacturer, model and version."""
        out = path("tpctl-tpm")
        os.makedirs(out, exist_ok=True)
        tpm = ["--tpm-manufacturer=id:49424D00", "--tpm-model=SLB9670 test", "--tpm-version=id:0700025a"]
        dirname = "DirName:/2.23.133.2.1=id:49424D00/2.23.133.2.2=SLB9670 test/2.23.133.2.3=id:0700025A"

        res = json.loads(run(TPCTL, "--json=short", "ca", "issue", "--profile=ak", f"--out-dir={out}", *tpm,
                             "ak-host1").stdout)
        cert = os.path.join(out, "ak-host1.pem")
        self.assertEqual(res["Certificate"], cert)
        text = run("openssl", "x509", "-in", cert, "-noout", "-text").stdout.decode()
        self.assertIn("2.23.133.8.3", text)  # tcg-kp-AIKCertificate
        self.assertIn(dirname, text)
        self.assertEqual(run("openssl", "verify", "-CAfile", self.root, "-untrusted", self.intermediate,
                             "-purpose", "any", cert).returncode, 0)
        listed = json.loads(run(TPCTL, "--json=short", "ca", "show", res["Serial"]).stdout)
        self.assertEqual(listed["Profile"], "ak")

        make_csr("tpctl-ek", key_args=("-newkey", "rsa:2048"), cn="ek", san=None)
        signed = path("tpctl-ek.pem")
        run(TPCTL, "ca", "sign-csr", "--profile=ek", *tpm, path("tpctl-ek.csr"), signed)
        text = run("openssl", "x509", "-in", signed, "-noout", "-text").stdout.decode()
        self.assertIn("2.23.133.8.1", text)  # tcg-kp-EKCertificate
        self.assertIn(dirname, text)

        # Malformed or misplaced TPM options: a clear message naming the option, exit code 2, nothing issued.
        before = len(json.loads(run(TPCTL, "--json=short", "ca", "list").stdout))
        cases = [
                (["ca", "issue", "--profile=ak", "x"], b"needs --tpm-manufacturer="),
                (["ca", "issue", "--profile=ak", "--tpm-model=m", "--tpm-version=id:01", "x"], b"needs"),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=IBM", "--tpm-model=m", "--tpm-version=id:01",
                  "x"], b"--tpm-manufacturer=IBM"),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:1234567", "--tpm-model=m",
                  "--tpm-version=id:01", "x"], b"8 hexadecimal digits"),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:1234567g", "--tpm-model=m",
                  "--tpm-version=id:01", "x"], b"--tpm-manufacturer="),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:12345678", "--tpm-model=" + "m" * 65,
                  "--tpm-version=id:01", "x"], b"--tpm-model="),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:12345678", "--tpm-model=tab\there",
                  "--tpm-version=id:01", "x"], b"printable"),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:12345678", "--tpm-model=m",
                  "--tpm-version=id:1", "x"], b"--tpm-version=id:1"),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:12345678", "--tpm-model=m",
                  "--tpm-version=id:" + "0" * 18, "x"], b"--tpm-version="),
                (["ca", "issue", "--profile=ak", "--tpm-manufacturer=id:12345678", "--tpm-model=m",
                  "--tpm-version=", "x"], b"needs a value"),
                (["ca", "issue", "--profile=tls-server", *tpm, "x.example.test"], b"only for the ak and ek"),
                (["ca", "sign-csr", "--profile=ek", path("tpctl-ek.csr")], b"needs --tpm-manufacturer="),
                (["ca", "sign-csr", "--profile=tls-client", *tpm, path("tpctl-ek.csr")], b"only for the ak and ek"),
                (["ca", "list", "--tpm-model=m"], b"only valid with"),
                (["ca", "revoke", "--tpm-version=id:01", "0" * 32], b"only valid with"),
        ]
        for args, text in cases:
            with self.subTest(args=args):
                p = run(TPCTL, "--no-pager", *args, check=False)
                self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
                self.assertIn(text, p.stderr)
        self.assertEqual(len(json.loads(run(TPCTL, "--json=short", "ca", "list").stdout)), before)
        self.assertFalse(os.path.exists("x.key"))

    def test_tpctl_bad_arguments(self):
        garbage = write("garbage.csr", b"not a csr")
        usage = [
                ["ca", "revoke", "xyz"],
                ["ca", "revoke"],
                ["ca", "revoke", "--pin", "0" * 32],
                ["ca", "issue"],
                ["ca", "issue", "--profile=bogus", "x.example"],
                ["ca", "issue", "--alg=dsa", "x.example"],
                ["ca", "issue", "../escape"],
                ["ca", "issue", "--validity-days=0", "x.example"],
                ["ca", "issue", "--validity-days=abc", "x.example"],
                ["ca", "sign-csr", "--profile=", garbage],
                ["ca", "show", "bogus"],
                ["ca", "show"],
                ["ca", "list", "extra"],
                ["ca", "crl", "a", "b"],
                ["ca", "init", "--reason=superseded"],
                ["ca", "frobnicate"],
        ]
        # InvalidArgs from the daemon is a usage error too.
        make_csr("weak2", key_args=("-newkey", "rsa:1024"))
        usage += [["ca", "sign-csr", garbage], ["ca", "revoke", "--reason=bogus", "0" * 32],
                  ["ca", "sign-csr", "--profile=tls-client", path("weak2.csr")]]
        for args in usage:
            with self.subTest(args=args):
                p = run(TPCTL, "--no-pager", *args, check=False)
                self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
        failures = [
                (["ca", "sign-csr", path("does-not-exist.csr")], b"does-not-exist"),
                (["ca", "revoke", "0" * 31 + "2"], b"serial"),
                (["ca", "show", "0" * 32], b"serial"),
        ]
        for args, text in failures:
            with self.subTest(args=args):
                p = run(TPCTL, "--no-pager", *args, check=False)
                self.assertEqual(p.returncode, 1, f"{args}: {p.stderr}")
                self.assertIn(text, p.stderr)
        p = run(TPCTL, "--no-pager", "ca", "revoke", "0" * 32, user="nobody", check=False)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertAlive()


if __name__ == "__main__":
    tptest.main()
