#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""trusted-platformd on a private system bus with swtpm and real polkitd.

Run through tests/harness/tp-run --swtpm --bus --polkit --daemon PATH, which exports
DBUS_SYSTEM_BUS_ADDRESS, TRUSTED_PLATFORM_STATE_DIR and TP_DAEMON_PID. Every call goes through busctl or
tpctl, as a user would make it."""

import json
import os
import stat
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402

NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
MANAGER = NAME + ".Manager"
TPM = NAME + ".TPM"
TPCTL = os.path.join(os.environ["PROJECT_BUILD_ROOT"], "src", "tpctl", "tpctl")
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def busctl(*args, user=None, check=True):
    cmd = (AS_NOBODY if user == "nobody" else []) + ["busctl", "--system", "--json=short"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def call(interface, method, signature="", *args, user=None, check=True):
    p = busctl("call", NAME, PATH, interface, method, signature, *map(str, args), user=user, check=check)
    return json.loads(p.stdout)["data"] if p.returncode == 0 and p.stdout else p


def unwrap(a_sv):
    """busctl prints a{sv} as {key: {"type": t, "data": v}}."""
    return {k: v["data"] for k, v in a_sv.items()}


def tpctl(*args, user=None, check=True):
    cmd = (AS_NOBODY if user == "nobody" else []) + [TPCTL, "--no-pager"] + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode().strip()}")
    return p


def interfaces_from_xml(text):
    """{interface: sorted list of (kind, name, args/type, access)} from introspection XML, ignoring
    annotations and argument names' absence in signals, so that only the contract is compared."""
    result = {}
    for iface in ET.fromstring(text).iter("interface"):
        members = []
        for m in iface:
            if m.tag == "method":
                args = tuple((a.get("direction", "in"), a.get("type"), a.get("name")) for a in m.iter("arg"))
                members.append(("method", m.get("name"), args, ""))
            elif m.tag == "property":
                members.append(("property", m.get("name"), m.get("type"), m.get("access")))
            elif m.tag == "signal":
                args = tuple(a.get("type") for a in m.iter("arg"))
                members.append(("signal", m.get("name"), args, ""))
        result[iface.get("name")] = sorted(members)
    return result


class DaemonTest(unittest.TestCase):

    def assertCallFails(self, error_name, text, interface, method, signature="", *args, user=None):
        p = call(interface, method, signature, *args, user=user, check=False)
        self.assertIsInstance(p, subprocess.CompletedProcess, "call unexpectedly succeeded")
        self.assertNotEqual(p.returncode, 0)
        # busctl prints the error message, not its name; the name is checked through dbus-send below
        # where it matters. The message must say what was wrong.
        self.assertIn(text, p.stderr)
        if error_name:
            self.assertEqual(self.error_name(interface, method, signature, *args, user=user), error_name)

    def error_name(self, interface, method, signature, *args, user=None):
        """The D-Bus error name of a failing call, through dbus-send which prints it."""
        type_of = {"u": "uint32", "s": "string", "b": "boolean"}
        dargs = []
        sig = signature
        it = iter(args)
        i = 0
        while i < len(sig):
            c = sig[i]
            if c == "a" and sig[i + 1] == "u":
                n = int(next(it))
                dargs.append("array:uint32:" + ",".join(str(next(it)) for _ in range(n)))
                i += 2
                continue
            if c == "a" and sig[i:i + 5] == "a{sv}":
                n = int(next(it))
                entries = []
                for _ in range(n):
                    k, t, v = next(it), next(it), next(it)
                    entries.append(f"{k},{v}")
                dargs.append("dict:string:string:" + ",".join(entries) if entries else "dict:string:string:")
                i += 5
                continue
            dargs.append(f"{type_of[c]}:{next(it)}")
            i += 1
        cmd = (AS_NOBODY if user == "nobody" else []) + [
            "dbus-send", "--system", "--print-reply", f"--dest={NAME}", PATH, f"{interface}.{method}"] + dargs
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        # "Error org.freedesktop.DBus.Error.InvalidArgs: message"
        return p.stderr.split()[1].rstrip(":")

    def assertAlive(self):
        busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
        data = call(TPM, "GetRandom", "u", 8)
        self.assertEqual(len(data[0]), 8)

    # ---- Manager -------------------------------------------------------------------------------------

    def test_properties(self):
        p = busctl("get-property", NAME, PATH, MANAGER, "Version", "TPMPresent", "TrustState",
                   "TrustReasons", "LastAttestation", "SecureBoot")
        values = [json.loads(line)["data"] for line in p.stdout.splitlines()]
        version, present, trust, reasons, last, secure_boot = values
        self.assertRegex(version, r"^\d+\.\d+\.\d+")
        self.assertIs(present, True)
        # The start-up attestation found no policy (none is configured here): unknown, and it says so.
        self.assertEqual(trust, "unknown")
        self.assertEqual(len(reasons), 1, reasons)
        self.assertIn("no policy configured", reasons[0])
        self.assertGreater(last, 0)
        self.assertIs(secure_boot, False)  # no EFI variables on the build machine

    def test_get_status(self):
        status = unwrap(call(MANAGER, "GetStatus")[0])
        self.assertEqual(status["TPMPresent"], True)
        self.assertEqual(status["TrustState"], "unknown")
        self.assertEqual(status["TCTI"], os.environ["TRUSTED_PLATFORM_TCTI"])
        self.assertIn("SRKProvisioned", status)

    # ---- TPM -----------------------------------------------------------------------------------------

    def test_get_info(self):
        info = unwrap(call(TPM, "GetInfo")[0])
        self.assertEqual(info["Manufacturer"], "IBM")  # swtpm reports IBM's vendor ID
        self.assertIn("sha256", info["PCRBanks"])
        self.assertIn("ecc", info["Algorithms"])
        self.assertEqual(info["PCRCount"], 24)
        self.assertEqual(info["SpecLevel"], 0)
        self.assertGreaterEqual(info["SpecRevision"], 116)
        self.assertIs(info["InLockout"], False)
        self.assertGreater(info["MaxAuthFail"], 0)

    def test_get_random(self):
        for n in (1, 32, 64, 65, 4096):
            data = call(TPM, "GetRandom", "u", n)[0]
            self.assertEqual(len(data), n)
        a = call(TPM, "GetRandom", "u", 32)[0]
        b = call(TPM, "GetRandom", "u", 32)[0]
        self.assertNotEqual(a, b)

    def test_get_random_bounds(self):
        for n in (0, 4097, 0xFFFFFFFF):
            self.assertCallFails("org.freedesktop.DBus.Error.InvalidArgs", "between 1 and 4096",
                                 TPM, "GetRandom", "u", n)
        self.assertAlive()

    def test_read_pcrs(self):
        values = call(TPM, "ReadPCRs", "sau", "sha256", 0)[0]
        self.assertEqual([v[0] for v in values], list(range(24)))
        for index, digest in values:
            self.assertEqual(len(digest), 32)
        # Fresh swtpm: PCRs 0-15 are zero, 17-22 are all-ones until a dynamic launch.
        self.assertEqual(values[0][1], [0] * 32)
        self.assertEqual(values[17][1], [255] * 32)

        values = call(TPM, "ReadPCRs", "sau", "sha1", 3, 0, 7, 23)[0]
        self.assertEqual([v[0] for v in values], [0, 7, 23])
        self.assertTrue(all(len(d) == 20 for _, d in values))

    def test_read_pcrs_bad(self):
        self.assertCallFails("org.freedesktop.DBus.Error.InvalidArgs", "Unknown PCR bank 'md5'",
                             TPM, "ReadPCRs", "sau", "md5", 0)
        self.assertCallFails("org.freedesktop.DBus.Error.InvalidArgs", "PCR index 24 is out of range",
                             TPM, "ReadPCRs", "sau", "sha256", 1, 24)
        self.assertCallFails("org.freedesktop.DBus.Error.InvalidArgs", "PCR index 4294967295",
                             TPM, "ReadPCRs", "sau", "sha256", 2, 0, 0xFFFFFFFF)
        self.assertCallFails(None, "Unknown PCR bank", TPM, "ReadPCRs", "sau", "x" * 65536, 0)
        self.assertAlive()

    def test_wrong_signatures(self):
        for method, sig, args in (("GetRandom", "s", ["32"]), ("ReadPCRs", "s", ["sha256"]),
                                  ("Provision", "", []), ("GetInfo", "u", [1])):
            p = call(TPM, method, sig, *args, check=False)
            self.assertIsInstance(p, subprocess.CompletedProcess)
            self.assertNotEqual(p.returncode, 0)
        p = busctl("call", NAME, PATH, TPM, "NoSuchMethod", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Unknown method", p.stderr)
        self.assertAlive()

    # ---- Provision and polkit --------------------------------------------------------------------------

    # Named to run before test_provision_as_root (unittest sorts by name): the TPM is still fresh.
    def test_provision_0_refused_for_unprivileged(self):
        self.assertIs(unwrap(call(MANAGER, "GetStatus")[0])["SRKProvisioned"], False)
        # Without the allow-interactive-authorization flag polkit's challenge comes back as such...
        p = busctl("--allow-interactive-authorization=no", "call", NAME, PATH, TPM, "Provision", "a{sv}", "0",
                   user="nobody", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Interactive authentication required", p.stderr)
        # ...and with it, there is no agent to ask for a password, so polkit refuses.
        p = busctl("call", NAME, PATH, TPM, "Provision", "a{sv}", "0", user="nobody", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, "Access denied|Interactive authentication required")
        # No side effect before polkit's answer: no SRK, no pin.
        self.assertIs(unwrap(call(MANAGER, "GetStatus")[0])["SRKProvisioned"], False)
        self.assertFalse(os.path.exists(os.path.join(os.environ["TRUSTED_PLATFORM_STATE_DIR"], "srk.pub")))
        self.assertAlive()

    def test_provision_as_root(self):
        result = unwrap(call(TPM, "Provision", "a{sv}", 0)[0])
        self.assertEqual(result["SRKHandle"], 0x81000001)
        self.assertEqual(result["SRKAlgorithm"], "ecc")
        self.assertRegex(result["SRKName"], r"^000b[0-9a-f]{64}$")

        again = unwrap(call(TPM, "Provision", "a{sv}", 0)[0])
        self.assertIs(again["Created"], False)
        self.assertEqual(again["SRKName"], result["SRKName"])

        pin = os.path.join(os.environ["TRUSTED_PLATFORM_STATE_DIR"], "srk.pub")
        st = os.stat(pin)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(pin)).st_mode) & 0o077, 0)

        self.assertIs(unwrap(call(MANAGER, "GetStatus")[0])["SRKProvisioned"], True)

    def test_provision_unknown_option(self):
        self.assertCallFails("org.freedesktop.DBus.Error.InvalidArgs", "Unknown option 'Bogus'",
                             TPM, "Provision", "a{sv}", 1, "Bogus", "s", "x")

    # ---- LogControl1 -----------------------------------------------------------------------------------

    def test_log_control(self):
        busctl("set-property", NAME, "/org/freedesktop/LogControl1", "org.freedesktop.LogControl1",
               "LogLevel", "s", "debug")
        p = busctl("get-property", NAME, "/org/freedesktop/LogControl1", "org.freedesktop.LogControl1",
                   "LogLevel")
        self.assertEqual(json.loads(p.stdout)["data"], "debug")
        p = busctl("set-property", NAME, "/org/freedesktop/LogControl1", "org.freedesktop.LogControl1",
                   "LogLevel", "s", "info", user="nobody", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, "Only root|Access denied")
        p = busctl("set-property", NAME, "/org/freedesktop/LogControl1", "org.freedesktop.LogControl1",
                   "LogLevel", "s", "loud", check=False)
        self.assertIn("Invalid log level 'loud'", p.stderr)
        self.assertAlive()

    # ---- Introspection matches the shipped interface XML ----------------------------------------------

    def test_introspection_matches_xml(self):
        xml_path = os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "dbus", NAME + ".xml")
        shipped = interfaces_from_xml(open(xml_path).read())
        p = subprocess.run(["busctl", "--system", "--xml-interface", "introspect", NAME, PATH],
                           capture_output=True, text=True, check=True)
        live = interfaces_from_xml(p.stdout)
        for iface in (MANAGER, TPM):
            self.assertEqual(live[iface], shipped[iface], iface)

    # ---- tpctl against the daemon ----------------------------------------------------------------------

    def test_tpctl_status_json_matches_daemon(self):
        out = json.loads(tpctl("--json=short", "status").stdout)
        status = unwrap(call(MANAGER, "GetStatus")[0])
        for key in ("Version", "TPMPresent", "TrustState", "TCTI"):
            self.assertEqual(out[key], status[key], key)

    def test_tpctl_info_json_matches_daemon(self):
        out = json.loads(tpctl("--json=short", "tpm", "info").stdout)
        info = unwrap(call(TPM, "GetInfo")[0])
        for key, value in info.items():
            self.assertEqual(out[key], value, key)

    def test_tpctl_info_table(self):
        out = tpctl("tpm", "info").stdout.decode()
        self.assertIn("IBM", out)
        self.assertIn("sha256", out)

    def test_tpctl_pcrs_match_daemon(self):
        out = json.loads(tpctl("--json=short", "tpm", "pcrs", "--bank", "sha1", "0-3,16").stdout)
        values = call(TPM, "ReadPCRs", "sau", "sha1", 5, 0, 1, 2, 3, 16)[0]
        flat = json.dumps(out)
        for index, digest in values:
            self.assertIn(bytes(digest).hex(), flat)
        table = tpctl("tpm", "pcrs", "--bank", "sha1", "16").stdout.decode()
        self.assertIn("0" * 40, table)

    def test_tpctl_random(self):
        raw = tpctl("tpm", "random", "48").stdout
        self.assertEqual(len(raw), 48)
        hexed = tpctl("tpm", "random", "16", "--hex").stdout.decode().strip()
        self.assertRegex(hexed, r"^[0-9a-f]{32}$")
        p = tpctl("tpm", "random", "0", check=False)
        self.assertEqual(p.returncode, 2)

    def test_tpctl_provision_denied_exit_code(self):
        p = tpctl("tpm", "provision", user="nobody", check=False)
        self.assertEqual(p.returncode, 4, p.stderr)


if __name__ == "__main__":
    tptest.main()
