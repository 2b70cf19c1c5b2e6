#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CA's trust store and system trust on the real daemon (tp-run --daemon: private system bus, swtpm,
real polkitd): ImportTrustAnchor / ListTrustAnchors / RemoveTrustAnchor / VerifyCertificate (openssl as the
independent peer), InstallToSystemTrust / UninstallFromSystemTrust with Debian's real update-ca-certificates
under a temporary sysroot (TRUSTED_PLATFORM_TEST_SYSROOT, test only), at least 12 malformed calls per
method, polkit refusing nobody, and the tpctl ca trust / verify-cert verbs."""

import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from daemontest import AS_NOBODY, ERROR, NAME, PATH, TPCTL, bus_call, busctl, tptest

CA = NAME + ".CA"
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
DENIED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
NO_SUCH = ERROR + "NoSuchCertificate"
SYSROOT = os.environ["TRUSTED_PLATFORM_TEST_SYSROOT"]

os.environ["TP_BUS_INTERFACE"] = CA  # for bus-call
TMP = None


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="tp-daemon-ca-trust-")
    os.chmod(TMP, 0o755)
    shutil.rmtree(SYSROOT, ignore_errors=True)
    for d in ("usr/local/share/ca-certificates", "usr/share/ca-certificates", "etc/ssl/certs",
              "etc/ca-certificates/update.d"):
        os.makedirs(os.path.join(SYSROOT, d))
    open(os.path.join(SYSROOT, "etc/ca-certificates.conf"), "w").close()


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)
    shutil.rmtree(SYSROOT, ignore_errors=True)


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


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


def blob(data):
    return [len(data), *data]


def make_root(name, ca=True, days=365):
    ext = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"] \
        if ca else ["-addext", "basicConstraints=critical,CA:FALSE"]
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", path(name + ".key"), "-out", path(name + ".pem"), "-subj", f"/CN={name}", "-days", str(days),
        *ext)
    return read(name + ".pem")


def make_leaf_csr(name):
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", f"/CN={name}.example.test",
        "-addext", f"subjectAltName=DNS:{name}.example.test")
    return read(name + ".csr")


def issue(name, profile="tls-server"):
    csr = make_leaf_csr(name)
    serial, chain = ca_call("IssueCertificate", "aysa{sv}", *blob(csr), profile, 0)
    write(name + "-chain.pem", chain)
    return serial, chain.encode()


class CaTrustTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ca_call("Init", "a{sv}", 0)
        cls.root = ca_call("GetCertificate", "sa{sv}", "root", 0)[1].encode()
        cls.intermediate = ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1].encode()
        write("root.pem", cls.root)
        cls.foreign = make_root("foreign")
        cls.stranger = make_root("stranger")  # never imported
        cls.leafroot = make_root("leafroot", ca=False)

    def assertAlive(self):
        busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
        ca_call("ListTrustAnchors", "a{sv}", 0)

    def assertError(self, name, method, signature, *args, user=None):
        got, message = bus_call(method, signature, *args, user=user)
        if isinstance(name, tuple):
            self.assertIn(got, name, f"{method} {args}: {got} {message}")
        else:
            self.assertEqual(got, name, f"{method} {args}: {got} {message}")
        return message

    def listed(self):
        return {e[0]: e for e in ca_call("ListTrustAnchors", "a{sv}", 0)[0]}

    def test_import_list_remove(self):
        imported, new = ca_call("ImportTrustAnchor", "aya{sv}", *blob(self.foreign), 0)
        self.assertEqual(len(imported), 1)
        fp, kind, subject = imported[0][:3]
        self.assertEqual(kind, "anchor")
        self.assertEqual(subject, "CN=foreign")
        # The fingerprint is openssl's SHA-256 fingerprint.
        out = run("openssl", "x509", "-in", path("foreign.pem"), "-noout", "-fingerprint", "-sha256").stdout
        self.assertEqual(out.decode().strip().split("=")[1].replace(":", "").lower(), fp)
        # Idempotent.
        self.assertEqual(ca_call("ImportTrustAnchor", "aya{sv}", *blob(self.foreign), 0)[1], 0)
        self.assertIn(fp, self.listed())
        # Everyone may list.
        p = busctl("call", NAME, PATH, CA, "ListTrustAnchors", "a{sv}", 0, user="nobody")
        self.assertIn(fp, p.stdout)
        # Remove, with the fingerprint as openssl prints it.
        ca_call("RemoveTrustAnchor", "sa{sv}", out.decode().strip().split("=")[1], 0)
        self.assertNotIn(fp, self.listed())
        self.assertError(NO_SUCH, "RemoveTrustAnchor", "sa{sv}", fp, 0)

    def test_verify(self):
        serial, chain = issue("verified")
        # Our own root is an anchor without importing it.
        valid, reason, subjects = ca_call("VerifyCertificate", "aya{sv}", *blob(chain), 1, "Purpose", "s",
                                          "tls-server")
        self.assertTrue(valid, reason)
        self.assertEqual(len(subjects), 3)
        self.assertEqual(subjects[0], "CN=verified.example.test")
        # openssl agrees.
        run("openssl", "verify", "-CAfile", path("root.pem"), "-untrusted", path("verified-chain.pem"),
            path("verified-chain.pem"))
        # Wrong purpose.
        valid, reason, _ = ca_call("VerifyCertificate", "aya{sv}", *blob(chain), 1, "Purpose", "s", "tls-client")
        self.assertFalse(valid)
        self.assertIn("purpose", reason)
        # The leaf alone: the intermediate is missing until it is imported (our root is an extra anchor,
        # so the intermediate chains).
        leaf = chain[:chain.index(b"-----END CERTIFICATE-----") + 26]
        self.assertFalse(ca_call("VerifyCertificate", "aya{sv}", *blob(leaf), 0)[0])
        ca_call("ImportTrustAnchor", "aya{sv}", *blob(self.root + self.intermediate), 0)
        self.assertTrue(ca_call("VerifyCertificate", "aya{sv}", *blob(leaf), 0)[0])
        # Revoked: with CheckCRL only.
        ca_call("Revoke", "ssa{sv}", serial, "keyCompromise", 0)
        self.assertTrue(ca_call("VerifyCertificate", "aya{sv}", *blob(chain), 0)[0])
        valid, reason, _ = ca_call("VerifyCertificate", "aya{sv}", *blob(chain), 1, "CheckCRL", "b", "true")
        self.assertFalse(valid)
        self.assertIn("revoked", reason)
        # A foreign self-signed certificate is not trusted by being given.
        valid, reason, _ = ca_call("VerifyCertificate", "aya{sv}", *blob(self.stranger), 0)
        self.assertFalse(valid)
        # Verifying is open to everyone; fetching AIA is not.
        self.assertIsNone(bus_call("VerifyCertificate", "aya{sv}", chain.hex(), 0, user="nobody")[0])
        self.assertError(DENIED, "VerifyCertificate", "aya{sv}", chain.hex(), 1, "FetchAIA", "b", 1,
                         user="nobody")

    def test_fetch_aia(self):
        # A foreign hierarchy whose leaf names its intermediate's URL on a local http.server.
        served = os.path.join(TMP, "www")
        os.makedirs(served, exist_ok=True)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=served)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            make_root("aiaroot")
            make_root("aiaother")  # self-signed, never imported
            ca_ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            write("ca.ext", ca_ext)
            run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", path("aiaint.key"), "-out", path("aiaint.csr"), "-subj", "/CN=aiaint")
            run("openssl", "x509", "-req", "-in", path("aiaint.csr"), "-CA", path("aiaroot.pem"), "-CAkey",
                path("aiaroot.key"), "-set_serial", "7", "-days", "30", "-extfile", path("ca.ext"),
                "-outform", "DER", "-out", os.path.join(served, "int.der"))
            run("openssl", "x509", "-in", path("aiaother.pem"), "-outform", "DER", "-out",
                os.path.join(served, "other.der"))
            run("openssl", "x509", "-inform", "DER", "-in", os.path.join(served, "int.der"), "-out",
                path("aiaint.pem"))

            def leaf(name, ca, url):
                write(name + ".ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                      f"authorityInfoAccess=caIssuers;URI:{url}\n")
                run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", f"/CN={name}")
                run("openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey",
                    path(ca + ".key"), "-set_serial", "9", "-days", "10", "-extfile", path(name + ".ext"),
                    "-out", path(name + ".pem"))
                return read(name + ".pem")

            good = leaf("aialeaf", "aiaint", base + "/int.der")
            evil = leaf("aiaevil", "aiaother", base + "/other.der")
            ca_call("ImportTrustAnchor", "aya{sv}", *blob(read("aiaroot.pem")), 0)
            before = self.listed()
            self.assertFalse(ca_call("VerifyCertificate", "aya{sv}", *blob(good), 0)[0])
            valid, reason, subjects = ca_call("VerifyCertificate", "aya{sv}", *blob(good), 1, "FetchAIA", "b",
                                              "true")
            self.assertTrue(valid, reason)
            self.assertEqual(subjects, ["CN=aialeaf", "CN=aiaint", "CN=aiaroot"])
            # The fetched intermediate was not stored.
            self.assertEqual(self.listed(), before)
            # A fetched self-signed root is never trusted.
            self.assertFalse(ca_call("VerifyCertificate", "aya{sv}", *blob(evil), 1, "FetchAIA", "b", "true")[0])
            # A missing URL on the server: still a clean "invalid".
            missing = leaf("aiamissing", "aiaint", base + "/nothing.der")
            self.assertFalse(ca_call("VerifyCertificate", "aya{sv}", *blob(missing), 1, "FetchAIA", "b",
                                     "true")[0])
        finally:
            server.shutdown()
        self.assertAlive()

    def test_system_trust(self):
        bundle = os.path.join(SYSROOT, "etc/ssl/certs/ca-certificates.crt")
        ours = os.path.join(SYSROOT, "usr/local/share/ca-certificates/trusted-platform-root.crt")
        self.assertEqual(ca_call("InstallToSystemTrust", "a{sv}", 0), ["debian", True])
        self.assertEqual(ca_call("InstallToSystemTrust", "a{sv}", 0), ["debian", False])
        with open(ours, "rb") as f:
            self.assertEqual(f.read(), self.root)
        self.assertEqual(os.stat(ours).st_mode & 0o777, 0o644)
        issue("systrust")
        run("openssl", "verify", "-CAfile", bundle, "-untrusted", path("systrust-chain.pem"),
            path("systrust-chain.pem"))
        # Nobody may change it.
        self.assertError(DENIED, "UninstallFromSystemTrust", "a{sv}", 0, user="nobody")
        self.assertError(DENIED, "InstallToSystemTrust", "a{sv}", 0, user="nobody")
        self.assertTrue(os.path.exists(ours))
        # Another root installed by the administrator stays.
        other = os.path.join(SYSROOT, "usr/local/share/ca-certificates/other.crt")
        shutil.copy(path("foreign.pem"), other)
        self.assertEqual(ca_call("UninstallFromSystemTrust", "a{sv}", 0), ["debian", True])
        self.assertEqual(ca_call("UninstallFromSystemTrust", "a{sv}", 0), ["debian", False])
        self.assertFalse(os.path.exists(ours))
        self.assertTrue(os.path.exists(other))
        self.assertNotEqual(run("openssl", "verify", "-CAfile", bundle, "-untrusted", path("systrust-chain.pem"),
                                path("systrust-chain.pem"), check=False).returncode, 0)
        os.unlink(other)

    def test_nobody_refused(self):
        self.assertError(DENIED, "ImportTrustAnchor", "aya{sv}", self.foreign.hex(), 0, user="nobody")
        fp = ca_call("ImportTrustAnchor", "aya{sv}", *blob(self.foreign), 0)[0][0][0]
        self.assertError(DENIED, "RemoveTrustAnchor", "sa{sv}", fp, 0, user="nobody")
        self.assertIn(fp, self.listed())

    def test_import_malformed(self):
        pem_key = read("foreign.key")
        cases = [
                ("aya{sv}", "", 0),                                   # empty
                ("aya{sv}", "00" * 16, 0),                            # garbage DER
                ("aya{sv}", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".hex(), 0),
                ("aya{sv}", pem_key.hex(), 0),                        # a private key
                ("aya{sv}", "zeros:300000", 0),                       # oversized
                ("aya{sv}", self.leafroot.hex(), 0),                  # not a CA
                ("aya{sv}", self.intermediate.hex(), 0),              # no anchor for it in the store
                ("aya{sv}", (self.foreign + self.foreign).hex(), 0),  # twice
                ("aya{sv}", (self.foreign + b"junk").hex(), 0),       # trailing garbage
                ("aya{sv}", (self.foreign * 40).hex(), 0),            # too many
                ("aya{sv}", self.foreign[:-40].hex(), 0),             # truncated PEM
                ("aya{sv}", self.foreign.hex(), 1, "Bogus", "s", "x"),  # unknown option
                ("ay", self.foreign.hex()),                           # no options
                ("s", "x"),                                           # wrong signature
                ("aya{sv}", (self.foreign + self.leafroot).hex(), 0),  # all or nothing
        ]
        before = self.listed()
        for args in cases:
            with self.subTest(args=str(args)[:80]):
                self.assertError(INVALID, "ImportTrustAnchor", *args)
        self.assertEqual(self.listed(), before)
        self.assertAlive()

    def test_other_methods_malformed(self):
        for args in [("sa{sv}", "", 0), ("sa{sv}", "xyz", 0), ("sa{sv}", "0" * 63, 0), ("sa{sv}", "0" * 65, 0),
                     ("sa{sv}", "g" * 64, 0), ("sa{sv}", "../../etc/passwd", 0), ("sa{sv}", ":" + "0" * 64, 0),
                     ("sa{sv}", "0" * 64, 1, "Bogus", "s", "x"), ("s", "0" * 64), ("u", 1), ("", ),
                     ("sa{sv}", "00::" + "0" * 62, 0), ("sa{sv}", "0" * 64 + ":", 0)]:
            with self.subTest(args=args):
                self.assertError(INVALID, "RemoveTrustAnchor", *args)
        for args in [("a{sv}", 1, "Bogus", "s", "x"), ("s", "x"), ("u", 1), ("a{sv}s", 0, "x"), ("ay", "00"),
                     ("a{sv}", 1, "", "s", ""), ("ss", "x", "y"), ("a{sv}", 1, "Kind", "s", "anchor"),
                     ("a{sv}u", 0, 1), ("au", 1, 5), ("", ), ("a{sv}", 2, "A", "u", 1, "B", "u", 2)]:
            with self.subTest(args=args):
                self.assertError(INVALID, "ListTrustAnchors", *args)
        chain = self.root
        for args in [("aya{sv}", "", 0), ("aya{sv}", "00" * 16, 0), ("aya{sv}", "zeros:300000", 0),
                     ("aya{sv}", (chain * 12).hex(), 0),  # chain too long
                     ("aya{sv}", chain.hex(), 1, "Purpose", "s", "bogus"),
                     ("aya{sv}", chain.hex(), 1, "Purpose", "u", 1),
                     ("aya{sv}", chain.hex(), 1, "CheckCRL", "s", "yes"),
                     ("aya{sv}", chain.hex(), 1, "FetchAIA", "u", 1),
                     ("aya{sv}", chain.hex(), 2, "Purpose", "s", "any", "Purpose", "s", "any"),
                     ("aya{sv}", chain.hex(), 1, "Bogus", "b", "true"),
                     ("ay", chain.hex()), ("s", "x"), ("aya{sv}", (chain + b"junk").hex(), 0)]:
            with self.subTest(args=str(args)[:80]):
                self.assertError(INVALID, "VerifyCertificate", *args)
        for method in ("InstallToSystemTrust", "UninstallFromSystemTrust"):
            for args in [("a{sv}", 1, "Bogus", "s", "x"), ("s", "x"), ("u", 1), ("a{sv}s", 0, "x"), ("ay", "00"),
                         ("a{sv}", 1, "", "s", ""), ("ss", "x", "y"), ("a{sv}", 1, "Sysroot", "s", "/tmp"),
                         ("a{sv}u", 0, 1), ("au", 1, 5), ("", ), ("a{sv}", 1, "Force", "b", "true")]:
                with self.subTest(method=method, args=args):
                    self.assertError(INVALID, method, *args)
        self.assertAlive()

    def test_tpctl(self):
        fp = json.loads(run(TPCTL, "--json=short", "ca", "trust", "import", path("foreign.pem")).stdout)[0]
        self.assertEqual(fp["Kind"], "anchor")
        self.assertEqual(fp["Subject"], "CN=foreign")
        listed = json.loads(run(TPCTL, "--json=short", "ca", "trust", "list").stdout)
        self.assertIn(fp["Fingerprint"], [e["Fingerprint"] for e in listed])
        self.assertIn(b"CN=foreign", run(TPCTL, "--no-pager", "ca", "trust", "list").stdout)
        issue("tpctl-verify")
        res = json.loads(run(TPCTL, "--json=short", "ca", "verify-cert", path("tpctl-verify-chain.pem")).stdout)
        self.assertTrue(res["Valid"])
        self.assertEqual(len(res["Chain"]), 3)
        p = run(TPCTL, "--no-pager", "ca", "verify-cert", path("stranger.pem"), check=False)
        self.assertEqual(p.returncode, 1)
        run(TPCTL, "ca", "trust", "remove", fp["Fingerprint"])
        self.assertNotIn(fp["Fingerprint"], [e["Fingerprint"] for e in
                                             json.loads(run(TPCTL, "--json=short", "ca", "trust", "list").stdout)])
        res = json.loads(run(TPCTL, "--json=short", "ca", "trust", "install").stdout)
        self.assertEqual(res, {"Store": "debian", "Changed": True})
        res = json.loads(run(TPCTL, "--json=short", "ca", "trust", "uninstall").stdout)
        self.assertEqual(res, {"Store": "debian", "Changed": True})
        for args in (["ca", "trust", "import"], ["ca", "trust", "remove", "xyz"], ["ca", "trust", "bogus"],
                     ["ca", "trust", "import", path("foreign.key")], ["ca", "verify-cert", "--purpose=bogus", "x"],
                     ["ca", "trust", "list", "extra"]):
            with self.subTest(args=args):
                p = run(TPCTL, "--no-pager", *args, check=False)
                self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
        p = run(TPCTL, "--no-pager", "ca", "trust", "import", path("foreign.pem"), user="nobody", check=False)
        self.assertEqual(p.returncode, 4, p.stderr)


if __name__ == "__main__":
    tptest.main()
