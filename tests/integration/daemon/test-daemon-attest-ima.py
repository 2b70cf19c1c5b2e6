#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Re-attestation when the IMA log grows, and an attestation that never blocks the bus (issue 7 item 2).

The daemon reads an ASCII IMA log the test writes ($TRUSTED_PLATFORM_IMA_LOG, a plain file: its size is
the growth signal) against a policy with an IMA allow-list; every entry the test appends is also
extended into PCR 10 of swtpm (tpctl tpm extend: the sha256 of the template data, the kernel's per-bank
rule), so the log replays to the quote. [Attestation] Interval=0: every attestation the test sees comes
from the IMA watch (ImaWatchInterval=1) or from an Attest() call of its own.

An allowed entry -> LastAttestation advances without Attest(), still trusted; an entry not in the
allow-list -> untrusted with a reason naming the file, seen as PropertiesChanged by a bus client; a log
left alone -> no attestation; growth while an attestation hangs (swtpm stopped with SIGSTOP) -> exactly
one more after it; meanwhile Ping, Get(TrustState) and other clients are answered at once, and a pending
Attest() completes after SIGCONT; a log growing all the time gives about one attestation per interval;
the kernel's count file beside the log is used instead of the size when it exists; a 100000-entry log
(1-10 s to check) does not delay any bus answer; a policy without IMA rules and without PCR 10 stops the
watch."""

import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemontest  # noqa: E402
from daemontest import MANAGER, NAME, PATH, busctl, tpctl  # noqa: E402
import tptest  # noqa: E402

WATCH = 1  # seconds: [Attestation] ImaWatchInterval= of the daemon under test
SETTLE = 3 * WATCH + 5  # how long a change may take to be noticed (sanitizer builds are slow)
ALLOWED = ["/usr/bin/true", "/usr/bin/false", "/usr/lib/libc.so.6", "/usr/bin/env", "/usr/bin/cat",
           "/usr/bin/ls", "/usr/bin/sh", "/usr/bin/sleep"]
GROWTH = re.compile(r"The IMA log (\S+) (grew|changed) from (\d+) (?:(entries|bytes) )?to (\d+) (entries|bytes)")


def file_digest(path):
    return hashlib.sha256(("contents of " + path).encode()).digest()


def template_data(path):
    """ima-ng: d-ng ("sha256:\\0" + digest) and n-ng (the name with its NUL), each u32-length prefixed."""
    d = b"sha256:\0" + file_digest(path)
    n = path.encode() + b"\0"
    return struct.pack("<I", len(d)) + d + struct.pack("<I", len(n)) + n


def ascii_line(path):
    data = template_data(path)
    return f"10 {hashlib.sha1(data).hexdigest()} ima-ng sha256:{file_digest(path).hex()} {path}\n"


def prop(name):
    return json.loads(busctl("get-property", NAME, PATH, MANAGER, name).stdout)["data"]


def wait_for(what, condition, timeout=SETTLE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class ImaWatchTest(daemontest.DaemonClassTest):
    @classmethod
    def prepare(cls):
        ima_dir = os.path.join(cls.stack.dir, "ima")
        os.makedirs(ima_dir)
        cls.log = os.path.join(ima_dir, "ascii_runtime_measurements")
        cls.count_file = os.path.join(ima_dir, "runtime_measurements_count")
        cls.n_entries = 0
        open(cls.log, "w").close()
        cls.policy = os.path.join(cls.stack.dir, "policy.json")
        cls.write_policy({"version": 1,
                          "ima": {"allow": {p: ["sha256:" + file_digest(p).hex()] for p in ALLOWED}}})
        # The first entry is there before the daemon starts.
        cls.append(ALLOWED[0], extend=False)
        cls.stack.swtpm.extend(10, "sha256", template_data(ALLOWED[0]))

    @classmethod
    def config(cls):
        return f"[Attestation]\nPolicy={cls.policy}\nInterval=0\nImaWatchInterval={WATCH}\n"

    @classmethod
    def daemon_env(cls):
        return {"TRUSTED_PLATFORM_EVENTLOG": os.path.join(cls.stack.dir, "no-firmware-log"),
                "TRUSTED_PLATFORM_IMA_LOG": cls.log}

    @classmethod
    def tearDownClass(cls):
        os.kill(cls.stack.swtpm.pid, signal.SIGCONT)
        super().tearDownClass()

    @classmethod
    def write_policy(cls, policy):
        with open(cls.policy + ".tmp", "w") as f:
            json.dump(policy, f)
        os.rename(cls.policy + ".tmp", cls.policy)

    @classmethod
    def append(cls, path, extend=True, count=False):
        """One measurement as the kernel makes it: the log entry, then PCR 10."""
        with open(cls.log, "a") as f:
            f.write(ascii_line(path))
        cls.n_entries += 1
        if count:
            with open(cls.count_file + ".tmp", "w") as f:
                f.write(f"{cls.n_entries}\n")
            os.rename(cls.count_file + ".tmp", cls.count_file)
        if extend:
            tpctl("tpm", "extend", "10", input=template_data(path))

    def growths(self):
        """The daemon's "IMA log grew" lines so far, as (kind, old, old unit, new, unit)."""
        with open(self.daemon.log_path, errors="replace") as f:
            return [m.group(2, 3, 4, 5, 6) for m in GROWTH.finditer(f.read())]

    def barrier(self):
        """Waits until no attestation runs: an Attest() made while one runs gets the next one."""
        busctl("call", NAME, PATH, MANAGER, "Attest", "a{sv}", "0")

    def assertQuiet(self, seconds):
        """No attestation for seconds: LastAttestation and the daemon's log stay as they are."""
        last, n = prop("LastAttestation"), len(self.growths())
        time.sleep(seconds)
        self.assertEqual(prop("LastAttestation"), last)
        self.assertEqual(len(self.growths()), n, self.growths())

    def test_1_start_trusted(self):
        wait_for("the first attestation", lambda: prop("LastAttestation") != 0)
        self.assertEqual(prop("TrustState"), "trusted", prop("TrustReasons"))
        self.assertEqual(prop("TrustReasons"), [])

    def test_2_allowed_entry_reattests(self):
        last, n = prop("LastAttestation"), len(self.growths())
        size = os.path.getsize(self.log)
        start = time.monotonic()
        self.append(ALLOWED[1])
        wait_for("an attestation after the log grew", lambda: prop("LastAttestation") > last)
        print(f"# noticed after {time.monotonic() - start:.2f}s", flush=True)
        self.assertEqual(prop("TrustState"), "trusted", prop("TrustReasons"))
        growths = self.growths()[n:]
        self.assertEqual(len(growths), 1, growths)
        self.assertEqual(growths[0], ("grew", str(size), None, str(os.path.getsize(self.log)), "bytes"))

    def test_3_entry_not_allowed_is_untrusted(self):
        monitor = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", NAME, "--object-path", PATH],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            time.sleep(0.5)  # the monitor's match is in place
            self.append("/tmp/evil")
            wait_for("untrusted", lambda: prop("TrustState") == "untrusted")
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out, _ = monitor.communicate(timeout=10)
        changed = [line for line in out.splitlines() if "PropertiesChanged" in line and MANAGER in line]
        self.assertTrue(any("'TrustState': <'untrusted'>" in line for line in changed), out[-2000:])
        reasons = prop("TrustReasons")
        print("# untrusted reasons:", reasons, flush=True)
        self.assertTrue(any(r.startswith("ima.allow: /tmp/evil is not in the allow-list") for r in reasons),
                        reasons)
        self.assertFalse(any("replay" in r for r in reasons), reasons)

    def test_4_untouched_log_no_attestation(self):
        self.assertQuiet(4 * WATCH + 1)

    def test_5_growth_during_an_attestation_gives_one_more(self):
        swtpm = self.stack.swtpm.pid
        n = len(self.growths())
        os.kill(swtpm, signal.SIGSTOP)
        try:
            self.append(ALLOWED[2], extend=False)
            wait_for("the watch to notice", lambda: len(self.growths()) == n + 1)
            last = prop("LastAttestation")
            # The attestation hangs in the quote; the log keeps growing over several polls.
            for p in ALLOWED[3:5]:
                time.sleep(1.5 * WATCH)
                self.append(p, extend=False)
            time.sleep(1.5 * WATCH)
            self.assertEqual(len(self.growths()), n + 1, self.growths())
            self.assertEqual(prop("LastAttestation"), last)
        finally:
            os.kill(swtpm, signal.SIGCONT)
            resumed = time.monotonic()
        wait_for("the attestation after it", lambda: len(self.growths()) == n + 2)
        # Not at once: the attestation the growth starts waits an interval after the end of the last one
        # it started (which took longer than the interval here).
        delay = time.monotonic() - resumed
        growths = self.growths()[n:]
        print(f"# growths: {growths}, the second {delay:.2f}s after SIGCONT", flush=True)
        self.assertGreaterEqual(delay, 0.9 * WATCH)
        self.assertEqual(growths[1][3], str(os.path.getsize(self.log)), growths)
        self.assertEqual(int(growths[1][1]), int(growths[0][3]), growths)
        self.barrier()  # the second one is over too
        # The PCR catches up with the log (the kernel would have extended it at once).
        for p in ALLOWED[2:5]:
            tpctl("tpm", "extend", "10", input=template_data(p))
        self.assertQuiet(3 * WATCH + 1)
        self.assertEqual(len(self.growths()), n + 2, self.growths())

    def test_5b_continuous_growth_is_rate_limited(self):
        # An entry every 0.1 s for 6 s: about one attestation per interval, never one per entry.
        n, seconds = len(self.growths()), 6
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            self.append(ALLOWED[i % 2])
            i += 1
            time.sleep(0.1)
        time.sleep(2 * WATCH + 1)  # the one after the last entry
        count = len(self.growths()) - n
        print(f"# {i} entries in {seconds}s: {count} attestations", flush=True)
        self.assertLessEqual(count, seconds / WATCH + 2)
        self.assertGreaterEqual(count, seconds / WATCH / 2)
        self.assertEqual(prop("TrustState"), "untrusted")

    def test_6_attestation_never_blocks_the_bus(self):
        swtpm = self.stack.swtpm.pid
        os.kill(swtpm, signal.SIGSTOP)
        try:
            caller = subprocess.Popen(["busctl", "--system", "--json=short", "--timeout=120", "call", NAME, PATH,
                                       MANAGER, "Attest", "a{sv}", "0"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)  # the call is in and its quote hangs
            self.assertIsNone(caller.poll(), "Attest() returned with the TPM stopped")
            second = subprocess.Popen(["busctl", "--system", "--json=short", "--timeout=120", "call", NAME, PATH,
                                       MANAGER, "Attest", "a{sv}", "0"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            worst = 0
            for _ in range(5):
                for args in (("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping"),
                             ("get-property", NAME, PATH, MANAGER, "TrustState"),
                             ("get-property", NAME, PATH, MANAGER, "LastAttestation"),
                             ("call", NAME, PATH, "org.freedesktop.DBus.Properties", "GetAll", "s", MANAGER)):
                    start = time.monotonic()
                    busctl(*args, "--timeout=1")
                    worst = max(worst, time.monotonic() - start)
                time.sleep(0.2)
            print(f"# slowest answer while the TPM is stopped: {worst * 1000:.0f} ms", flush=True)
            self.assertLess(worst, 1.0)
            self.assertEqual(prop("TrustState"), "untrusted")
            self.assertIsNone(caller.poll())
            self.assertIsNone(second.poll())
        finally:
            os.kill(swtpm, signal.SIGCONT)
        for p in (caller, second):
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
            state, reasons = json.loads(out)["data"]
            self.assertEqual(state, "untrusted")
            self.assertTrue(any("/tmp/evil" in r for r in reasons), reasons)
        daemontest.daemon_alive(self, self.daemon)

    def test_7_count_file_beside_the_log(self):
        # The kernel's entry count appears: the measure changes from bytes to entries, once.
        n = len(self.growths())
        with open(self.count_file, "w") as f:
            f.write(f"{self.n_entries}\n")
        wait_for("the change of measure", lambda: len(self.growths()) == n + 1)
        self.assertEqual(self.growths()[n][0:3], ("changed", str(os.path.getsize(self.log)), "bytes"))
        self.assertEqual(self.growths()[n][3:], (str(self.n_entries), "entries"))
        self.barrier()
        # Only the count matters now: a longer file with the same count is not looked at.
        with open(self.log, "a") as f:
            f.write(ascii_line(ALLOWED[5]))
        self.assertQuiet(3 * WATCH + 1)
        # The count grows (the kernel counts the entry just written too).
        type(self).n_entries += 1
        tpctl("tpm", "extend", "10", input=template_data(ALLOWED[5]))
        last = prop("LastAttestation")
        self.append(ALLOWED[6], count=True)
        wait_for("the count to be noticed", lambda: len(self.growths()) == n + 2)
        self.assertEqual(self.growths()[n + 1], ("grew", str(self.n_entries - 2), None, str(self.n_entries),
                                                 "entries"))
        wait_for("LastAttestation", lambda: prop("LastAttestation") > last)
        self.assertEqual(prop("TrustState"), "untrusted")

    def test_7b_a_long_log_does_not_block_the_bus(self):
        # 100000 more entries (12 MB, a server that has run for a while): parsing them takes a second or
        # more, on the TPM worker's thread, not on the event loop that answers the bus.
        self.barrier()
        last = prop("LastAttestation")
        line = ascii_line(ALLOWED[3])
        with open(self.log, "a") as f:
            f.write(line * 100000)
        type(self).n_entries += 100000
        with open(self.count_file + ".tmp", "w") as f:
            f.write(f"{self.n_entries}\n")
        os.rename(self.count_file + ".tmp", self.count_file)
        start, times, now = time.monotonic(), [], last
        while now == last and time.monotonic() < start + 120:
            # Every call is timed, the read of LastAttestation too.
            t = time.monotonic()
            busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping", "--timeout=5")
            times.append(time.monotonic() - t)
            t = time.monotonic()
            now = prop("LastAttestation")
            times.append(time.monotonic() - t)
        took, worst = time.monotonic() - start, max(times)
        print(f"# attestation with a 100000-entry log: {took:.2f}s, {len(times)} answers, slowest "
              f"{worst * 1000:.0f} ms", flush=True)
        self.assertNotEqual(prop("LastAttestation"), last)
        self.assertLess(worst, 0.5)
        self.assertEqual(prop("TrustState"), "untrusted")

    def test_8_policy_without_ima_stops_the_watch(self):
        # No boot was simulated: PCR 0 is still zero.
        self.write_policy({"version": 1, "pcrs": {"sha256": {"0": "00" * 32}}})
        state, reasons = json.loads(busctl("call", NAME, PATH, MANAGER, "Attest", "a{sv}", "0").stdout)["data"]
        self.assertEqual((state, reasons), ("trusted", []))
        self.append(ALLOWED[7], count=True)
        self.assertQuiet(3 * WATCH + 1)
        self.assertEqual(prop("TrustState"), "trusted")


if __name__ == "__main__":
    tptest.main()
