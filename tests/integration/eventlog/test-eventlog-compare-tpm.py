#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tpctl eventlog replay --compare-tpm against a TPM that booted the log: tests/harness/tp-simulate-boot
extends a real machine's firmware log into a fresh swtpm (before trusted-platformd starts, so nothing
else touches the PCRs), then tpctl must find every PCR matching, through the daemon, and against a
quote of the same PCRs. After one more measurement into PCR 4 exactly that PCR (in exactly that bank)
must be reported, with the last event of the log for it, and the exit status must be 1. tpctl ima replay
--compare-tpm checks boot_aggregate against the TPM the same way."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HARNESS = os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness")
sys.path.insert(0, HARNESS)
import tpharness  # noqa: E402
import tptest  # noqa: E402

TOP = os.environ["PROJECT_SOURCE_ROOT"]
BUILD = os.environ["PROJECT_BUILD_ROOT"]
TPCTL = os.path.join(BUILD, "src", "tpctl", "tpctl")
DAEMON = os.path.join(BUILD, "src", "daemon", "trusted-platformd")
SIMULATE = os.path.join(HARNESS, "tp-simulate-boot")
FIXTURES = os.path.join(TOP, "tests", "fixtures", "eventlogs")
IMA = os.path.join(TOP, "tests", "fixtures", "imalogs")


def tpctl(*args, input=None):
    env = dict(os.environ, TRUSTED_PLATFORM_LOG_LEVEL="info", LC_ALL="C")
    env.pop("TRUSTED_PLATFORM_EVENTLOG", None)
    return subprocess.run([TPCTL, "--no-pager", *args], input=input, capture_output=True, timeout=120, env=env)


class Booted:
    """swtpm that booted log, the bus, polkitd and the daemon started after the simulated boot."""

    def __init__(self, log):
        self.log = log

    def __enter__(self):
        self.stack = tpharness.Stack(swtpm=True, bus=True, polkit=True)
        self.stack.__enter__()
        try:
            p = subprocess.run([sys.executable, SIMULATE, "--tcti", self.stack.tcti, "--json", self.log],
                               capture_output=True, text=True, timeout=300)
            if p.returncode != 0:
                raise AssertionError(f"tp-simulate-boot failed: {p.stderr}")
            self.replayed = json.loads(p.stdout)
            directory = os.path.join(self.stack.dir, "daemon")
            os.makedirs(directory, mode=0o755, exist_ok=True)
            self.daemon = tpharness.Daemon(DAEMON, directory=directory, bus=self.stack.bus, tcti=self.stack.tcti)
            self.daemon.state_dir = self.stack.state_dir
            self.daemon.config_dir = self.stack.config_dir
            self.daemon.__enter__()
        except BaseException:
            self.stack.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.daemon.__exit__(*exc)
        finally:
            self.stack.__exit__(*exc)
        return False


class CompareTpmTest(unittest.TestCase):
    def compare(self, log, *extra):
        p = tpctl("--json=short", "eventlog", "replay", *extra, log)
        return p.returncode, json.loads(p.stdout or "{}"), p.stderr.decode()

    def check_log(self, name):
        log = os.path.join(FIXTURES, name)
        with Booted(log) as b, tempfile.TemporaryDirectory() as d:
            banks = [bank for bank, pcrs in b.replayed["banks"].items() if pcrs]

            # Everything the TPM holds matches the log.
            p = tpctl("eventlog", "replay", "--compare-tpm", log)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertIn("every PCR matches the TPM", p.stdout.decode())
            rc, j, err = self.compare(log, "--compare-tpm")
            self.assertEqual(rc, 0, err)
            self.assertTrue(j["all_match"])
            self.assertEqual({c["result"] for c in j["comparison"]}, {"match"})
            self.assertEqual({c["bank"] for c in j["comparison"]}, set(banks))
            compared = {(c["bank"], str(c["pcr"])) for c in j["comparison"]}
            for bank in banks:
                self.assertTrue({(bank, k) for k in b.replayed["banks"][bank]} <= compared, name)

            # A quote of PCRs 0-7, verified, then compared.
            nonce = "00112233445566778899aabbccddeeff"
            q = os.path.join(d, "quote")
            p = tpctl("tpm", "quote", "--nonce", nonce, "--pcrs", "0-7", "--out-dir", q)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            rc, j, err = self.compare(log, "--quote", q, "--nonce", nonce)
            self.assertEqual(rc, 0, err)
            self.assertEqual({c["result"] for c in j["comparison"]}, {"match"})
            self.assertEqual({c["pcr"] for c in j["comparison"]}, set(range(8)))
            rc, j, err = self.compare(log, "--quote", q, "--nonce", "ff" * 16)
            self.assertEqual(rc, 1)
            self.assertIn("quote is NOT valid", err)

            # One more measurement into PCR 4 (sha256): exactly that PCR of that bank differs.
            p = tpctl("tpm", "extend", "4", input=b"not in the log")
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            rc, j, err = self.compare(log, "--compare-tpm")
            self.assertEqual(rc, 1, err)
            self.assertFalse(j["all_match"])
            bad = [(c["pcr"], c["bank"]) for c in j["comparison"] if c["result"] != "match"]
            self.assertEqual(bad, [(4, "sha256")])
            c = [c for c in j["comparison"] if c["result"] != "match"][0]
            self.assertEqual(c["result"], "mismatch")
            self.assertNotEqual(c["replayed"], c["actual"])
            self.assertIsInstance(c["last_event"], int)
            self.assertTrue(c["last_event_type"].startswith("EV_"))
            self.assertRegex(err, r"PCR 4 \(sha256\) does not match the TPM")
            p = tpctl("eventlog", "replay", "--compare-tpm", log)
            self.assertEqual(p.returncode, 1)
            self.assertIn("MISMATCH", p.stdout.decode())
            self.assertIn("1 PCR value does NOT match the TPM", p.stdout.decode())
            # The other bank still matches PCR 4, and --bank= leaves it alone.
            if "sha1" in banks:
                rc, j, err = self.compare(log, "--compare-tpm", "--bank=sha1")
                self.assertEqual(rc, 0, err)
                self.assertEqual({c["bank"] for c in j["comparison"]}, {"sha1"})

    def test_real_machine_logs(self):
        for name in ("event-bootorder.bin", "event-arch-linux.bin"):
            with self.subTest(log=name):
                self.check_log(name)

    def test_ima_boot_aggregate_against_the_tpm(self):
        bios = os.path.join(IMA, "ima-evm-utils-test_binary_bios_measurements")
        ima = os.path.join(IMA, "ima-evm-utils-test_ascii_runtime_measurements")
        with Booted(bios):
            p = tpctl("--json=short", "ima", "replay", "--compare-tpm", ima)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertEqual(json.loads(p.stdout)["BootAggregate"],
                             {"Result": "match", "Variant": "pcr0-7", "Source": "tpm"})
            p = tpctl("tpm", "extend", "3", input=b"late firmware measurement")
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            p = tpctl("ima", "replay", "--compare-tpm", ima)
            self.assertEqual(p.returncode, 1)
            self.assertIn("boot_aggregate does NOT match the firmware PCRs of the TPM", p.stderr.decode())


if __name__ == "__main__":
    tptest.main()
