#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Local attestation in trusted-platformd (issue 7 item 2): a real machine's firmware log is booted into a
fresh swtpm (tests/harness/tp-simulate-boot, before the daemon takes the TPM), the daemon reads that log
($TRUSTED_PLATFORM_EVENTLOG) and a policy written from the replayed PCR values ([Attestation] Policy=).
No policy -> unknown; a malformed one -> unknown with the parser's message; the right one -> trusted; one
more measurement into a PCR of the policy -> untrusted within one timer period, seen by a bus client as
PropertiesChanged, with reasons naming the PCR and the log's last event for it; a forced empty policy
-> trusted with a reason saying it checks nothing. tpctl attest exits 0 / 1 accordingly, and malformed
Attest() calls get InvalidArgs while the daemon stays alive. An Attest() made while another attestation
runs gets the next one, which reads the policy after the call (test_4 once got the result of a timer
attestation that had read the previous policy)."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import daemontest  # noqa: E402
from daemontest import MANAGER, NAME, PATH, busctl, dbus_send, tpctl  # noqa: E402
import tptest  # noqa: E402

TOP = os.environ["PROJECT_SOURCE_ROOT"]
LOG = os.path.join(TOP, "tests", "fixtures", "eventlogs", "event-arch-linux.bin")
IMA_LOG = os.path.join(TOP, "tests", "fixtures", "imalogs", "ima-evm-utils-test_ascii_runtime_measurements")
INTERVAL = 2  # seconds: [Attestation] Interval= of the daemon under test
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"


def prop(name):
    return json.loads(busctl("get-property", NAME, PATH, MANAGER, name).stdout)["data"]


def attest():
    data = json.loads(busctl("call", NAME, PATH, MANAGER, "Attest", "a{sv}", "0").stdout)["data"]
    return data[0], data[1]


class AttestTest(daemontest.DaemonClassTest):
    @classmethod
    def prepare(cls):
        cls.replayed = daemontest.simulate_boot(cls.stack, LOG)
        cls.policy = os.path.join(cls.stack.dir, "policy.json")

    @classmethod
    def config(cls):
        return f"[Attestation]\nPolicy={cls.policy}\nInterval={INTERVAL}\n"

    @classmethod
    def daemon_env(cls):
        return {"TRUSTED_PLATFORM_EVENTLOG": LOG, "TRUSTED_PLATFORM_IMA_LOG": IMA_LOG}

    def write_policy(self, text):
        with open(self.policy + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.policy + ".tmp", self.policy)

    def good_policy(self, pcrs=range(8)):
        sha256 = self.replayed["sha256"]
        return json.dumps({"version": 1, "pcrs": {"sha256": {str(i): sha256[str(i)] for i in pcrs
                                                             if str(i) in sha256}}})

    def assertAlive(self):
        daemontest.daemon_alive(self, self.daemon)

    def test_1_no_policy_is_unknown(self):
        # The start-up attestation already ran (or runs): wait for it.
        for _ in range(100):
            if prop("LastAttestation"):
                break
            time.sleep(0.1)
        self.assertNotEqual(prop("LastAttestation"), 0)
        self.assertEqual(prop("TrustState"), "unknown")
        state, reasons = attest()
        self.assertEqual(state, "unknown")
        self.assertEqual(len(reasons), 1, reasons)
        self.assertIn("no policy configured", reasons[0])
        self.assertEqual(prop("TrustReasons"), reasons)
        p = tpctl("attest", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("unknown", p.stdout.decode())

    def test_2_malformed_policy(self):
        self.write_policy('{"version": 1, "pcrs": {"sha256": {"99": "00"}}}')
        state, reasons = attest()
        self.assertEqual(state, "unknown")
        self.assertIn("is not a valid policy", reasons[0])
        self.assertIn("pcrs.sha256", reasons[0])
        self.write_policy("not json")
        state, reasons = attest()
        self.assertEqual(state, "unknown")
        self.assertIn("is not a valid policy", reasons[0])
        # A policy that checks nothing is refused unless forced.
        self.write_policy('{"version": 1}')
        state, reasons = attest()
        self.assertEqual(state, "unknown")
        self.assertIn("is not a valid policy", reasons[0])

    def test_3_trusted_then_extended(self):
        self.write_policy(self.good_policy())
        state, reasons = attest()
        self.assertEqual((state, reasons), ("trusted", []))
        self.assertEqual(prop("TrustState"), "trusted")
        before = prop("LastAttestation")
        p = tpctl("--json=short", "attest")
        self.assertEqual(json.loads(p.stdout), {"TrustState": "trusted", "TrustReasons": []})
        self.assertGreater(prop("LastAttestation"), before)

        # A bus client watches PropertiesChanged while one more measurement goes into PCR 4; the timer
        # alone must notice it.
        monitor = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", NAME, "--object-path", PATH],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            time.sleep(0.5)  # the monitor's match is in place
            p = tpctl("tpm", "extend", "4", input=b"not in the log")
            deadline = time.monotonic() + 3 * INTERVAL + 5
            while prop("TrustState") != "untrusted" and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(prop("TrustState"), "untrusted")
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out, _ = monitor.communicate(timeout=10)
        changed = [line for line in out.splitlines() if "PropertiesChanged" in line and MANAGER in line]
        self.assertTrue(any("'TrustState': <'untrusted'>" in line for line in changed), out[-2000:])

        reasons = prop("TrustReasons")
        print("# untrusted reasons:", reasons, flush=True)
        self.assertTrue(any(r.startswith("eventlog.pcr4: PCR 4 (sha256)") and "event" in r and "EV_" in r
                            for r in reasons), reasons)
        self.assertTrue(any(r.startswith("pcrs.sha256.4:") for r in reasons), reasons)
        p = tpctl("attest", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("untrusted", p.stdout.decode())
        self.assertIn("PCR 4 (sha256)", p.stdout.decode())
        print("# " + p.stdout.decode().replace("\n", "\n# "), flush=True)
        # Without a chosen character set (LANG unset, LC_ALL=C: units, cron, ssh) the reasons' "…" is written
        # as UTF-8, not escaped as \xe2\x80\xa6 by the table code.
        for env in ({"LC_ALL": "C"}, {"LC_ALL": "POSIX"}, {"LC_ALL": "", "LC_CTYPE": "", "LANG": ""}):
            out = tpctl("attest", env=env, check=False).stdout.decode()
            self.assertIn("…", out, env)
            self.assertNotIn("\\x", out, env)

        # A policy without PCR 4 does not quote it: what the policy does not cover cannot make the
        # platform untrusted.
        self.write_policy(self.good_policy([0, 1, 2, 3, 5, 6, 7]))
        self.assertEqual(attest(), ("trusted", []))

    def test_4_forced_empty_policy(self):
        self.write_policy('{"version": 1, "force": true}')
        state, reasons = attest()
        self.assertEqual(state, "trusted")
        self.assertEqual(len(reasons), 1)
        self.assertIn("checks nothing", reasons[0])

    def test_4a_a_call_gets_an_attestation_started_after_it(self):
        # An Attest() made while another runs (the timer's, or a caller's) must not get that one's
        # result: it read the policy before the call. The first call hangs in the quote (swtpm stopped),
        # the policy changes, a second call comes: it gets the next run, with the new policy.
        self.write_policy(self.good_policy([0, 1, 2, 3, 5, 6, 7]))
        swtpm = self.stack.swtpm.pid
        os.kill(swtpm, signal.SIGSTOP)
        try:
            first = subprocess.Popen(["busctl", "--system", "--json=short", "call", NAME, PATH, MANAGER, "Attest",
                                      "a{sv}", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            self.write_policy('{"version": 1, "force": true}')
            second = subprocess.Popen(["busctl", "--system", "--json=short", "call", NAME, PATH, MANAGER, "Attest",
                                       "a{sv}", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
        finally:
            os.kill(swtpm, signal.SIGCONT)
        results = []
        for p in (first, second):
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            results.append(json.loads(out)["data"])
        self.assertEqual(results[0], ["trusted", []])
        self.assertEqual(results[1][0], "trusted")
        self.assertEqual(len(results[1][1]), 1, results[1])
        self.assertIn("checks nothing", results[1][1][0])

    def test_4b_ima_rules_need_a_matching_ima_log(self):
        # The IMA log of another machine against a PCR 10 still zero: only its empty prefix is confirmed
        # by the quote, and every entry is still held to the allow-list (never fewer checks).
        policy = json.loads(self.good_policy([0, 1, 2, 3, 5, 6, 7]))
        policy["ima"] = {"allow": {"/usr/bin/true": ["sha256:" + "00" * 32]}}
        self.write_policy(json.dumps(policy))
        state, reasons = attest()
        self.assertEqual(state, "untrusted")
        self.assertTrue(any(r.startswith("ima.allow: /init is not in the allow-list") for r in reasons), reasons)
        # Once PCR 10 holds a measurement the log does not have, no prefix of the log replays to it.
        p = tpctl("tpm", "extend", "10", input=b"not in the IMA log")
        state, reasons = attest()
        self.assertEqual(state, "untrusted")
        self.assertTrue(any(r.startswith("ima: the IMA log does not replay to the quoted PCR 10 (sha256)")
                            for r in reasons), reasons)

    def test_5_malformed_calls(self):
        method = MANAGER + ".Attest"
        cases = [(), ("string:x",), ("int32:1",), ("uint32:0",), ("boolean:true",), ("double:1.5",),
                 ("byte:1",), ("objpath:/x",), ("array:string:a",), ("array:byte:1",),
                 ("dict:string:string:a,b",), ("dict:string:int32:a,1",), ("variant:string:x",),
                 ("dict:string:string:a,b", "string:x")]
        for args in cases:
            with self.subTest(args=args):
                name, message = dbus_send(PATH, method, *args)
                self.assertEqual(name, INVALID, message)
        for opts in (["1", "unknown", "s", "x"], ["1", "", "b", "true"], ["2", "a", "u", "1", "b", "s", "x"]):
            p = busctl("call", NAME, PATH, MANAGER, "Attest", "a{sv}", *opts, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("Unknown option", p.stderr)
        self.assertAlive()

    def test_6_concurrent_callers_share_one_run(self):
        self.write_policy(self.good_policy())
        procs = [subprocess.Popen(["busctl", "--system", "--json=short", "call", NAME, PATH, MANAGER, "Attest",
                                   "a{sv}", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(8)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn(json.loads(out)["data"][0], ("trusted", "untrusted"))
        self.assertAlive()


if __name__ == "__main__":
    tptest.main()
