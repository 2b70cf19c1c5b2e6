#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tp-simulate-boot against a fresh swtpm per fixture: after the simulated boot the TPM's PCRs are
what the tool says it replayed, for every bank the log and the TPM share, and the replay agrees with
tpm2-tools' own (tpm2_eventlog's "pcrs:" section), a third implementation. Logs it cannot simulate
are refused with exit status 2."""

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

FIXTURES = os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "fixtures", "eventlogs")
TOOL = os.path.join(HARNESS, "tp-simulate-boot")
# Every fixture that is a whole, well-formed log.
LOGS = ["event.bin", "event-uefivar.bin", "event-uefiaction.bin", "event-uefiservices.bin",
        "event-uefi-sha1-log.bin", "event-bootorder.bin", "event-postcode.bin", "event-arch-linux.bin"]


def tpm2_eventlog_pcrs(path):
    """{bank: {pcr: hex}} from tpm2_eventlog's summary (crypto-agile logs only: its legacy-format
    output is not YAML)."""
    out = subprocess.run(["tpm2_eventlog", path], capture_output=True, text=True, check=True).stdout
    pcrs, bank, inside = {}, None, False
    for line in out.splitlines():
        if line.startswith("pcrs:"):
            inside = True
        elif inside and line.startswith("  ") and not line.startswith("    "):
            bank = line.strip().rstrip(":")
            pcrs[bank] = {}
        elif inside and line.startswith("    "):
            k, _, v = line.partition(":")
            pcrs[bank][k.strip()] = v.strip().removeprefix("0x")
    return pcrs


def pcrread(tcti, bank, indexes, directory):
    """The TPM's values, as raw bytes from tpm2_pcrread -o (its YAML is not what we compare)."""
    path = os.path.join(directory, "pcrs.bin")
    subprocess.run(["tpm2_pcrread", "-T", tcti, "-o", path, f"{bank}:{','.join(indexes)}"],
                   capture_output=True, check=True)
    with open(path, "rb") as f:
        out = f.read()
    size = len(out) // len(indexes)
    return {k: out[i * size:(i + 1) * size].hex() for i, k in enumerate(indexes)}


class SimulateBootTest(unittest.TestCase):
    def check_log(self, name):
        path = os.path.join(FIXTURES, name)
        with tpharness.Swtpm() as tpm:
            p = subprocess.run([TOOL, "--tcti", tpm.tcti, "--json", path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            # Some small fixtures declare banks in the Spec ID event that no event carries.
            replayed = {bank: pcrs for bank, pcrs in json.loads(p.stdout)["banks"].items() if pcrs}
            self.assertTrue(replayed, "nothing was extended")
            for bank, pcrs in replayed.items():
                self.assertEqual(pcrread(tpm.tcti, bank, list(pcrs), tpm.dir), pcrs, f"{name}: {bank}")
            if name != "event-uefi-sha1-log.bin":
                self.assertEqual(tpm2_eventlog_pcrs(path), replayed, name)

    def test_fixtures(self):
        for name in LOGS:
            with self.subTest(log=name):
                self.check_log(name)

    def test_truncated_log_refused(self):
        with open(os.path.join(FIXTURES, "event-arch-linux.bin"), "rb") as f:
            blob = f.read()
        with tempfile.NamedTemporaryFile(suffix=".bin") as cut:
            cut.write(blob[:1000])  # inside an event
            cut.flush()
            p = subprocess.run([TOOL, "--dry-run", cut.name], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("truncated", p.stderr)

    def test_startup_locality_refused(self):
        # event.bin with a StartupLocality(3) event appended: PCR 0 cannot be reproduced at locality 0.
        with open(os.path.join(FIXTURES, "event.bin"), "rb") as f:
            blob = f.read()
        data = b"StartupLocality\0" + bytes([3])
        blob += (0).to_bytes(4, "little") + (3).to_bytes(4, "little") + (0).to_bytes(4, "little")
        blob += len(data).to_bytes(4, "little") + data
        tmp = os.path.join(tpharness.tempfile.mkdtemp(prefix="tp-simboot-"), "log.bin")
        with open(tmp, "wb") as f:
            f.write(blob)
        p = subprocess.run([TOOL, "--tcti", "swtpm:path=/nonexistent", tmp], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("locality 3", p.stderr)
        p = subprocess.run([TOOL, "--dry-run", "--json", tmp], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(json.loads(p.stdout)["banks"]["sha256"]["0"] != "00" * 32)


if __name__ == "__main__":
    tptest.main()
