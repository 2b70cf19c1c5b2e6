#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The remote verdict slot (issue 7 item 4): Manager.SubmitVerdict() takes a verifier's compact JWS (ES256
only) signed by a key configured in [Attestation] VerifierKeys=, for this machine ([Attestation] Audience=),
with an expiry, and folds it into TrustState as [Attestation] RemoteVerdict= says (local / remote / both).
The test makes its own P-256 key with the openssl CLI and assembles the tokens itself: valid -> accepted;
expired, another key, alg none, HS256 keyed with the public key, another audience and garbage -> refused
with VerdictRejected or InvalidArgs. An accepted verdict survives a restart, expires into unknown, and
nobody is refused by polkit. No TPM: the local side is a forced empty policy (trusted, "checks nothing")."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemontest  # noqa: E402
from daemontest import MANAGER, NAME, PATH, busctl  # noqa: E402
import tpharness  # noqa: E402
import tptest  # noqa: E402

AUDIENCE = "test-machine-0123"
REJECTED = "The verdict was refused"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_to_raw(der):
    """An ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to the 64-byte R||S of RFC 7518 3.4."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def genkey(directory, name):
    key = os.path.join(directory, name + ".pem")
    pub = os.path.join(directory, name + ".pub.pem")
    subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key], check=True)
    subprocess.run(["openssl", "ec", "-in", key, "-pubout", "-out", pub], check=True, capture_output=True)
    return key, pub


def es256(key, data):
    p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data, capture_output=True, check=True)
    return der_to_raw(p.stdout)


def claims(**over):
    now = int(time.time())
    c = {"iss": "test-verifier", "sub": "machine", "aud": AUDIENCE, "iat": now, "exp": now + 600,
         "verdict": "trusted", "reasons": []}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def token(key, payload, header=None, sign=None):
    h = header if header is not None else {"alg": "ES256", "typ": "JWT", "kid": "test"}
    signing_input = (b64(json.dumps(h).encode()) + "." + b64(json.dumps(payload).encode())).encode()
    sig = sign(signing_input) if sign else es256(key, signing_input)
    return signing_input.decode() + "." + b64(sig)


def prop(name):
    return json.loads(busctl("get-property", NAME, PATH, MANAGER, name).stdout)["data"]


def submit(jws, options=("0",), user=None):
    """(True, (state, expires)) or (False, error message)."""
    p = busctl("call", NAME, PATH, MANAGER, "SubmitVerdict", "sa{sv}", jws, *options, user=user, check=False)
    if p.returncode == 0:
        return True, tuple(json.loads(p.stdout)["data"])
    return False, p.stderr.strip()


class RemoteVerdictTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = tpharness.Stack(bus=True, polkit=True)
        cls.stack.__enter__()
        cls.daemon = None
        try:
            cls.key, cls.pub = genkey(cls.stack.dir, "verifier")
            cls.other_key, _ = genkey(cls.stack.dir, "other")
            cls.policy = os.path.join(cls.stack.dir, "policy.json")
            with open(cls.policy, "w") as f:
                f.write('{"version": 1, "force": true}')
            cls.start("both")
        except BaseException:
            cls.stack.__exit__(*sys.exc_info())
            raise

    @classmethod
    def start(cls, mode, keep=False):
        """A new daemon in mode; without keep, the stored verdict of an earlier test is removed first."""
        if cls.daemon is not None:
            cls.daemon.__exit__(None, None, None)
            cls.daemon = None
        if not keep:
            try:
                os.unlink(os.path.join(cls.stack.state_dir, "remote-verdict.jws"))
            except FileNotFoundError:
                pass
        cls.starts = getattr(cls, "starts", 0) + 1
        daemon = daemontest.new_daemon(cls.stack, name=f"daemon{cls.starts}")
        with open(os.path.join(daemon.config_dir, "trusted-platform.conf"), "w") as f:
            f.write(f"[Attestation]\nPolicy={cls.policy}\nInterval=0\nRemoteVerdict={mode}\n"
                    f"VerifierKeys={cls.pub}\nAudience={AUDIENCE}\n")
        daemon.__enter__()
        cls.daemon = daemon
        # The start-up attestation (no TPM needed for a forced empty policy).
        for _ in range(100):
            if prop("LastAttestation"):
                break
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon is not None:
                cls.daemon.__exit__(None, None, None)
        finally:
            cls.stack.__exit__(None, None, None)

    def assertAlive(self):
        daemontest.daemon_alive(self, self.daemon)

    def assertRefused(self, jws, text):
        ok, msg = submit(jws)
        self.assertFalse(ok, f"accepted: {jws[:80]}")
        self.assertIn(text, msg)
        self.assertAlive()

    def test_1_valid_is_accepted_and_folded(self):
        self.start("both")
        self.assertEqual(prop("TrustState"), "unknown")  # both: no remote verdict yet
        self.assertIn("remote: no verdict from a verifier", prop("TrustReasons"))
        exp = int(time.time()) + 600
        ok, res = submit(token(self.key, claims(exp=exp, reasons=["all good"])))
        self.assertTrue(ok, res)
        self.assertEqual(res, ("trusted", exp * 1000000))
        self.assertEqual(prop("RemoteVerdictExpires"), exp * 1000000)
        self.assertEqual(prop("TrustState"), "trusted")
        reasons = prop("TrustReasons")
        self.assertIn("remote: all good", reasons)
        self.assertTrue(any("checks nothing" in r for r in reasons), reasons)
        # An untrusted verdict wins.
        ok, res = submit(token(self.key, claims(verdict="untrusted", reasons=["PCR 7 changed"])))
        self.assertTrue(ok, res)
        self.assertEqual(res[0], "untrusted")
        self.assertIn("remote: PCR 7 changed", prop("TrustReasons"))
        self.assertTrue(os.path.exists(os.path.join(self.daemon.state_dir, "remote-verdict.jws")))

    def test_2_refused_tokens(self):
        self.start("remote")
        now = int(time.time())
        hs = {"alg": "HS256", "typ": "JWT"}
        with open(self.pub, "rb") as f:
            pub = f.read()
        cases = [
            (token(self.key, claims(iat=now - 1200, exp=now - 600)), "expired"),
            (token(self.other_key, claims()), "verifies with no trusted verifier key"),
            (token(None, claims(), {"alg": "none"}, sign=lambda d: b""), "alg \"none\" is not accepted"),
            (token(None, claims(), hs, sign=lambda d: hmac.new(pub, d, hashlib.sha256).digest()),
             "alg \"HS256\" is not accepted"),
            (token(self.key, claims(), {"alg": "RS256"}), "alg \"RS256\" is not accepted"),
            (token(self.key, claims(), {"typ": "JWT"}), "no alg"),
            (token(self.key, claims(), {"alg": "ES256", "crit": ["x"]}), "critical"),
            (token(self.key, claims(aud="another-machine")), "not for audience"),
            (token(self.key, claims(aud=["a", "b"])), "not for audience"),
            (token(self.key, claims(aud=None)), "not for audience"),
            (token(self.key, claims(exp=None)), "no expiry"),
            (token(self.key, claims(exp=str(now + 60))), "NumericDate"),
            (token(self.key, claims(exp=now + 30 * 24 * 3600)), "longer than"),
            (token(self.key, claims(nbf=now + 3600, exp=now + 7200)), "not valid yet"),
            (token(self.key, claims(verdict="maybe")), "verdict must be"),
            (token(self.key, claims(verdict=None)), "verdict must be"),
            (token(self.key, claims(reasons="one")), "reasons must be"),
            (token(self.key, claims(reasons=[1])), "reason 0"),
            (token(self.key, claims(iss=7)), "iss and sub"),
            ("garbage", "not a compact JWS"),
            ("a.b.c.d", "not a compact JWS"),
            ("!!.!!.!!", "not base64url"),
            (b64(b"[]") + "." + b64(b"{}") + ".", "header is not base64url JSON"),
        ]
        # A signature one bit off.
        good = token(self.key, claims())
        last = good[-1]
        cases.append((good[:-1] + ("A" if last != "A" else "B"), "signature"))
        cases.append((good.rsplit(".", 1)[0] + "." + b64(b"\0" * 63), "64 bytes"))
        for jws, text in cases:
            with self.subTest(text=text, jws=jws[:60]):
                self.assertRefused(jws, text)
                self.assertEqual(prop("TrustState"), "unknown")
                self.assertEqual(prop("RemoteVerdictExpires"), 0)
        self.assertIn(REJECTED, submit("garbage")[1])

    def test_3_malformed_calls(self):
        calls = [
            ("s", ["x"]),
            ("", []),
            ("a{sv}", ["0"]),
            ("sa{sv}", ["", "0"]),
            ("sa{sv}", ["x" * 20000, "0"]),
            ("sa{sv}", ["x", "1", "bogus", "s", "y"]),
            ("sa{sv}", ["x", "1", "", "b", "true"]),
            ("ss", ["x", "y"]),
            ("sa{ss}", ["x", "0"]),
            ("u", ["1"]),
            ("sa{sv}s", ["x", "0", "z"]),
            ("as", ["1", "x"]),
        ]
        for sig, args in calls:
            with self.subTest(sig=sig):
                p = busctl("call", NAME, PATH, MANAGER, "SubmitVerdict", sig, *args, check=False)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                # InvalidArgs: sd-bus's signature check, or ours (busctl prints only the message).
                self.assertRegex(p.stderr, r"Invalid arguments|Unknown option|compact JWS of 1 to", p.stderr)
                self.assertAlive()
        self.assertEqual(prop("RemoteVerdictExpires"), 0)

    def test_4_modes(self):
        good = token(self.key, claims(verdict="trusted", reasons=["fine"]))
        self.start("local")
        self.assertTrue(submit(good)[0])
        self.assertEqual(prop("TrustState"), "trusted")
        self.assertFalse(any(r.startswith("remote:") for r in prop("TrustReasons")))
        self.assertTrue(submit(token(self.key, claims(verdict="untrusted")))[0])
        self.assertEqual(prop("TrustState"), "trusted")  # ignored

        self.start("remote", keep=True)  # the stored untrusted verdict is loaded again
        self.assertEqual(prop("TrustState"), "untrusted")
        self.assertTrue(any("says untrusted" in r for r in prop("TrustReasons")))
        self.assertTrue(submit(good)[0])
        self.assertEqual(prop("TrustState"), "trusted")
        self.assertEqual(prop("TrustReasons"), ["remote: fine"])

    def test_5_restart_keeps_verdict(self):
        self.start("remote")
        exp = int(time.time()) + 900
        self.assertTrue(submit(token(self.key, claims(exp=exp, reasons=["kept"])))[0])
        self.start("remote", keep=True)
        self.assertEqual(prop("TrustState"), "trusted")
        self.assertEqual(prop("RemoteVerdictExpires"), exp * 1000000)
        self.assertEqual(prop("TrustReasons"), ["remote: kept"])
        # A stored token that no longer verifies (another key configured) is ignored.
        path = os.path.join(self.daemon.state_dir, "remote-verdict.jws")
        with open(path, "w") as f:
            f.write(token(self.other_key, claims()))
        self.start("remote", keep=True)
        self.assertEqual(prop("TrustState"), "unknown")
        self.assertEqual(prop("RemoteVerdictExpires"), 0)

    def test_6_expiry_flips_to_unknown(self):
        self.start("remote")
        monitor = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", NAME, "--object-path", PATH],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            time.sleep(0.5)
            self.assertTrue(submit(token(self.key, claims(exp=int(time.time()) + 3)))[0])
            self.assertEqual(prop("TrustState"), "trusted")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and prop("RemoteVerdictExpires") != 0:
                time.sleep(0.2)
            self.assertEqual(prop("RemoteVerdictExpires"), 0)
            self.assertEqual(prop("TrustState"), "unknown")
            self.assertIn("remote: the verifier's verdict expired", prop("TrustReasons"))
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out = monitor.communicate(timeout=10)[0]
        self.assertIn("'TrustState': <'unknown'>", out)
        self.assertFalse(os.path.exists(os.path.join(self.daemon.state_dir, "remote-verdict.jws")))

    def test_7_nobody_is_refused(self):
        self.start("remote")
        ok, msg = submit(token(self.key, claims()), user="nobody")
        self.assertFalse(ok)
        self.assertNotIn(REJECTED, msg)
        self.assertEqual(prop("TrustState"), "unknown")
        self.assertAlive()


if __name__ == "__main__":
    tptest.main()
