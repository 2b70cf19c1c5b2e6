#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The login gate end to end, as a user meets it (issue 7, "Done when"): pam_trusted_platform.so through
a real PAM stack (pam-check: pam_start_confdir() with a generated service file) asks the REAL
trusted-platformd, on swtpm that booted a real machine's firmware log (tests/harness/tp-simulate-boot),
a private system bus and polkitd.

No policy -> unknown -> refused. `tpctl policy learn` into [Attestation] Policy= -> `tpctl attest` ->
trusted -> allowed. One more measurement into a PCR the policy covers -> untrusted through the timer
alone ([Attestation] Interval=2) and through `tpctl attest` -> PAM_PERM_DENIED with a PAM_ERROR_MSG
naming the PCR; exempt_group lets root in meanwhile and mode=warn warns. The policy learned again ->
trusted -> allowed again. With the timer off, an attestation older than max_age -> refused as stale. A
measurement the firmware log does not explain (PCR 4) stays untrusted even after learning again. The
daemon stopped -> refused in enforce mode, allowed with a warning in warn mode.

PCR 11 (an OS PCR: systemd-stub measures the unified kernel image into it) stands for a legitimate
change: the firmware log has no event for it, so a new policy value accepts it. PCRs 0-9 are always
held to the firmware log by the daemon, which no policy can overrule.

With TP_PAM_VALGRIND=1 every PAM process runs under valgrind."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "integration", "daemon"))
import daemontest  # noqa: E402
import tptest  # noqa: E402
from pamcheck import LOG_WARNING, VALGRIND, PamAssertions, pam  # noqa: E402

TOP = os.environ["PROJECT_SOURCE_ROOT"]
BUILD = os.environ["PROJECT_BUILD_ROOT"]
TPCTL = os.path.join(BUILD, "src", "tpctl", "tpctl")
LOG = os.path.join(TOP, "tests", "fixtures", "eventlogs", "event-arch-linux.bin")
NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
MANAGER = NAME + ".Manager"
INTERVAL = 2  # seconds: [Attestation] Interval= of the first daemon
LEARN = ["policy", "learn", "--pcrs", "0-7,11", "--eventlog", LOG]


def tpctl(*args, input=None, check=True):
    p = subprocess.run([TPCTL, "--no-pager", *args], input=input, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"tpctl {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def prop(name):
    p = subprocess.run(["busctl", "--system", "--json=short", "get-property", NAME, PATH, MANAGER, name],
                       capture_output=True, text=True, timeout=60, check=True)
    return json.loads(p.stdout)["data"]


class PamDaemonTest(daemontest.DaemonClassTest, PamAssertions):
    interval = INTERVAL  # [Attestation] Interval= of the next daemon started

    @classmethod
    def prepare(cls):
        daemontest.simulate_boot(cls.stack, LOG)
        cls.policy = os.path.join(cls.stack.dir, "policy.json")

    @classmethod
    def config(cls):
        return f"[Attestation]\nPolicy={cls.policy}\nInterval={cls.interval}\n"

    @classmethod
    def daemon_env(cls):
        return {"TRUSTED_PLATFORM_EVENTLOG": LOG}

    @classmethod
    def start_daemon(cls, extra_env=None):
        super().start_daemon(extra_env)
        # The start-up attestation runs on its own; wait until it has a result.
        deadline = time.monotonic() + 60
        while prop("LastAttestation") == 0:
            if time.monotonic() > deadline:
                raise AssertionError("the daemon did not attest at start")
            time.sleep(0.1)

    def attest(self, expect_rc):
        p = tpctl("attest", check=False)
        self.assertEqual(p.returncode, expect_rc, p.stdout + p.stderr)
        print("# $ tpctl attest\n# " + p.stdout.rstrip("\n").replace("\n", "\n# "), flush=True)
        return p.stdout

    def learn(self):
        p = tpctl(*LEARN, self.policy)
        return p.stderr

    def extend(self, pcr, what):
        tpctl("tpm", "extend", str(pcr), input=what)

    def assertPamAllowed(self, options=""):
        self.assertAllowedQuietly(pam(self, options))

    def assertPamDenied(self, *fragments, options=""):
        r = pam(self, options)
        self.assertDenied(r, *fragments)
        print("# pam: " + r.errors[0], flush=True)
        return r

    def test_1_unknown_without_policy(self):
        self.assertEqual(prop("TrustState"), "unknown")
        self.assertIn("unknown", self.attest(1))
        self.assertPamDenied("has not been verified (policy: no policy configured (")

    def test_2_learned_policy_trusts(self):
        self.learn()
        with open(self.policy) as f:
            policy = json.load(f)
        self.assertEqual(sorted(policy["pcrs"]["sha256"], key=int), [str(i) for i in (*range(8), 11)])
        self.assertIn("Trust state: trusted", self.attest(0))
        status = tpctl("status").stdout
        self.assertIn("trusted", status)
        self.assertRegex(status, r"Remote verdict expires: *no verdict\n")
        self.assertEqual(prop("TrustReasons"), [])
        self.assertPamAllowed()
        self.assertPamAllowed("max_age=60")

    def test_3_timer_notices_a_measurement(self):
        self.assertEqual(prop("TrustState"), "trusted")
        before = prop("LastAttestation")
        self.extend(11, "a kernel image the policy has never seen")
        # No Attest() call: the timer alone must see it within a period or so.
        deadline = time.monotonic() + 3 * INTERVAL + 10
        while prop("TrustState") != "untrusted" and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(prop("TrustState"), "untrusted")
        self.assertGreater(prop("LastAttestation"), before)
        reasons = prop("TrustReasons")
        self.assertTrue(reasons and reasons[0].startswith("pcrs.sha256.11: PCR 11 (sha256) is "), reasons)
        r = self.assertPamDenied("failed its integrity check (pcrs.sha256.11: PCR 11 (sha256) is ")
        self.assertIn(reasons[0], r.errors[0])
        self.assertIn("PCR 11 (sha256)", self.attest(1))

    def test_4_exempt_group_and_warn_while_untrusted(self):
        self.assertEqual(prop("TrustState"), "untrusted")
        self.assertPamAllowed("exempt_group=root")
        self.assertPamDenied("PCR 11", options="exempt_group=nogroup")
        r = pam(self, "mode=warn")
        self.assertEqual(r.result, "PAM_SUCCESS", r.out)
        self.assertEqual(r.errors, [], r.out)
        self.assertEqual(len(r.infos), 1, r.out)
        self.assertIn("Warning: this computer failed its integrity check (pcrs.sha256.11: PCR 11", r.infos[0])
        self.assertIn("warn mode", r.logged(LOG_WARNING)[0])

    def test_5_policy_update_restores(self):
        self.learn()
        self.assertIn("Trust state: trusted", self.attest(0))
        self.assertEqual(prop("TrustState"), "trusted")
        self.assertPamAllowed()

    def test_6_attest_notices_a_measurement(self):
        self.extend(11, "another kernel image")
        out = self.attest(1)
        self.assertIn("untrusted", out)
        self.assertIn("PCR 11 (sha256)", out)
        # In a UTF-8 locale tpctl shows the daemon's "…" as it is, not as \xe2\x80\xa6.
        utf8 = subprocess.run([TPCTL, "--no-pager", "status"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, LC_ALL="C.UTF-8"))
        self.assertIn("…", utf8.stdout)
        self.assertNotIn("\\x", utf8.stdout)
        self.assertPamDenied("PCR 11 (sha256)")
        self.learn()
        self.attest(0)
        self.assertPamAllowed()

    def test_7_stale_attestation(self):
        # Without the timer the last attestation only ages. valgrind takes seconds to start a PAM process,
        # so the age limit is larger there.
        max_age = 10 if VALGRIND else 2
        type(self).stop_daemon()
        type(self).interval = 0
        type(self).start_daemon()
        self.assertEqual(prop("TrustState"), "trusted")
        self.attest(0)
        time.sleep(max_age + 1.5)
        r = self.assertPamDenied(f"s ago, more than the allowed {max_age} s", options=f"max_age={max_age}")
        self.assertIn("the last integrity check of this computer was ", r.errors[0])
        self.assertPamAllowed("max_age=3600")
        # A fresh attestation makes it young again.
        self.attest(0)
        self.assertPamAllowed(f"max_age={max_age}")

    def test_8_unexplained_measurement_stays_untrusted(self):
        # A measurement into PCR 4 that the firmware log does not have: the daemon holds PCRs 0-9 to the
        # log, so learning the policy again does not make it trusted.
        self.extend(4, "a boot loader that left no trace in the log")
        out = self.attest(1)
        self.assertIn("PCR 4 (sha256)", out)
        self.assertPamDenied("eventlog.pcr4: PCR 4 (sha256) is ")
        self.assertIn("Not learning facts", self.learn())
        self.attest(1)
        self.assertPamDenied("PCR 4 (sha256)")

    def test_9_daemon_stopped(self):
        type(self).stop_daemon()
        self.assertPamDenied("the trust service did not answer")
        r = pam(self, "mode=warn")
        self.assertEqual(r.result, "PAM_SUCCESS", r.out)
        self.assertEqual(r.errors, [], r.out)
        self.assertEqual(r.infos, ["Warning: the trust service did not answer."], r.out)
        self.assertIn("warn mode", r.logged(LOG_WARNING)[0])
        self.assertPamAllowed("exempt_group=root")


if __name__ == "__main__":
    tptest.main()
