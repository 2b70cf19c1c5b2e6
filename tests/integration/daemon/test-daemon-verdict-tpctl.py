#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tpctl verdict submit|show and tpctl security (issue 7 items 3 and 4, as a user runs them): a P-256 verifier
key made with the openssl CLI is configured, tokens signed with it are submitted through tpctl from a file
and from standard input, and the refusals (expired, another key, alg none, HS256 keyed with the public key,
another audience, a key injected in the header) exit 1 with the daemon's reason; usage errors exit 2, a
caller polkit refuses exits 4. tpctl security shows GetSecurityAttributes() as a table (-v adds the
resolutions) and as JSON that equals the D-Bus reply."""

import hashlib
import hmac
import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemontest  # noqa: E402
from daemontest import AS_NOBODY, MANAGER, NAME, PATH, TPCTL, busctl, tpctl  # noqa: E402
import tptest  # noqa: E402

# The token helpers of the D-Bus test of the same slot (one way of making tokens for both).
_spec = importlib.util.spec_from_file_location("remote_verdict", os.path.join(HERE, "test-daemon-remote-verdict.py"))
rv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rv)

REFUSED = "Failed to submit the verdict: The verdict was refused: "


def prop(name):
    return json.loads(busctl("get-property", NAME, PATH, MANAGER, name).stdout)["data"]


class VerdictTpctlTest(daemontest.DaemonClassTest):
    @classmethod
    def prepare(cls):
        cls.key, cls.pub = rv.genkey(cls.stack.dir, "verifier")
        cls.other_key, _ = rv.genkey(cls.stack.dir, "other")
        cls.policy = os.path.join(cls.stack.dir, "policy.json")
        with open(cls.policy, "w") as f:
            f.write('{"version": 1, "force": true}')

    @classmethod
    def config(cls):
        return (f"[Attestation]\nPolicy={cls.policy}\nInterval=0\nRemoteVerdict=remote\n"
                f"VerifierKeys={cls.pub}\nAudience={rv.AUDIENCE}\n")

    def write(self, name, data):
        path = os.path.join(self.stack.dir, name)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def assertAlive(self):
        daemontest.daemon_alive(self, self.daemon)

    def test_1_submit_and_show(self):
        exp = int(time.time()) + 600
        path = self.write("good.jws", rv.token(self.key, rv.claims(exp=exp, reasons=["all good"])) + "\n")
        p = tpctl("verdict", "submit", path)
        out = p.stdout.decode()
        self.assertIn("Trust state: trusted", out)
        self.assertIn("remote: all good", out)
        self.assertIn("Verdict expires:", out)
        self.assertNotIn("no verdict", out)
        self.assertEqual(prop("RemoteVerdictExpires"), exp * 1000000)

        # From standard input, as JSON: an untrusted verdict is accepted too (exit 0) and wins.
        token = rv.token(self.key, rv.claims(exp=exp + 1, verdict="untrusted", reasons=["PCR 7 changed"]))
        p = tpctl("--json=short", "verdict", "submit", "-", input=token.encode())
        obj = json.loads(p.stdout)
        self.assertEqual(obj["TrustState"], "untrusted")
        self.assertEqual(obj["RemoteVerdictExpires"], (exp + 1) * 1000000)
        self.assertEqual(obj["TrustReasons"], ["remote: PCR 7 changed"])
        self.assertEqual(prop("TrustState"), "untrusted")

        p = tpctl("--json=short", "verdict", "show")
        self.assertEqual(json.loads(p.stdout), obj)
        out = tpctl("verdict", "show").stdout.decode()
        self.assertIn("Trust state: untrusted", out)
        self.assertIn("remote: PCR 7 changed", out)

        # Back to trusted for the tests that follow.
        tpctl("-q", "verdict", "submit", self.write("trusted.jws", rv.token(self.key, rv.claims(exp=exp + 2))))
        self.assertEqual(prop("TrustState"), "trusted")

    def test_2_refused(self):
        now = int(time.time())
        with open(self.pub, "rb") as f:
            pub = f.read()
        before = prop("RemoteVerdictExpires")
        cases = [
            ("expired", rv.token(self.key, rv.claims(iat=now - 1200, exp=now - 600)), "expired"),
            ("other-key", rv.token(self.other_key, rv.claims()), "verifies with no trusted verifier key"),
            ("alg-none", rv.token(None, rv.claims(), {"alg": "none"}, sign=lambda d: b""),
             "alg \"none\" is not accepted"),
            ("hs256", rv.token(None, rv.claims(), {"alg": "HS256", "typ": "JWT"},
                               sign=lambda d: hmac.new(pub, d, hashlib.sha256).digest()),
             "alg \"HS256\" is not accepted"),
            ("audience", rv.token(self.key, rv.claims(aud="another-machine")), "not for audience"),
            ("jwk", rv.token(self.other_key, rv.claims(), {"alg": "ES256", "jwk": {"kty": "EC"}}),
             "header parameter \"jwk\" is not accepted"),
            ("json", json.dumps({"payload": "e30", "signatures": []}), "JSON serialization"),
            ("garbage", "garbage", "not a compact JWS"),
        ]
        for name, token, text in cases:
            with self.subTest(name=name):
                p = tpctl("verdict", "submit", self.write(name + ".jws", token), check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                err = p.stderr.decode()
                self.assertIn(REFUSED, err)
                self.assertIn(text, err)
                self.assertEqual(p.stdout, b"")
                self.assertEqual(prop("RemoteVerdictExpires"), before)
                self.assertAlive()

        # Refused locally, before the bus: no file, empty, a NUL byte, not UTF-8, too large.
        local = [
            (os.path.join(self.stack.dir, "missing.jws"), "Failed to read"),
            (self.write("empty.jws", "\n"), "is empty"),
            (self.write("nul.jws", b"a.b\0.c"), "NUL byte"),
            (self.write("latin1.jws", b"a.\xff.c"), "not UTF-8"),
            (self.write("large.jws", "A" * 20000), "larger than 16384 bytes"),
        ]
        for path, text in local:
            with self.subTest(path=path):
                p = tpctl("verdict", "submit", path, check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(text, p.stderr.decode())
        self.assertEqual(prop("RemoteVerdictExpires"), before)

    def test_3_usage(self):
        good = self.write("usage.jws", rv.token(self.key, rv.claims()))
        for args in (["verdict"], ["verdict", "submit"], ["verdict", "submit", good, good], ["verdict", "bogus"],
                     ["verdict", "show", "x"], ["security", "x"], ["verdict", "submit", "--verbose", good],
                     ["verdict", "show", "-v"], ["security", "--pin"]):
            with self.subTest(args=args):
                p = tpctl(*args, check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertNotEqual(p.stderr, b"")
        p = tpctl("verdict", "submit", "--help")
        self.assertIn(b"verdict submit FILE|-", p.stdout)

    def test_4_nobody_is_refused(self):
        path = self.write("nobody.jws", rv.token(self.key, rv.claims(reasons=["from nobody"])))
        os.chmod(self.stack.dir, 0o755)
        os.chmod(path, 0o644)
        p = subprocess.run(AS_NOBODY + [TPCTL, "--no-pager", "verdict", "submit", path], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertNotIn("remote: from nobody", prop("TrustReasons"))

    def test_5_security(self):
        reply = json.loads(busctl("call", NAME, PATH, MANAGER, "GetSecurityAttributes").stdout)["data"][0]
        ids = [row[0] for row in reply]

        p = tpctl("--json=short", "security")
        rows = json.loads(p.stdout)
        self.assertEqual([r["Id"] for r in rows], ids)
        for r, row in zip(rows, reply):
            self.assertEqual(sorted(r), ["Id", "Resolution", "Result", "Severity", "Summary"])
            if r["Id"] == "org.trustedplatform.Attestation" or r["Id"] == "org.trustedplatform.TpmLockout":
                continue  # may change between the two calls
            self.assertEqual([r["Id"], r["Result"], r["Severity"], r["Summary"], r["Resolution"]], row)

        out = tpctl("security").stdout.decode().splitlines()
        self.assertEqual(out[0].split()[:4], ["ID", "RESULT", "SEVERITY", "SUMMARY"])
        self.assertNotIn("RESOLUTION", out[0])
        table = {line.split()[0]: line.split() for line in out[1:]}
        for r in rows:
            short = r["Id"].removeprefix("org.trustedplatform.")
            self.assertIn(short, table)
            self.assertEqual(table[short][2], r["Severity"])
        self.assertIn("SecureBoot", table)
        self.assertEqual(table["SecureBoot"][1], "fail")  # no efivars in the test environment

        out = tpctl("security", "-v").stdout.decode()
        self.assertIn("RESOLUTION", out.splitlines()[0])
        failing = [r for r in rows if r["Result"] == "fail" and r["Resolution"]]
        self.assertTrue(failing)
        for r in failing:
            self.assertIn(r["Resolution"][:30], out)
        out = tpctl("--no-legend", "security", "--verbose").stdout.decode()
        self.assertNotIn("RESOLUTION", out)
        self.assertEqual(len(out.splitlines()), len(rows))


if __name__ == "__main__":
    tptest.main()
