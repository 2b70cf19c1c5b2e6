#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's CA over HTTP ([CA] HTTPListen=), with the openssl CLI and urllib as the independent
peers: the OCSP responder answers good (nonce echoed), revoked (time and reason) and unknown, signed by
the delegated OCSP-signing certificate the daemon issued itself; GET /crl serves a DER CRL listing the
revoked serial; the URLs of [CA] OCSPURL=/CRLURL=/CAIssuersURL= are in issued certificates; crl.pem is
written to the CA directory; `tpctl ca ocsp` agrees with openssl; and a malformed HTTPListen=, URL or
CRLHours= makes the daemon refuse to start."""

import contextlib
import datetime
import json
import os
import socket
import subprocess
import tempfile
import unittest
import urllib.request

from daemontest import NAME, PATH, TPCTL, busctl, new_daemon, tpharness, tptest

CA = NAME + ".CA"


def ca_call(method, signature="", *args):
    p = busctl("call", NAME, PATH, CA, method, signature, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, check=True):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr[:800]}")
    return p


def write_config(d, text):
    # The daemon talks to swtpm directly, which serves one client: the tpm2 provider of the default TPM
    # key store could not connect beside it, so these tests keep the CA's keys in the file store.
    text = text.replace("[CA]\n", "[CA]\nKeyStore=file\n", 1)
    d.config_dir = os.path.join(d.dir, "config")
    os.makedirs(d.config_dir, mode=0o755, exist_ok=True)
    with open(os.path.join(d.config_dir, "trusted-platform.conf"), "w") as f:
        f.write(text)


def crl_lifetime(text):
    """nextUpdate - lastUpdate of `openssl crl -noout -lastupdate -nextupdate` output."""
    times = dict(line.split("=", 1) for line in text.splitlines())
    last, next_ = (datetime.datetime.strptime(times[k], "%b %d %H:%M:%S %Y GMT") for k in ("lastUpdate", "nextUpdate"))
    return next_ - last


def assert_signer_key_in_store(test, state_dir, store):
    test.assertFalse(os.path.exists(os.path.join(state_dir, "ca-ocsp-key.pem")))
    path = os.path.join(state_dir, "ca", "tpm-keys" if store == "tpm" else "keys", "ocsp-signer.pem")
    test.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
    with open(path) as f:
        head = f.readline().strip()
    test.assertEqual(head, "-----BEGIN TSS2 PRIVATE KEY-----" if store == "tpm"
                     else "-----BEGIN ENCRYPTED PRIVATE KEY-----")


def signer_serial(state_dir):
    p = run("openssl", "x509", "-in", os.path.join(state_dir, "ca", "ocsp-signer.pem"), "-noout", "-serial")
    return p.stdout.strip().split("=")[1].lower()


def hexdigits(text):
    return "".join(c for c in text.lower() if c in "0123456789abcdef")


class CaOcspTest(unittest.TestCase):

    def fetch(self, tmp, base, cert_name):
        """Issues a tls-server certificate, returns (serial, root, intermediate, cert) paths."""
        def write(name, data):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(data)
            return os.path.join(tmp, name)

        root = write("root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
        inter = write("int.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])
        key, csr = os.path.join(tmp, cert_name + ".key"), os.path.join(tmp, cert_name + ".csr")
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-outform", "DER", "-subj", f"/CN={cert_name}.example.test", "-addext",
            f"subjectAltName=DNS:{cert_name}.example.test")
        with open(csr, "rb") as f:
            der = f.read()
        serial, chain = ca_call("IssueCertificate", "aysa{sv}", len(der), *der, "tls-server", 0)
        return serial, root, inter, write(cert_name + ".pem", chain)

    def ocsp_signed_by(self, tmp, base, root, inter, cert, signer):
        """openssl ocsp verifies the responder's answer for cert (good), signed by the certificate with the
        serial signer (hex)."""
        resp = os.path.join(tmp, "resp.der")
        p = run("openssl", "ocsp", "-issuer", inter, "-cert", cert, "-url", base + "/ocsp", "-CAfile", root,
                "-respout", resp, check=False)
        out = p.stdout + p.stderr
        self.assertIn("Response verify OK", out)
        self.assertIn(f"{cert}: good", out)
        text = run("openssl", "ocsp", "-respin", resp, "-resp_text", "-noverify").stdout
        self.assertIn("Trusted Platform OCSP Responder", text)
        # The responder certificate in the answer is the current signer.
        self.assertIn(signer, hexdigits(text.split("Certificate:", 1)[1].split("Signature Algorithm", 1)[0]))

    def test_signer_key_in_tpm_store(self):
        """[CA] KeyStore=tpm (swtpm behind tpm2-abrmd): the signer's key is a TSS2 PRIVATE KEY beside the CA's,
        the responses verify with openssl, and a restart keeps the signer."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-ocsp-tpm-") as tmp:
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            d.config_dir = os.path.join(d.dir, "config")
            os.makedirs(d.config_dir, mode=0o755, exist_ok=True)
            with open(os.path.join(d.config_dir, "trusted-platform.conf"), "w") as f:
                f.write(f"[CA]\nKeyStore=tpm\nHTTPListen=127.0.0.1:{port}\nOCSPURL={base}/ocsp\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                _, root, inter, cert = self.fetch(tmp, base, "good")
                assert_signer_key_in_store(self, d.state_dir, "tpm")
                signer = signer_serial(d.state_dir)
                self.ocsp_signed_by(tmp, base, root, inter, cert, signer)
            d2 = new_daemon(stack, name="daemon2")
            d2.extra_env.update(stack.abrmd.env)
            d2.config_dir = d.config_dir
            with d2:
                self.ocsp_signed_by(tmp, base, root, inter, cert, signer)
                assert_signer_key_in_store(self, d.state_dir, "tpm")

    def test_clear_signer_key_migrated(self):
        """An older version's signer, its key in the clear at <state>/ca-ocsp-key.pem: at start the daemon makes
        a new key in the store and a new certificate, revokes the old one (superseded) and wipes the clear
        key; openssl verifies the responses from the new signer."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-ocsp-mig-") as tmp:
            d = new_daemon(stack)
            write_config(d, f"[CA]\nHTTPListen=127.0.0.1:{port}\nOCSPURL={base}/ocsp\n")
            with d:
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                _, root, inter, cert = self.fetch(tmp, base, "good")
                # What an older version left: a signer certificate for a key kept in the clear.
                old_key = os.path.join(d.state_dir, "ca-ocsp-key.pem")
                csr = os.path.join(tmp, "old-signer.csr")
                run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", old_key, "-out", csr, "-outform", "DER", "-subj", "/CN=Trusted Platform OCSP Responder")
                os.chmod(old_key, 0o600)
                with open(csr, "rb") as f:
                    der = f.read()
                old_serial, chain = ca_call("IssueCertificate", "aysa{sv}", len(der), *der, "ocsp-signing", 0)
            with open(os.path.join(d.state_dir, "ca", "ocsp-signer.pem"), "w") as f:
                f.write(chain.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
            os.unlink(os.path.join(d.state_dir, "ca", "keys", "ocsp-signer.pem"))
            self.assertEqual(signer_serial(d.state_dir), old_serial.lower())

            d2 = new_daemon(stack, name="daemon2")
            d2.config_dir = d.config_dir
            with d2:
                self.assertFalse(os.path.exists(old_key))
                assert_signer_key_in_store(self, d.state_dir, "file")
                new_serial = signer_serial(d.state_dir)
                self.assertNotEqual(new_serial, old_serial.lower())
                self.ocsp_signed_by(tmp, base, root, inter, cert, new_serial)
                # The old signer is revoked: its key was on disk in the clear.
                p = run(TPCTL, "--no-pager", "--json=short", "ca", "show", old_serial)
                self.assertEqual(json.loads(p.stdout)["Status"], "revoked")
            with open(d2.log_path) as f:
                self.assertIn("removed the clear copy", f.read())

    def test_bad_config_refuses_to_start(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=False) as stack:
            for i, line in enumerate(("HTTPListen=nonsense", "HTTPListen=127.0.0.1", "HTTPListen=127.0.0.1:0",
                                      "HTTPListen=127.0.0.1:65536", "HTTPListen=300.0.0.1:80",
                                      "HTTPListen=localhost:80", "HTTPListen=::1:80", "HTTPListen=[::1:80",
                                      "OCSPURL=ftp://example.test/ocsp", "CRLURL=not a url",
                                      "CRLHours=1", "CRLHours=10000", "CRLHours=x")):
                d = new_daemon(stack, name=f"bad{i}")
                write_config(d, f"[CA]\n{line}\n")
                with self.assertRaises(tpharness.HarnessError, msg=line):
                    d.start()
                with contextlib.suppress(tpharness.HarnessError):
                    d.stop()
                with open(d.log_path) as f:
                    self.assertIn("refusing to start", f.read(), line)

    def test_ocsp_and_crl_over_http(self):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-ca-ocsp-") as tmp:
            d = new_daemon(stack)
            write_config(d, f"[CA]\nHTTPListen=127.0.0.1:{port}\nOCSPURL={base}/ocsp\nCRLURL={base}/crl\n"
                            f"CAIssuersURL={base}/ca.crt\nCRLHours=48\n")
            with d:
                # Nothing is served before there is a CA.
                with self.assertRaises(OSError):
                    urllib.request.urlopen(base + "/crl", timeout=5)

                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])

                def path(name):
                    return os.path.join(tmp, name)

                def write(name, data):
                    with open(path(name), "w") as f:
                        f.write(data)
                    return path(name)

                root = write("root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
                inter = write("int.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])

                def issue(name):
                    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-outform", "DER",
                        "-subj", f"/CN={name}.example.test", "-addext", f"subjectAltName=DNS:{name}.example.test")
                    with open(path(name + ".csr"), "rb") as f:
                        csr = f.read()
                    serial, chain = ca_call("IssueCertificate", "aysa{sv}", len(csr), *csr, "tls-server", 0)
                    return serial, write(name + ".pem", chain)

                good_serial, good = issue("good")
                bad_serial, bad = issue("bad")

                # The configured URLs are in the certificate.
                text = run("openssl", "x509", "-in", good, "-noout", "-text").stdout
                self.assertIn(f"OCSP - URI:{base}/ocsp", text)
                self.assertIn(f"CA Issuers - URI:{base}/ca.crt", text)
                self.assertIn(f"URI:{base}/crl", text)

                def ocsp(*args):
                    p = run("openssl", "ocsp", "-issuer", inter, *args, "-url", base + "/ocsp", "-CAfile", root,
                            "-resp_text", check=False)
                    return p.stdout + p.stderr

                out = ocsp("-cert", good)
                self.assertIn("Response verify OK", out)
                self.assertIn(f"{good}: good", out)
                self.assertIn("OCSP Nonce", out)
                self.assertNotIn("WARNING: no nonce", out)
                # Signed by the delegated responder certificate, not the intermediate.
                self.assertIn("Trusted Platform OCSP Responder", out)
                self.assertTrue(os.path.exists(os.path.join(d.state_dir, "ca", "ocsp-signer.pem")))
                # The signer's key is in the CA's key store (here the file store: encrypted PKCS#8), never in
                # the clear.
                assert_signer_key_in_store(self, d.state_dir, "file")

                ca_call("Revoke", "ssa{sv}", bad_serial, "keyCompromise", 0)
                out = ocsp("-cert", bad)
                self.assertIn("Response verify OK", out)
                self.assertIn(f"{bad}: revoked", out)
                self.assertIn("Reason: keyCompromise", out)
                self.assertIn("Revocation Time:", out)

                out = ocsp("-serial", "0x1234567890")
                self.assertIn("Response verify OK", out)
                self.assertIn("0x1234567890: unknown", out)

                # GET /crl: DER, lists the revoked serial, verifies against the intermediate.
                with urllib.request.urlopen(base + "/crl", timeout=10) as r:
                    self.assertEqual(r.headers["Content-Type"], "application/pkix-crl")
                    crl = r.read()
                with open(path("crl.der"), "wb") as f:
                    f.write(crl)
                text = run("openssl", "crl", "-inform", "DER", "-in", path("crl.der"), "-noout", "-text",
                           "-CAfile", inter).stdout
                self.assertIn(bad_serial.upper(), text.replace(":", "").upper())
                self.assertIn("Key Compromise", text)
                # ... valid for CRLHours= (48), like crl.pem and GetCRL.
                text = run("openssl", "crl", "-inform", "DER", "-in", path("crl.der"), "-noout", "-lastupdate",
                           "-nextupdate").stdout
                self.assertEqual(crl_lifetime(text), datetime.timedelta(hours=48))

                # GET /ca.crt: the intermediate, DER.
                with urllib.request.urlopen(base + "/ca.crt", timeout=10) as r:
                    der = r.read()
                self.assertEqual(der, subprocess.run(["openssl", "x509", "-in", inter, "-outform", "DER"],
                                                     capture_output=True, check=True, timeout=60).stdout)

                # tpctl agrees.
                for serial, status in ((good_serial, "good"), (bad_serial, "revoked")):
                    p = run(TPCTL, "--no-pager", "ca", "ocsp", serial, f"--url={base}/ocsp")
                    self.assertIn(status, p.stdout)
                    p = run(TPCTL, "--no-pager", "--json=short", "ca", "ocsp", serial, f"--url={base}/ocsp")
                    j = json.loads(p.stdout)
                    self.assertEqual(j["Status"], status)
                    self.assertEqual(j["Serial"], serial)
                self.assertEqual(j["Reason"], "keyCompromise")
                self.assertGreater(j["RevokedAt"], 0)
                p = run(TPCTL, "--no-pager", "ca", "ocsp", good, f"--url={base}/ocsp")
                self.assertIn("good", p.stdout)

                # crl.pem follows a revocation at once, not only on the timer.
                text = run("openssl", "crl", "-in", os.path.join(d.state_dir, "ca", "crl.pem"), "-noout",
                           "-text").stdout
                self.assertIn("Key Compromise", text)

                # Revoking the responder's own certificate makes the daemon replace it at once.
                signer_pem = os.path.join(d.state_dir, "ca", "ocsp-signer.pem")
                old_signer = run("openssl", "x509", "-in", signer_pem, "-noout", "-serial").stdout
                old_serial = old_signer.strip().split("=")[1]
                ca_call("Revoke", "ssa{sv}", old_serial, "superseded", 0)
                self.assertNotEqual(run("openssl", "x509", "-in", signer_pem, "-noout", "-serial").stdout, old_signer)
                out = ocsp("-cert", good)
                self.assertIn("Response verify OK", out)
                self.assertIn(f"{good}: good", out)
                # Without --url: the certificate's own AIA OCSP URL.
                p = run(TPCTL, "--no-pager", "ca", "ocsp", bad)
                self.assertIn("revoked", p.stdout)
                # A serial never issued: the responder says unknown (with --url no certificate is needed);
                # without --url there is no certificate to take the URL from.
                p = run(TPCTL, "--no-pager", "--json=short", "ca", "ocsp", "1234567890abcdef1234567890abcdef",
                        f"--url={base}/ocsp")
                self.assertEqual(json.loads(p.stdout)["Status"], "unknown")
                p = run(TPCTL, "--no-pager", "ca", "ocsp", "1234567890abcdef1234567890abcdef", check=False)
                self.assertNotEqual(p.returncode, 0)
                # A wrong responder: the answer does not verify or does not come.
                for url in ("http://127.0.0.1:1/ocsp", base + "/crl", "ftp://x/"):
                    p = run(TPCTL, "--no-pager", "ca", "ocsp", good_serial, f"--url={url}", check=False)
                    self.assertNotEqual(p.returncode, 0, url)
                    self.assertNotIn("good", p.stdout)

            # The CA directory has a CRL file valid for CRLHours= (48 here).
            crl_pem = os.path.join(d.state_dir, "ca", "crl.pem")
            text = run("openssl", "crl", "-in", crl_pem, "-noout", "-lastupdate", "-nextupdate").stdout
            self.assertEqual(crl_lifetime(text), datetime.timedelta(hours=48))

            # A restarted daemon opens the existing CA at start and serves at once, with the same signer.
            with open(os.path.join(d.state_dir, "ca", "ocsp-signer.pem")) as f:
                signer = f.read()
            d2 = new_daemon(stack, name="daemon2")
            d2.config_dir = d.config_dir
            with d2:
                out = ocsp("-cert", bad)
                self.assertIn(f"{bad}: revoked", out)
                with open(os.path.join(d.state_dir, "ca", "ocsp-signer.pem")) as f:
                    self.assertEqual(f.read(), signer)
                assert_signer_key_in_store(self, d.state_dir, "file")
                text = run("openssl", "crl", "-in", crl_pem, "-noout", "-text").stdout
                self.assertIn("Key Compromise", text)


if __name__ == "__main__":
    tptest.main()
