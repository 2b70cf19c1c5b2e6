#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CA's private-key operations with the TPM store run on the TPM worker, never in the event loop
(DESIGN: the daemon never blocks the bus on the TPM). The CA keeps its keys in the TPM (swtpm behind
tpm2-abrmd, as test-daemon-ca-keys.py); swtpm is stopped with SIGSTOP while IssueCertificate, GetCRL,
VerifyCertificate(CheckCRL) and GenerateCertificate wait for the TPM: Ping, Get(TrustState) and
CA.ListCertificates still answer within a second. After SIGCONT every waiting call completes with results
that `openssl verify` and `openssl crl` accept. Overlapping IssueCertificate calls queue: all succeed with
distinct serials, each recorded once in the index."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from daemontest import MANAGER, NAME, PATH, busctl, new_daemon, tpharness, tptest

CA = NAME + ".CA"
FAST = 1.0  # seconds a call that needs no TPM may take while the TPM hangs


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ca_call(method, signature="", *args):
    p = busctl("call", NAME, PATH, CA, method, signature, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def run(*cmd, check=True):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr[:800]}")
    return p


def start(interface, method, signature="", *args):
    """A call in the background: busctl with a long timeout, waiting for the TPM."""
    return subprocess.Popen(["busctl", "--system", "--json=short", "--timeout=120", "call", NAME, PATH, interface,
                             method, signature, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def finish(test, p):
    out, err = p.communicate(timeout=120)
    test.assertEqual(p.returncode, 0, err)
    return json.loads(out)["data"]


class CaOffLoopTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tp-ca-offloop-")
        cls.stack = tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True)
        cls.stack.__enter__()
        try:
            cls.daemon = new_daemon(cls.stack)
            cls.daemon.extra_env.update(cls.stack.abrmd.env)
            cls.daemon.extra_env["TRUSTED_PLATFORM_LOG_LEVEL"] = "debug"
            # The OCSP responder and GET /crl over HTTP, signed with the TPM-held keys on the worker too.
            cls.base = f"http://127.0.0.1:{free_port()}"
            cls.daemon.config_dir = os.path.join(cls.daemon.dir, "config")
            os.makedirs(cls.daemon.config_dir, mode=0o755, exist_ok=True)
            with open(os.path.join(cls.daemon.config_dir, "trusted-platform.conf"), "w") as f:
                f.write(f"[CA]\nKeyStore=tpm\nHTTPListen={cls.base[7:]}\nOCSPURL={cls.base}/ocsp\n")
            cls.daemon.__enter__()
            ca_call("Init", "a{sv}", 0)
            cls.root = cls.save("root.pem", ca_call("GetCertificate", "sa{sv}", "root", 0)[1])
            cls.inter = cls.save("intermediate.pem", ca_call("GetCertificate", "sa{sv}", "intermediate", 0)[1])
            # A revoked certificate, so that the CRLs below list something.
            cls.revoked, _ = cls.issue("revoked")
            ca_call("Revoke", "ssa{sv}", cls.revoked, "keyCompromise", 0)
        except BaseException:
            if getattr(cls, "daemon", None) and os.path.exists(cls.daemon.log_path):
                with open(cls.daemon.log_path) as f:
                    print("".join("# " + line for line in f.readlines()[-40:]), flush=True)
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        os.kill(cls.stack.swtpm.pid, signal.SIGCONT)
        if getattr(cls, "daemon", None):
            cls.daemon.__exit__(None, None, None)
        cls.stack.__exit__(None, None, None)
        cls.tmp.cleanup()

    @classmethod
    def save(cls, name, data):
        p = os.path.join(cls.tmp.name, name)
        with open(p, "wb" if isinstance(data, (bytes, bytearray)) else "w") as f:
            f.write(data)
        return p

    @classmethod
    def csr(cls, name):
        key, csr = os.path.join(cls.tmp.name, name + ".key"), os.path.join(cls.tmp.name, name + ".csr")
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            key, "-subj", f"/CN={name}.example.test", "-addext", f"subjectAltName=DNS:{name}.example.test", "-out",
            csr, "-outform", "DER")
        with open(csr, "rb") as f:
            return f.read()

    @classmethod
    def issue(cls, name):
        der = cls.csr(name)
        return ca_call("IssueCertificate", "aysa{sv}", len(der), *der, "tls-server", 0)

    def log(self):
        with open(self.daemon.log_path) as f:
            return f.read()

    def verify(self, chain_pem, name, crl=None):
        cert = self.save(name + ".pem", chain_pem)
        cmd = ["openssl", "verify", "-CAfile", self.root, "-untrusted", self.inter]
        if crl:
            cmd += ["-crl_check", "-CRLfile", crl]
        return run(*cmd, cert, check=False)

    def crl_pem(self, der, name):
        path = self.save(name + ".der", bytes(der))
        pem = os.path.join(self.tmp.name, name + ".pem")
        # Parses and checks the signature against the intermediate.
        out = run("openssl", "crl", "-inform", "DER", "-in", path, "-CAfile", self.inter, "-noout", "-text")
        self.assertIn("verify OK", out.stdout + out.stderr)
        run("openssl", "crl", "-inform", "DER", "-in", path, "-out", pem)
        return pem, out.stdout

    def assertFast(self, what, fn):
        t = time.monotonic()
        result = fn()
        elapsed = time.monotonic() - t
        self.assertLess(elapsed, FAST, f"{what} took {elapsed:.2f}s while the TPM hangs")
        return result

    def assertBusAnswers(self):
        self.assertFast("Ping", lambda: busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping", timeout=10))
        state = self.assertFast("Get(TrustState)", lambda: busctl("get-property", NAME, PATH, MANAGER, "TrustState",
                                                                  timeout=10))
        self.assertTrue(json.loads(state.stdout)["data"])
        listed = self.assertFast("ListCertificates", lambda: busctl("call", NAME, PATH, CA, "ListCertificates",
                                                                    "a{sv}", 0, timeout=10))
        return [c[0] for c in json.loads(listed.stdout)["data"][0]]

    @contextlib.contextmanager
    def stopped_tpm(self):
        os.kill(self.stack.swtpm.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.stack.swtpm.pid, signal.SIGCONT)

    def test_calls_wait_for_a_hanging_tpm_and_the_bus_answers(self):
        der = self.csr("hang")
        with self.stopped_tpm():
            issue = start(CA, "IssueCertificate", "aysa{sv}", len(der), *der, "tls-server", 0)
            crl = start(CA, "GetCRL", "a{sv}", 0)
            gen = start(CA, "GenerateCertificate", "ssasa{sv}", "tls-client", "/CN=gen", 0, 0)
            time.sleep(0.5)
            serials = self.assertBusAnswers()
            # The calls wait for the TPM; nothing about them reached the index yet.
            for p in (issue, crl, gen):
                self.assertIsNone(p.poll(), "a call that needs the TPM finished while it was stopped")
            time.sleep(0.5)
            self.assertEqual(self.assertBusAnswers(), serials)
            for p in (issue, crl, gen):
                self.assertIsNone(p.poll())

        serial, chain = finish(self, issue)
        crl_pem, text = self.crl_pem(finish(self, crl)[0], "hang-crl")
        self.assertIn(self.revoked, text.replace(":", "").upper())
        gen_serial, gen_chain, _ = finish(self, gen)
        out = self.verify(chain, "hang-leaf", crl=crl_pem)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        out = self.verify(gen_chain, "hang-gen")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        listed = self.assertBusAnswers()
        self.assertIn(serial, listed)
        self.assertIn(gen_serial, listed)
        log = self.log()
        self.assertIn(f"Signing certificate {serial} on the TPM worker.", log)
        self.assertIn(f"Certificate {gen_serial} was signed on the TPM worker too.", log)

    def test_ocsp_and_http_crl_wait_for_the_tpm(self):
        self.check_ocsp_and_http_crl("ocsp")

    def test_z_restarted_daemon_still_signs_on_the_worker(self):
        # At start the CA service (and its HTTP server) starts before the TPM worker exists.
        d = new_daemon(self.stack, name="daemon2")
        d.extra_env.update(self.stack.abrmd.env)
        d.extra_env["TRUSTED_PLATFORM_LOG_LEVEL"] = "debug"
        d.config_dir = self.daemon.config_dir
        self.daemon.__exit__(None, None, None)
        type(self).daemon = d
        d.__enter__()
        self.check_ocsp_and_http_crl("restarted")
        der = self.csr("restarted-issue")
        with self.stopped_tpm():
            issue = start(CA, "IssueCertificate", "aysa{sv}", len(der), *der, "tls-server", 0)
            time.sleep(0.5)
            self.assertBusAnswers()
            self.assertIsNone(issue.poll())
        serial, chain = finish(self, issue)
        self.assertEqual(self.verify(chain, "restarted-leaf").returncode, 0)
        self.assertIn(f"Signing certificate {serial} on the TPM worker.", self.log())

    def check_ocsp_and_http_crl(self, name):
        _, chain = self.issue(name)
        cert = self.save(name + "-leaf.pem", chain)
        resp = os.path.join(self.tmp.name, name + "-resp.der")
        crl_der = os.path.join(self.tmp.name, name + "-crl.der")
        with self.stopped_tpm():
            ocsp = subprocess.Popen(["openssl", "ocsp", "-issuer", self.inter, "-cert", cert, "-url",
                                     self.base + "/ocsp", "-CAfile", self.root, "-respout", resp, "-timeout", "100"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    stdin=subprocess.DEVNULL)
            crl = subprocess.Popen(["curl", "-sS", "--max-time", "100", "-o", crl_der, self.base + "/crl"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   stdin=subprocess.DEVNULL)
            time.sleep(0.5)
            self.assertBusAnswers()
            # The HTTP server answers what needs no signature meanwhile.
            t = time.monotonic()
            with urllib.request.urlopen(self.base + "/ca.crt", timeout=10) as r:
                self.assertGreater(len(r.read()), 100)
            self.assertLess(time.monotonic() - t, FAST)
            self.assertIsNone(ocsp.poll())
            self.assertIsNone(crl.poll())
        out, _ = ocsp.communicate(timeout=120)
        self.assertIn("Response verify OK", out)
        self.assertIn(f"{cert}: good", out)
        crl.communicate(timeout=120)
        self.assertEqual(crl.returncode, 0)
        with open(crl_der, "rb") as f:
            _, text = self.crl_pem(f.read(), name + "-http-crl")
        self.assertIn(self.revoked, text.replace(":", "").upper())

    def test_verify_certificate_with_crl_waits_for_the_tpm(self):
        _, chain = self.issue("checked")
        blob = chain.encode()
        with self.stopped_tpm():
            p = start(CA, "VerifyCertificate", "aya{sv}", len(blob), *blob, 1, "CheckCRL", "b", "true")
            time.sleep(0.5)
            self.assertBusAnswers()
            self.assertIsNone(p.poll())
        valid, reason, subjects = finish(self, p)
        self.assertTrue(valid, reason)
        self.assertEqual(len(subjects), 3)

    def test_overlapping_issues_queue(self):
        n = 4
        csrs = [self.csr(f"overlap{i}") for i in range(n)]
        before = set(self.assertBusAnswers())
        with self.stopped_tpm():
            calls = [start(CA, "IssueCertificate", "aysa{sv}", len(c), *c, "tls-server", 0) for c in csrs]
            time.sleep(0.5)
            self.assertEqual(set(self.assertBusAnswers()), before)
        results = [finish(self, p) for p in calls]
        serials = [s for s, _ in results]
        self.assertEqual(len(set(serials)), n, serials)
        for i, (serial, chain) in enumerate(results):
            out = self.verify(chain, f"overlap{i}-leaf")
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            text = run("openssl", "x509", "-in", os.path.join(self.tmp.name, f"overlap{i}-leaf.pem"), "-noout",
                       "-serial", "-subject").stdout
            self.assertIn("serial=" + serial, text)
            self.assertIn(f"overlap{i}.example.test", text)
        # The index holds each once, and nothing else appeared.
        after = self.assertBusAnswers()
        self.assertEqual(len(after), len(set(after)))
        self.assertEqual(set(after) - before, set(serials))
        index = os.path.join(self.stack.state_dir, "ca", "index")
        for s in serials:
            self.assertTrue(os.path.exists(os.path.join(index, s + ".json")), s)
        # The CRL written after a revocation (signed on the worker too) is valid.
        ca_call("Revoke", "ssa{sv}", serials[0], "superseded", 0)
        crl_path = os.path.join(self.stack.state_dir, "ca", "crl.pem")
        for _ in range(100):
            out = run("openssl", "crl", "-in", crl_path, "-noout", "-text", check=False)
            if serials[0] in out.stdout.replace(":", "").upper():
                break
            time.sleep(0.1)
        self.assertIn(serials[0], out.stdout.replace(":", "").upper())
        out = run("openssl", "crl", "-in", crl_path, "-CAfile", self.inter, "-noout")
        self.assertIn("verify OK", out.stdout + out.stderr)


if __name__ == "__main__":
    tptest.main()
