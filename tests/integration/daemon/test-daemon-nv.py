#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The NV methods of trusted-platformd (NVDefine, NVWrite, NVRead, NVUndefine, ListNV) on a private system
bus with swtpm and real polkitd, and the "tpctl tpm nv" verbs over them.

Run through tests/harness/tp-run --swtpm --bus --polkit --daemon PATH (a tpharness Stack). bus-call
($TP_BUS_CALL) makes the calls whose D-Bus error name matters."""

import json
import os
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from daemontest import ERROR, TpmTestCase, bus_call, tpctl, tptest  # noqa: E402
from daemontest import tpm_call as call  # noqa: E402

INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
REFUSED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
FIRST, LAST = 0x01A50000, 0x01A500FF
OUTSIDE = [0x01C00002, 0x01C0000A, 0x01400000, 0x01800000, FIRST - 1, LAST + 1, 0x81000001, 0, 4294967295]


def listed():
    return {e[0]: (e[1], {k: v["data"] for k, v in e[2].items()}) for e in call("ListNV")[0]}


def read(index, *options):
    n, *rest = options or (0,)
    return bytes(call("NVRead", "ua{sv}", index, n, *rest)[0])


class NVTest(TpmTestCase):

    @classmethod
    def setUpClass(cls):
        call("Provision", "a{sv}", 0)

    def test_round_trip_owner(self):
        index = FIRST + 0x10
        data = os.urandom(2048)  # above swtpm's TPM_PT_NV_BUFFER_MAX: two chunks each way
        call("NVDefine", "uua{sv}", index, len(data), 0)
        self.assertEqual(listed()[index][0], len(data))
        self.assertFalse(listed()[index][1]["PIN"])
        self.assertFalse(listed()[index][1]["Written"])
        name, message = bus_call("NVRead", "ua{sv}", index, 0)
        self.assertIn("never written", message)
        self.assertIsNone(bus_call("NVWrite", "uaya{sv}", index, data.hex(), 0)[0])
        self.assertEqual(read(index), data)
        self.assertEqual(read(index, 2, "Offset", "u", 1000, "Size", "u", 100), data[1000:1100])
        self.assertIsNone(bus_call("NVWrite", "uaya{sv}", index, "ffff", 1, "Offset", "u", 2046)[0])
        self.assertEqual(read(index, 1, "Offset", "u", 2040), data[2040:2046] + b"\xff\xff")
        info = listed()[index][1]
        self.assertTrue(info["Written"])
        self.assertFalse(info["Foreign"])
        self.assertEqual(len(info["Name"]), 2 * 34)
        self.assertTrue(info["Name"].startswith("000b"))
        name, message = bus_call("NVDefine", "uua{sv}", index, 8, 0)
        self.assertEqual(name, "org.freedesktop.DBus.Error.FileExists", message)
        call("NVUndefine", "ua{sv}", index, 0)
        self.assertNotIn(index, listed())
        name, message = bus_call("NVRead", "ua{sv}", index, 0)
        self.assertEqual(name, "org.freedesktop.DBus.Error.FileNotFound", message)
        self.assertIn("not defined", message)

    def test_round_trip_pin(self):
        index = FIRST + 0x11
        call("NVDefine", "uua{sv}", index, 64, 1, "PIN", "s", "1234")
        self.assertTrue(listed()[index][1]["PIN"])
        # The PIN is needed to write, and a wrong one says how many tries remain.
        name, message = bus_call("NVWrite", "uaya{sv}", index, "00", 0)
        self.assertEqual(name, ERROR + "BadPIN", message)
        self.assertIsNone(bus_call("NVWrite", "uaya{sv}", index, b"pin data".hex(), 1, "PIN", "s", "1234")[0])
        self.assertEqual(read(index, 2, "PIN", "s", "1234", "Size", "u", 8), b"pin data")
        name, message = bus_call("NVRead", "ua{sv}", index, 1, "PIN", "s", "9999")
        self.assertEqual(name, ERROR + "BadPIN", message)
        self.assertRegex(message, r"wrong PIN, \d+ (try|tries) left")
        # Reading with the PIN needs no polkit authorization: nobody may, with the right PIN.
        name, message = bus_call("NVRead", "ua{sv}", index, 1, "PIN", "s", "1234", user="nobody")
        self.assertIsNone(name, message)
        call("NVUndefine", "ua{sv}", index, 0)

    def test_refused_for_nobody(self):
        index = FIRST + 0x12
        name, message = bus_call("NVDefine", "uua{sv}", index, 16, 0, user="nobody")
        self.assertIn(name, REFUSED, message)
        self.assertNotIn(index, listed())
        call("NVDefine", "uua{sv}", index, 16, 0)
        call("NVWrite", "uaya{sv}", index, 16, *range(16), 0)
        for method, signature, args in (("NVWrite", "uaya{sv}", (index, "ff", 0)),
                                        ("NVWrite", "uaya{sv}", (index, "ff", 1, "PIN", "s", "x")),
                                        ("NVRead", "ua{sv}", (index, 0)),
                                        ("NVUndefine", "ua{sv}", (index, 0))):
            with self.subTest(method=method, args=args):
                name, message = bus_call(method, signature, *args, user="nobody")
                self.assertIn(name, REFUSED, message)
        # A PIN is no way around the owner: an owner index with any PIN is refused, before the TPM is asked.
        name, message = bus_call("NVRead", "ua{sv}", index, 1, "PIN", "s", "guess", user="nobody")
        self.assertEqual(name, INVALID, message)
        self.assertIn("has no PIN", message)
        self.assertEqual(read(index), bytes(range(16)))
        # Listing shows public areas only: open.
        self.assertIsNone(bus_call("ListNV", "", user="nobody")[0])
        call("NVUndefine", "ua{sv}", index, 0)
        self.assertAlive()

    def test_nvdefine_malformed(self):
        cases = [(i, 8, 0) for i in OUTSIDE] + [
            (FIRST, 0, 0),
            (FIRST, 65536, 0),
            (FIRST, 4294967295, 0),
            (FIRST, 8, 1, "PIN", "s", ""),
            (FIRST, 8, 1, "PIN", "u", 1),
            (FIRST, 8, 1, "PIN", "s", "x" * 1025),
            (FIRST, 8, 2, "PIN", "s", "1", "PIN", "s", "2"),
            (FIRST, 8, 1, "Pin", "s", "1"),
            (FIRST, 8, 1, "Offset", "u", 0),
            (FIRST, 8, 1, "Size", "u", 8),
            (FIRST, 60000, 0),  # beyond the TPM's limit: the library's refusal, still InvalidArgs
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("NVDefine", "uua{sv}", *args)
        self.assertEqual(listed(), {})
        self.assertAlive()

    def test_nvwrite_malformed(self):
        index = FIRST + 0x20
        call("NVDefine", "uua{sv}", index, 32, 0)
        cases = [(i, "00", 0) for i in OUTSIDE] + [
            (index, "", 0),
            (index, "zeros:65536", 0),
            (index, "00", 1, "Offset", "u", 65535),
            (index, "00", 1, "Offset", "u", 4294967295),
            (index, "00", 1, "Offset", "s", "0"),
            (index, "00", 1, "Size", "u", 1),
            (index, "00", 2, "Offset", "u", 0, "Offset", "u", 1),
            (index, "00", 1, "PIN", "s", ""),
            (index, "00" * 33, 0),                       # larger than the index
            (index, "00" * 2, 1, "Offset", "u", 31),     # beyond its end
            (index, "00", 1, "PIN", "s", "1"),           # owner index: no PIN
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("NVWrite", "uaya{sv}", *args)
        self.assertNotIn(index, [i for i, (_, p) in listed().items() if p["Written"]])
        call("NVUndefine", "ua{sv}", index, 0)
        self.assertAlive()

    def test_nvread_malformed(self):
        index = FIRST + 0x21
        call("NVDefine", "uua{sv}", index, 32, 0)
        call("NVWrite", "uaya{sv}", index, 1, 7, 0)
        cases = [(i, 0) for i in OUTSIDE] + [
            (index, 1, "Size", "u", 0),
            (index, 1, "Size", "u", 65536),
            (index, 1, "Offset", "u", 65535),
            (index, 1, "Offset", "u", 4294967295),
            (index, 1, "Size", "s", "1"),
            (index, 1, "Data", "u", 1),
            (index, 2, "Size", "u", 1, "Size", "u", 2),
            (index, 1, "PIN", "u", 1),
            (index, 1, "Size", "u", 33),                     # beyond the index
            (index, 2, "Offset", "u", 32, "Size", "u", 1),   # at its end
            (index, 1, "Offset", "u", 40),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("NVRead", "ua{sv}", *args)
        call("NVUndefine", "ua{sv}", index, 0)
        self.assertAlive()

    def test_nvundefine_malformed(self):
        index = FIRST + 0x22
        call("NVDefine", "uua{sv}", index, 8, 0)
        cases = [(i, 0) for i in OUTSIDE] + [
            (index, 1, "Force", "b", 1),
            (index, 1, "PIN", "s", "1"),
            (index, 1, "Offset", "u", 0),
            (index, 1, "", "s", ""),
        ]
        for i, args in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("NVUndefine", "ua{sv}", *args)
        self.assertIn(index, listed())
        call("NVUndefine", "ua{sv}", index, 0)
        self.assertAlive()

    def test_listnv_malformed(self):
        # No arguments at all: sd-bus itself refuses any other signature.
        cases = [("u", 1), ("s", "x"), ("ay", "00"), ("a{sv}", 0), ("uu", 1, 2), ("u", FIRST),
                 ("au", 1, 1), ("a(sau)", 0), ("ua{sv}", FIRST, 0), ("su", "x", 1), ("ss", "a", "b"), ("ay", "zeros:4096")]
        for i, (signature, *args) in enumerate(cases):
            with self.subTest(case=i):
                self.assertInvalid("ListNV", signature, *args)
        self.assertAlive()

    # ---- tpctl -----------------------------------------------------------------------------------------

    def test_tpctl_round_trip(self):
        d = tempfile.mkdtemp()
        src, out = os.path.join(d, "in"), os.path.join(d, "out")
        data = os.urandom(1500)
        with open(src, "wb") as f:
            f.write(data)
        tpctl("tpm", "nv", "define", "0x01a50030", "1500")
        tpctl("tpm", "nv", "write", "0x01A50030", src)
        self.assertEqual(tpctl("tpm", "nv", "read", str(FIRST + 0x30)).stdout, data)
        tpctl("tpm", "nv", "read", "--offset", "100", "--size", "50", "0x01a50030", out)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data[100:150])
        tpctl("tpm", "nv", "write", "--offset=1498", "0x01a50030", "-", input=b"zz")
        self.assertEqual(read(FIRST + 0x30)[-3:], data[1497:1498] + b"zz")

        entries = json.loads(tpctl("--json=short", "tpm", "nv", "list").stdout)
        entry = [e for e in entries if e["Index"] == FIRST + 0x30][0]
        self.assertEqual(entry["Size"], 1500)
        self.assertTrue(entry["Written"])
        self.assertFalse(entry["PIN"])
        table = tpctl("tpm", "nv", "list").stdout.decode()
        self.assertRegex(table, r"0x01a50030 +1500 +owner +yes +000b")

        tpctl("tpm", "nv", "undefine", "0x01a50030")
        p = tpctl("tpm", "nv", "read", "0x01a50030", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not defined", p.stderr.decode())

    def test_tpctl_pin(self):
        pin = {"TPCTL_PIN": "2468"}
        tpctl("tpm", "nv", "define", "--pin", "0x01a50031", "16", env=pin)
        tpctl("tpm", "nv", "write", "--pin", "0x01a50031", input=b"sixteen bytes!!!", env=pin)
        self.assertEqual(tpctl("tpm", "nv", "read", "--pin", "0x01a50031", env=pin).stdout, b"sixteen bytes!!!")
        table = tpctl("tpm", "nv", "list").stdout.decode()
        self.assertRegex(table, r"0x01a50031 +16 +pin +yes")
        p = tpctl("tpm", "nv", "read", "0x01a50031", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("protected by a PIN", p.stderr.decode())
        tpctl("tpm", "nv", "undefine", "0x01a50031")

    def test_tpctl_usage(self):
        for args in (["define", "0x01c00002", "16"], ["define", "0x01a50000", "0"], ["define", "x", "1"],
                     ["define", "0x01a50000", "65536"], ["define", "0x01a50000"], ["write"],
                     ["read", "0x01a50000", "--size", "0"], ["read", "0x01a50000", "--offset", "-1"],
                     ["undefine", "0x01a50000", "extra"], ["list", "--pin"], ["bogus"], [],
                     ["undefine", "0x1a50000g"]):
            with self.subTest(args=args):
                p = tpctl("tpm", "nv", *args, input=b"x", check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--offset", tpctl("tpm", "nv", "read", "--help").stdout.decode())

    # Last by name: every index the tests defined is gone again.
    def test_zz_nothing_left(self):
        self.assertEqual(listed(), {})
        self.assertEqual(tpctl("--json=short", "tpm", "nv", "list").stdout.strip(), b"[]")


if __name__ == "__main__":
    tptest.main()
