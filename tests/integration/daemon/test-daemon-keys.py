#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TPM key methods of trusted-platformd (GetEndorsementKey, Create/Get/ListAttestationKey(s),
GetLockoutState, ResetLockout) and the tpctl verbs over them, on swtpm with EK certificates of a test
manufacturer, a private system bus and real polkitd.

The manufacturer is swtpm's own local CA: swtpm_setup --create-ek-cert issues the RSA EK certificate (NV
0x01C00002) with it; swtpm 0.7 makes its ECC EK on P-384, so the P-256 EK certificate (NV 0x01C0000A) is
issued by the same CA with openssl and written with tpm2-tools before the daemon starts. The daemon's
[Endorsement] CertificateDirectory= points at the CA's root and intermediate; daemons with a wrong and an
empty directory show that the chain check is real."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from daemontest import (AS_NOBODY, ERROR, TPM, bus_call, busctl, call, daemon_alive, new_daemon, tpharness,
                        tptest)

TPCTL = os.path.join(os.environ["PROJECT_BUILD_ROOT"], "src", "tpctl", "tpctl")
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
DENIED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
EK_HANDLE = {"rsa": 0x81010001, "ecc": 0x81010002}

TMP = STACK = DAEMON = None
DIRS = {}


def run(*cmd, cwd=None, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, cwd=cwd,
                       stdin=subprocess.DEVNULL, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr.strip()[:800]}")
    return p.stdout


def make_manufacturer_and_tpm(tpm_state):
    """swtpm state with an RSA EK certificate by swtpm-localca, plus a P-256 EK certificate by the same CA."""
    ca = os.path.join(TMP, "ca")
    os.mkdir(ca)
    with open(os.path.join(TMP, "localca.conf"), "w") as f:
        f.write(f"statedir = {ca}\nsigningkey = {ca}/signkey.pem\nissuercert = {ca}/issuercert.pem\n"
                f"certserial = {ca}/certserial\n")
    with open(os.path.join(TMP, "swtpm_setup.conf"), "w") as f:
        f.write(f"create_certs_tool = {shutil.which('swtpm_localca') or '/usr/bin/swtpm_localca'}\n"
                f"create_certs_tool_config = {TMP}/localca.conf\ncreate_certs_tool_options = /dev/null\n"
                "active_pcr_banks = sha1,sha256\n")
    run(tpharness.require_binary("swtpm_setup"), "--tpm2", "--tpmstate", tpm_state, "--create-ek-cert",
        "--config", os.path.join(TMP, "swtpm_setup.conf"))

    w = os.path.join(TMP, "work")
    os.mkdir(w)
    with tpharness.Stack(swtpm=True, tpm_state_dir=tpm_state, export=False) as s:
        t = s.swtpm.tcti
        run("tpm2_createek", "-T", t, "-c", f"{w}/ek.ctx", "-G", "ecc", "-u", f"{w}/ek.pem", "-f", "pem")
        s.swtpm.flush_all()
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{w}/dummy.key")
        run("openssl", "req", "-new", "-key", f"{w}/dummy.key", "-subj", "/CN=unused", "-out", f"{w}/dummy.csr")
        with open(f"{w}/ext.cnf", "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\n")
        run("openssl", "x509", "-req", "-in", f"{w}/dummy.csr", "-CA", f"{ca}/issuercert.pem", "-CAkey",
            f"{ca}/signkey.pem", "-set_serial", "0x5eed", "-days", "3650", "-force_pubkey", f"{w}/ek.pem",
            "-extfile", f"{w}/ext.cnf", "-subj", "/CN=Test EK P-256", "-outform", "DER", "-out",
            f"{w}/ek-ecc.der")
        size = os.path.getsize(f"{w}/ek-ecc.der")
        run("tpm2_nvdefine", "-T", t, "0x01c0000a", "-C", "p", "-s", size, "-a",
            "ppwrite|ppread|ownerread|authread|no_da|platformcreate")
        run("tpm2_nvwrite", "-T", t, "0x01c0000a", "-C", "p", "-i", f"{w}/ek-ecc.der")
        DIRS["ecc_cert"] = open(f"{w}/ek-ecc.der", "rb").read()

    good = DIRS["good"] = os.path.join(TMP, "roots-good")
    os.mkdir(good)
    shutil.copy(f"{ca}/swtpm-localca-rootca-cert.pem", good)
    shutil.copy(f"{ca}/issuercert.pem", good)
    # Another "manufacturer" with the same names: only the signatures differ.
    wrong = DIRS["wrong"] = os.path.join(TMP, "roots-wrong")
    os.mkdir(wrong)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        f"{w}/wrong.key", "-subj", "/CN=swtpm-localca-rootca", "-days", "30", "-out", f"{wrong}/root.pem")
    DIRS["empty"] = os.path.join(TMP, "roots-empty")
    os.mkdir(DIRS["empty"])


def config_dir(roots):
    d = os.path.join(TMP, "config-" + os.path.basename(roots))
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "trusted-platform.conf"), "w") as f:
        f.write(f"[Endorsement]\nCertificateDirectory={roots}\n")
    return d


def start_daemon(roots, name):
    """(Re)starts the daemon, reading its configuration from a directory naming roots."""
    global DAEMON
    if DAEMON is not None:
        DAEMON.__exit__(None, None, None)
        DAEMON = None
    d = new_daemon(STACK, name=name)
    d.config_dir = config_dir(roots)
    DAEMON = d.__enter__()


def setUpModule():
    global TMP, STACK
    TMP = tempfile.mkdtemp(prefix="tp-daemon-keys-")
    os.chmod(TMP, 0o755)
    tpm_state = os.path.join(TMP, "tpm")
    os.mkdir(tpm_state, 0o700)
    make_manufacturer_and_tpm(tpm_state)
    STACK = tpharness.Stack(swtpm=True, bus=True, polkit=True, tpm_state_dir=tpm_state)
    STACK.__enter__()
    start_daemon(DIRS["good"], "daemon")


def tearDownModule():
    try:
        if DAEMON is not None:
            DAEMON.__exit__(None, None, None)
    finally:
        try:
            if STACK is not None:
                STACK.__exit__(None, None, None)  # stops everything and runs the TPM leak check
        finally:
            shutil.rmtree(TMP, ignore_errors=True)


def unwrap(d):
    return {k: (bytes(v["data"]) if v["type"] == "ay" else v["data"]) for k, v in d.items()}


def get_ek(alg, *options):
    n, *rest = options or (0,)
    return unwrap(call(TPM, "GetEndorsementKey", "sa{sv}", alg, n, *rest)[0])


def create_ak(name, *options, user=None):
    n, *rest = options or (0,)
    return unwrap(call(TPM, "CreateAttestationKey", "sa{sv}", name, n, *rest, user=user)[0])


def tpctl(*args, user=None, check=True):
    cmd = (AS_NOBODY if user == "nobody" else []) + [TPCTL, "--no-pager", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"tpctl {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def openssl_der_pubkey(cert_der):
    with tempfile.NamedTemporaryFile(suffix=".der") as f:
        f.write(cert_der)
        f.flush()
        p = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", f.name, "-noout", "-pubkey"],
                           capture_output=True, check=True)
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=p.stdout, capture_output=True,
                          check=True).stdout


class KeysTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        call(TPM, "Provision", "a{sv}", 0)  # an SRK for the lockout test's sealed blob

    def assertAlive(self):
        daemon_alive(self, DAEMON)
        self.assertIsInstance(unwrap(call(TPM, "GetLockoutState")[0])["Counter"], int)

    def assertInvalid(self, method, signature, *args):
        name, message = bus_call(method, signature, *args)
        self.assertEqual(name, INVALID, f"{method} {args}: {name} {message}")

    def assertDenied(self, method, signature, *args):
        name, message = bus_call(method, signature, *args, user="nobody")
        self.assertIn(name, DENIED, f"{method} {args} as nobody: {name} {message}")

    # ---- Endorsement key ------------------------------------------------------------------------------

    def test_ek_both_algorithms_certificate_matches_and_chain_verifies(self):
        for alg in ("rsa", "ecc"):
            with self.subTest(alg=alg):
                ek = get_ek(alg)
                self.assertEqual(ek["Algorithm"], alg)
                self.assertEqual(ek["CertificateStatus"], "present")
                self.assertIs(ek["KeyMatches"], True)
                self.assertIs(ek["ChainVerified"], True, ek["ChainStatus"])
                self.assertEqual(ek["ChainStatus"], "verified")
                self.assertEqual(ek["CertificateDirectory"], DIRS["good"])
                self.assertEqual(ek["Issuer"], "CN=swtpm-localca")
                self.assertRegex(ek["NotAfter"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                # The key the daemon reports is the certificate's key, as openssl reads it.
                self.assertEqual(ek["PublicKey"], openssl_der_pubkey(ek["Certificate"]))
        ecc = get_ek("ecc")
        self.assertEqual(ecc["Certificate"], DIRS["ecc_cert"])
        self.assertEqual(ecc["Subject"], "CN=Test EK P-256")
        self.assertEqual(ecc["Serial"], "5eed")

    def test_ek_persist_twice_is_idempotent(self):
        before = get_ek("ecc")
        first = get_ek("ecc", 1, "Persist", "b", "true")
        second = get_ek("ecc", 1, "Persist", "b", "true")
        for ek in (first, second):
            self.assertIs(ek["Persistent"], True)
            self.assertEqual(ek["Handle"], EK_HANDLE["ecc"])
            self.assertEqual(ek["PublicKey"], before["PublicKey"])
            self.assertIs(ek["KeyMatches"], True)
        # Read without the option: the persistent key is found and reported.
        again = get_ek("ecc")
        self.assertIs(again["Persistent"], True)
        self.assertEqual(again["Handle"], EK_HANDLE["ecc"])
        # swtpm_setup made the RSA EK persistent already: persisting adopts it.
        rsa = get_ek("rsa", 1, "Persist", "b", "true")
        self.assertEqual(rsa["Handle"], EK_HANDLE["rsa"])

    def test_ek_read_open_persist_refused_for_nobody(self):
        p = busctl("call", "org.trustedplatform.TrustedPlatform1", "/org/trustedplatform/TrustedPlatform1", TPM,
                   "GetEndorsementKey", "sa{sv}", "ecc", 0, user="nobody")
        ek = unwrap(json.loads(p.stdout)["data"][0])
        self.assertIs(ek["KeyMatches"], True)
        self.assertDenied("GetEndorsementKey", "sa{sv}", "rsa", 1, "Persist", "b", 1)
        self.assertAlive()

    def test_ek_malformed(self):
        cases = [
            ("", 0), ("RSA", 0), ("ECC", 0), ("dsa", 0), ("rsa ", 0), ("rsa3072", 0), ("ecc384", 0),
            ("x" * 4096, 0),
            ("rsa", 1, "Persist", "s", "yes"),
            ("rsa", 1, "Persist", "u", 1),
            ("rsa", 1, "persist", "b", 1),
            ("rsa", 2, "Persist", "b", 0, "Persist", "b", 0),
            ("rsa", 1, "Algorithm", "s", "ecc"),
            ("rsa", 1, "", "b", 1),
            ("rsa", 1, "Certificate", "s", "x"),
            ("rsa", 1, "Certificate", "ay", ""),
            ("rsa", 1, "Certificate", "ay", "3082010000"),
            ("rsa", 1, "Certificate", "ay", b"-----BEGIN CERTIFICATE-----\nAAAA\n".hex()),
            ("rsa", 2, "Certificate", "ay", "30", "Certificate", "ay", "30"),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("GetEndorsementKey", "sa{sv}", *args)
        for sig, args in (("s", ("rsa",)), ("u", (1,)), ("ss", ("rsa", "x"))):
            with self.subTest(signature=sig):
                self.assertInvalid("GetEndorsementKey", sig, *args)
        self.assertAlive()

    def test_ek_chain_fails_against_wrong_and_empty_roots(self):
        try:
            for which, status in (("wrong", "failed"), ("empty", "no-roots")):
                with self.subTest(roots=which):
                    start_daemon(DIRS[which], "daemon-" + which)
                    for alg in ("rsa", "ecc"):
                        ek = get_ek(alg)
                        self.assertIs(ek["KeyMatches"], True)
                        self.assertIs(ek["ChainVerified"], False)
                        self.assertEqual(ek["ChainStatus"], status)
                    out = tpctl("tpm", "ek", "--alg", "ecc").stdout
                    self.assertRegex(out, r"Chain verified: no")
        finally:
            start_daemon(DIRS["good"], "daemon-good-again")
        self.assertIs(get_ek("rsa")["ChainVerified"], True)

    # ---- Attestation keys -----------------------------------------------------------------------------

    def test_ak_create_show_list(self):
        ecc = create_ak("ak-ecc")
        rsa = create_ak("ak-rsa", 1, "Algorithm", "s", "rsa")
        self.assertEqual(ecc["Algorithm"], "ecc")
        self.assertEqual(rsa["Algorithm"], "rsa")
        self.assertRegex(ecc["Name"], r"^000b[0-9a-f]{64}$")  # SHA-256 name
        for created in (ecc, rsa):
            name = "ak-" + created["Algorithm"]
            shown = unwrap(call(TPM, "GetAttestationKey", "s", name, user="nobody")[0])
            self.assertEqual(shown, created)
            self.assertTrue(os.path.exists(os.path.join(STACK.state_dir, f"ak-{name}.blob")))
        names = call(TPM, "ListAttestationKeys", user="nobody")[0]
        self.assertIn("ak-ecc", names)
        self.assertIn("ak-rsa", names)
        self.assertEqual(names, sorted(names))

    def test_ak_duplicate_refused_unless_replace(self):
        first = create_ak("dup")
        name, message = bus_call("CreateAttestationKey", "sa{sv}", "dup", 0)
        self.assertEqual(name, "org.freedesktop.DBus.Error.FileExists", message)
        self.assertIn("'dup' exists already", message)
        # The refused call left the key alone.
        self.assertEqual(unwrap(call(TPM, "GetAttestationKey", "s", "dup")[0]), first)
        replaced = create_ak("dup", 1, "Replace", "b", "true")
        self.assertNotEqual(replaced["Name"], first["Name"])
        self.assertEqual(unwrap(call(TPM, "GetAttestationKey", "s", "dup")[0]), replaced)

    def test_ak_missing(self):
        name, message = bus_call("GetAttestationKey", "s", "nosuchkey")
        self.assertEqual(name, "org.freedesktop.DBus.Error.FileNotFound", message)

    def test_ak_create_refused_for_nobody(self):
        self.assertDenied("CreateAttestationKey", "sa{sv}", "bynobody", 0)
        self.assertNotIn("bynobody", call(TPM, "ListAttestationKeys")[0])
        self.assertAlive()

    def test_ak_malformed(self):
        names = ["", "a b", "../x", "x/y", ".", "..", "k" * 65, "\u00e4", "a.b", "a\tb", "ak*"]
        for i, n in enumerate(names):
            with self.subTest(name=i):
                self.assertInvalid("CreateAttestationKey", "sa{sv}", n, 0)
                self.assertInvalid("GetAttestationKey", "s", n)
        options = [
            (1, "Algorithm", "s", "dsa"), (1, "Algorithm", "s", "ECC"), (1, "Algorithm", "s", ""),
            (1, "Algorithm", "u", 1), (1, "Replace", "s", "yes"), (1, "Replace", "u", 1), (1, "Force", "b", 1),
            (2, "Algorithm", "s", "ecc", "Algorithm", "s", "rsa"), (2, "Replace", "b", 1, "Replace", "b", 0),
            (1, "Persist", "b", 1), (1, "algorithm", "s", "ecc"), (1, "", "s", ""),
        ]
        for i, opts in enumerate(options):
            with self.subTest(options=i):
                self.assertInvalid("CreateAttestationKey", "sa{sv}", "good", *opts)
        for sig, args in (("s", ("good",)), ("u", (1,)), ("ss", ("good", "x"))):
            with self.subTest(signature=sig):
                self.assertInvalid("CreateAttestationKey", sig, *args)
        for sig, args in (("", ()), ("u", (1,)), ("ss", ("a", "b")), ("sa{sv}", ("a", 0))):
            with self.subTest(signature=sig):
                self.assertInvalid("GetAttestationKey", sig, *args)
        for sig, args in (("s", ("x",)), ("u", (1,)), ("a{sv}", (0,)), ("ay", ("00",)), ("au", (1, 1)),
                          ("ss", ("a", "b")), ("su", ("a", 1)), ("us", (1, "a")), ("uu", (1, 2)),
                          ("sa{sv}", ("a", 0)), ("aya{sv}", ("00", 0)), ("a(sau)", (1, "sha256", 1, 7))):
            with self.subTest(signature=sig):
                self.assertInvalid("ListAttestationKeys", sig, *args)
        self.assertNotIn("good", call(TPM, "ListAttestationKeys")[0])
        self.assertAlive()

    def test_quote_with_ak_from_create_attestation_key(self):
        # Quote signs with the AK "default": made here by CreateAttestationKey, not implicitly.
        created = create_ak("default", 1, "Replace", "b", "true")
        d = tempfile.mkdtemp(dir=TMP)
        os.chmod(d, 0o777)
        nonce = os.urandom(16).hex()
        # Quoting with an existing AK is open to everyone.
        tpctl("tpm", "quote", "--nonce", nonce, "--pcrs", "0,7", "--out-dir", d, user="nobody")
        with open(os.path.join(d, "ak.pub"), "rb") as f:
            self.assertEqual(f.read(), created["Public"])
        tpctl("tpm", "verify-quote", "--nonce", nonce, d)
        p = tpctl("tpm", "verify-quote", "--nonce", os.urandom(16).hex(), d, check=False)
        self.assertEqual(p.returncode, 1)

    # ---- Lockout --------------------------------------------------------------------------------------

    def lockout(self):
        return unwrap(call(TPM, "GetLockoutState", user="nobody")[0])

    def test_lockout_counts_wrong_pin_and_resets(self):
        busctl("call", "org.trustedplatform.TrustedPlatform1", "/org/trustedplatform/TrustedPlatform1", TPM,
               "ResetLockout", "a{sv}", 0)
        state = self.lockout()
        self.assertEqual(set(state), {"Counter", "MaxTries", "RecoveryTime", "LockoutRecovery", "InLockout"})
        self.assertEqual(state["Counter"], 0)
        self.assertIs(state["InLockout"], False)
        self.assertGreater(state["MaxTries"], 1)

        secret = b"pin-protected"
        blob = bytes(call(TPM, "Seal", "aya{sv}", len(secret), *secret, 1, "PIN", "s", "1234")[0])
        name, message = bus_call("Unseal", "aya{sv}", blob.hex(), 1, "PIN", "s", "9999")
        self.assertEqual(name, ERROR + "BadPIN", message)
        after = self.lockout()
        self.assertEqual(after["Counter"], 1)
        self.assertIn(f"{after['MaxTries'] - 1} tr", message)  # the tries left match the counter

        out = json.loads(tpctl("--json=short", "tpm", "lockout").stdout)
        self.assertEqual(out, after)

        self.assertDenied("ResetLockout", "a{sv}", 0)
        self.assertEqual(self.lockout()["Counter"], 1)
        out = json.loads(tpctl("--json=pretty", "tpm", "lockout", "--reset").stdout)
        self.assertEqual(out["Counter"], 0)
        self.assertEqual(self.lockout()["Counter"], 0)

    def test_lockout_malformed(self):
        for sig, args in (("s", ("x",)), ("u", (1,)), ("a{sv}", (0,)), ("ay", ("00",)), ("au", (1, 1)),
                          ("ss", ("a", "b")), ("su", ("a", 1)), ("us", (1, "a")), ("uu", (1, 2)),
                          ("sa{sv}", ("a", 0)), ("aya{sv}", ("00", 0)), ("a(sau)", (1, "sha256", 1, 7))):
            with self.subTest(signature=sig):
                self.assertInvalid("GetLockoutState", sig, *args)
        cases = [
            (1, "Force", "b", 1), (1, "Reset", "b", 1), (1, "", "s", ""), (1, "PIN", "s", "1234"),
            (2, "A", "u", 1, "B", "u", 2), (1, "Persist", "b", 1), (1, "Algorithm", "s", "ecc"),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("ResetLockout", "a{sv}", *args)
        for sig, args in (("", ()), ("s", ("x",)), ("u", (1,)), ("ay", ("00",)), ("sa{sv}", ("x", 0))):
            with self.subTest(signature=sig):
                self.assertInvalid("ResetLockout", sig, *args)
        self.assertAlive()

    # ---- tpctl ----------------------------------------------------------------------------------------

    def test_tpctl_ek(self):
        cert = os.path.join(TMP, "ek-rsa.der")
        out = tpctl("tpm", "ek", "--cert-out", cert).stdout
        self.assertIn("Issuer: CN=swtpm-localca", out)
        self.assertRegex(out, r"Key matches: yes")
        self.assertRegex(out, r"Chain verified: yes")
        self.assertRegex(out, r"Valid until: \d{4}-")
        with open(cert, "rb") as f:
            self.assertEqual(f.read(), get_ek("rsa")["Certificate"])
        for mode in ("short", "pretty"):
            j = json.loads(tpctl(f"--json={mode}", "tpm", "ek", "--alg", "ecc").stdout)
            self.assertEqual(bytes.fromhex(j["Certificate"]), DIRS["ecc_cert"])
            self.assertIs(j["ChainVerified"], True)
        self.assertEqual(tpctl("tpm", "ek", "--alg", "dsa", check=False).returncode, 2)
        self.assertEqual(tpctl("tpm", "ek", "--reset", check=False).returncode, 2)
        p = tpctl("tpm", "ek", "--persist", user="nobody", check=False)
        self.assertEqual(p.returncode, 4, p.stderr)

    def test_tpctl_ak(self):
        j = json.loads(tpctl("--json=short", "tpm", "ak", "create", "cli-key", "--alg", "rsa").stdout)
        self.assertEqual(j["Algorithm"], "rsa")
        p = tpctl("tpm", "ak", "create", "cli-key", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists already", p.stderr)
        pem = os.path.join(TMP, "cli-key.pem")
        out = tpctl("tpm", "ak", "show", "cli-key", "--public-out", pem).stdout
        self.assertIn(j["Name"], out)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pem, "-outform", "DER"], capture_output=True,
                             check=True).stdout
        self.assertEqual(der.hex(), j["PublicKey"])
        self.assertIn("cli-key", json.loads(tpctl("--json=pretty", "tpm", "ak", "list").stdout))
        self.assertIn("cli-key", tpctl("tpm", "ak", "list", user="nobody").stdout.split())
        self.assertEqual(tpctl("tpm", "ak", "show", "nosuch", check=False).returncode, 1)
        self.assertEqual(tpctl("tpm", "ak", "create", "bad name", check=False).returncode, 2)
        self.assertEqual(tpctl("tpm", "ak", "frobnicate", "x", check=False).returncode, 2)
        self.assertEqual(tpctl("tpm", "ak", "list", "--alg", "rsa", check=False).returncode, 2)
        self.assertEqual(tpctl("tpm", "ak", "create", "nobodys", user="nobody", check=False).returncode, 4)

    # Near the end: the certificate index is changed with the daemon stopped (swtpm serves one client).
    def test_zy_certificate_missing_or_malformed(self):
        global DAEMON
        DAEMON.__exit__(None, None, None)
        DAEMON = None
        t = STACK.tcti
        run("tpm2_nvundefine", "-T", t, "-C", "p", "0x01c0000a")
        garbage = os.path.join(TMP, "garbage.bin")
        with open(garbage, "wb") as f:
            f.write(b"\x30\x82\x01\x00" + os.urandom(40))  # a SEQUENCE header claiming more than there is
        run("tpm2_nvundefine", "-T", t, "-C", "p", "0x01c00002")
        run("tpm2_nvdefine", "-T", t, "0x01c00002", "-C", "p", "-s", 44, "-a",
            "ppwrite|ppread|ownerread|authread|no_da|platformcreate")
        run("tpm2_nvwrite", "-T", t, "0x01c00002", "-C", "p", "-i", garbage)
        start_daemon(DIRS["good"], "daemon-bad-certs")

        ecc = get_ek("ecc")
        self.assertEqual(ecc["CertificateStatus"], "missing")
        for key in ("Certificate", "KeyMatches", "ChainVerified", "Subject"):
            self.assertNotIn(key, ecc)
        self.assertEqual(len(ecc["PublicKey"]), 91)  # the EK itself is still there (P-256 SPKI)
        rsa = get_ek("rsa")
        self.assertEqual(rsa["CertificateStatus"], "malformed")
        self.assertNotIn("Certificate", rsa)
        p = tpctl("tpm", "ek", "--alg", "ecc", "--cert-out", os.path.join(TMP, "none.der"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no ecc EK certificate (missing)", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(TMP, "none.der")))
        self.assertIn("Certificate: malformed", tpctl("tpm", "ek").stdout)

        # A TPM without a usable certificate in NV: the administrator supplies one (DER or PEM), and it is
        # checked exactly like one from NV.
        n = len(DIRS["ecc_cert"])
        supplied = get_ek("ecc", 1, "Certificate", "ay", n, *DIRS["ecc_cert"])
        self.assertEqual(supplied["CertificateSource"], "supplied")
        self.assertEqual(supplied["CertificateStatus"], "present")
        self.assertIs(supplied["KeyMatches"], True)
        self.assertIs(supplied["ChainVerified"], True, supplied["ChainStatus"])
        other = get_ek("rsa", 1, "Certificate", "ay", n, *DIRS["ecc_cert"])
        self.assertIs(other["KeyMatches"], False)  # the ECC EK's certificate is not the RSA EK's
        self.assertEqual(ecc["CertificateSource"], "nv")
        pem = os.path.join(TMP, "ek-ecc.pem")
        with tempfile.NamedTemporaryFile(suffix=".der") as f:
            f.write(DIRS["ecc_cert"])
            f.flush()
            run("openssl", "x509", "-inform", "DER", "-in", f.name, "-out", pem)
        out = tpctl("tpm", "ek", "--alg", "ecc", "--certificate", pem).stdout
        self.assertIn("From: supplied", out)
        self.assertIn("Key matches: yes", out)
        p = tpctl("tpm", "ek", "--certificate", garbage, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("holds no X.509 certificate", p.stderr)
        self.assertEqual(tpctl("tpm", "ak", "list", "--certificate", pem, check=False).returncode, 2)
        self.assertAlive()

    # Last (the name sorts after every other test): a failed lockout authorization locks the lockout
    # hierarchy itself for LockoutRecovery seconds.
    def test_zz_reset_with_lockout_auth_set(self):
        global DAEMON
        DAEMON.__exit__(None, None, None)
        DAEMON = None
        run("tpm2_changeauth", "-T", STACK.tcti, "-c", "lockout", "secretlockout")
        start_daemon(DIRS["good"], "daemon-lockout-auth")
        name, message = bus_call("ResetLockout", "a{sv}", 0)
        self.assertEqual(name, "org.freedesktop.DBus.Error.AccessDenied", message)
        self.assertIn("authorization value", message)
        name, message = bus_call("ResetLockout", "a{sv}", 0)
        self.assertEqual(name, ERROR + "TPMLockout", message)
        self.assertAlive()


if __name__ == "__main__":
    tptest.main()
