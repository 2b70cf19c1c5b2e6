#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-tests of tests/harness: each driver starts, answers and stops without leaving a process
behind; the TPM leak check catches a leaked object; polkitd allows root and refuses nobody; the
daemon driver sees READY=1 and STOPPING=1 from a stand-in daemon; tp-run passes the environment
and exit codes through."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "harness")
sys.path.insert(0, HARNESS)
import tpharness as h  # noqa: E402
import tptest  # noqa: E402

STANDIN = os.path.join(HERE, "standin-daemon.py")
TP_RUN = os.path.join(HARNESS, "tp-run")
TEST_POLICY = os.path.join(HARNESS, "org.trustedplatform.harness.test.policy")
TEST_ACTION = "org.trustedplatform.harness.test"


class HarnessTestCase(unittest.TestCase):
    def assertGone(self, pids, directory):
        for pid in pids:
            self.assertFalse(h.process_alive(pid), f"process {pid} still running")
        self.assertEqual(h.processes_mentioning(directory), [], f"processes left using {directory}")
        self.assertFalse(os.path.exists(directory), f"{directory} not removed")


class SwtpmTest(HarnessTestCase):
    def test_starts_answers_and_stops(self):
        with h.Swtpm() as tpm:
            pid, directory = tpm.pid, tpm.dir
            self.assertTrue(h.process_alive(pid))
            out = subprocess.run(["tpm2_getcap", "-T", tpm.tcti, "properties-fixed"],
                                 capture_output=True, text=True, check=True).stdout
            self.assertIn("TPM2_PT_FAMILY_INDICATOR", out)
        self.assertGone([pid], directory)

    def test_fresh_state_unless_kept(self):
        with tempfile.TemporaryDirectory() as keep:
            with h.Swtpm(state_dir=keep) as tpm:
                subprocess.run(["tpm2_createprimary", "-T", tpm.tcti, "-C", "o", "-G", "ecc",
                                "-c", os.path.join(tpm.dir, "p.ctx")], capture_output=True, check=True)
                subprocess.run(["tpm2_evictcontrol", "-T", tpm.tcti, "-C", "o", "-c",
                                os.path.join(tpm.dir, "p.ctx"), "0x81000099"], capture_output=True, check=True)
                tpm.flush_all()
            with h.Swtpm(state_dir=keep) as tpm:
                self.assertIn("0x81000099", tpm.handles("persistent"))
            with h.Swtpm() as tpm:
                self.assertNotIn("0x81000099", tpm.handles("persistent"))

    def test_leak_check_detects_transient_object_then_passes_after_flush(self):
        with h.Swtpm() as tpm:
            tpm.check_no_leaks()
            subprocess.run(["tpm2_createprimary", "-T", tpm.tcti, "-C", "o", "-G", "ecc",
                            "-c", os.path.join(tpm.dir, "p.ctx")], capture_output=True, check=True)
            with self.assertRaisesRegex(h.HarnessError, "transient objects \\['0x80"):
                tpm.check_no_leaks()
            subprocess.run(["tpm2_flushcontext", "-T", tpm.tcti, "-t"], check=True)
            tpm.check_no_leaks()

    def test_leak_check_detects_session(self):
        with h.Swtpm() as tpm:
            ctx = os.path.join(tpm.dir, "s.ctx")
            subprocess.run(["tpm2_startauthsession", "-T", tpm.tcti, "-S", ctx], capture_output=True, check=True)
            # tpm2-tools context-saves the session when it exits: it still holds a session slot.
            with self.assertRaisesRegex(h.HarnessError, "saved sessions \\['0x2"):
                tpm.check_no_leaks()
            subprocess.run(["tpm2_flushcontext", "-T", tpm.tcti, ctx], check=True)
            tpm.check_no_leaks()

    def test_extend_changes_pcr_as_the_tpm_computes(self):
        with h.Swtpm() as tpm:
            before = tpm.read_pcr(16, "sha256")
            digest = tpm.extend(16, "sha256", b"measured event")
            self.assertEqual(tpm.read_pcr(16, "sha256"), hashlib.sha256(before + digest).digest())


class AbrmdTest(HarnessTestCase):
    def test_two_clients_through_abrmd_and_clean_stop(self):
        with h.Swtpm() as tpm:
            with h.Abrmd(tpm) as abrmd:
                pids, directory = [abrmd.pid, abrmd.bus.pid], abrmd.dir
                env = dict(os.environ, **abrmd.env)
                # Two clients at once: swtpm alone would serialize them; through abrmd both hold
                # a connection while each asks for random bytes.
                procs = [subprocess.Popen(["sh", "-c", f"for i in 1 2 3; do tpm2_getrandom -T {abrmd.tcti} "
                                           "--hex 8 >/dev/null || exit 1; done"], env=env) for _ in range(2)]
                self.assertEqual([p.wait(timeout=60) for p in procs], [0, 0])
            self.assertGone(pids, directory)
            tpm.check_no_leaks()


def bus_call(address, *args, user=None):
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if user == "nobody" else []
    return subprocess.run(prefix + ["busctl", f"--address={address}", "call", "org.freedesktop.DBus",
                                    "/org/freedesktop/DBus", "org.freedesktop.DBus", *args],
                          capture_output=True, text=True, timeout=30)


class SystemBusTest(HarnessTestCase):
    def test_policy_like_a_system_bus(self):
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "org.trustedplatform.HarnessTest.conf")
            with open(conf, "w") as f:
                f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy user="root"><allow own="org.trustedplatform.HarnessTest"/></policy></busconfig>
""")
            with h.SystemBus(policy_files=[conf]) as bus:
                pid, directory = bus.pid, bus.dir
                self.assertEqual(os.stat(bus.socket).st_mode & 0o777, 0o777)
                self.assertEqual(os.stat(bus.dir).st_mode & 0o777, 0o755)
                # RequestName returns 1 (primary owner) where the policy allows owning it.
                p = bus_call(bus.address, "RequestName", "su", "org.trustedplatform.HarnessTest", "0")
                self.assertEqual(p.stdout.strip(), "u 1", p.stderr)
                p = bus_call(bus.address, "RequestName", "su", "org.trustedplatform.HarnessTest", "0",
                             user="nobody")
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("Access denied", p.stderr)
                p = bus_call(bus.address, "RequestName", "su", "org.example.Anything", "0")
                self.assertNotEqual(p.returncode, 0, "default policy must deny own")
                self.assertEqual(bus_call(bus.address, "ListNames").returncode, 0)
        self.assertGone([pid], directory)

    def test_project_policy_files_are_loaded(self):
        with h.SystemBus() as bus:
            loaded = sorted(os.listdir(os.path.join(bus.dir, "system.d")))
            expected = sorted(os.path.basename(p) for p in h.project_dbus_policies())
            self.assertEqual([n for n in loaded if n.startswith("org.trustedplatform")],
                             [n for n in expected if n.startswith("org.trustedplatform")])
            self.assertIn(h.BUS_NAME_DAEMON + ".conf", expected)
            # Nobody may not own our name, root may, as on a real machine.
            p = bus_call(bus.address, "RequestName", "su", h.BUS_NAME_DAEMON, "0", user="nobody")
            self.assertIn("Access denied", p.stderr)
            self.assertEqual(bus_call(bus.address, "RequestName", "su", h.BUS_NAME_DAEMON, "0")
                             .stdout.strip(), "u 1")


class PolkitdTest(HarnessTestCase):
    def test_root_allowed_nobody_refused_and_actions_removed(self):
        installed = os.path.join(h.POLKIT_ACTIONS_DIR, os.path.basename(TEST_POLICY))
        with h.SystemBus() as bus:
            with h.Polkitd(bus, extra_policy_files=[TEST_POLICY]) as polkitd:
                pid, directory = polkitd.pid, polkitd.dir
                self.assertTrue(os.path.exists(installed))
                self.assertEqual(polkitd.check(TEST_ACTION), 0, polkitd.last_check_stderr)
                status = polkitd.check(TEST_ACTION, as_nobody=True)
                self.assertIn(status, (1, 2), polkitd.last_check_stderr)
                # An unknown action is refused for root too: polkitd really read the files.
                self.assertNotEqual(polkitd.check("org.trustedplatform.harness.no-such-action"), 0)
            self.assertGone([pid], directory)
        if not self._other_holders():
            self.assertFalse(os.path.exists(installed), "test action left installed")

    def _other_holders(self):
        try:
            with open(h.PolkitActions([]).state_path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return False
        return any(h.process_alive(int(t.split(":")[0])) for t in state.get(os.path.basename(TEST_POLICY), []))

    def test_reference_count_keeps_files_for_other_holders(self):
        with tempfile.TemporaryDirectory() as actions:
            os.chmod(actions, 0o755)
            first = h.PolkitActions([TEST_POLICY], actions_dir=actions)
            second = h.PolkitActions([TEST_POLICY], actions_dir=actions)
            path = os.path.join(actions, os.path.basename(TEST_POLICY))
            first.acquire()
            second.acquire()
            first.release()
            self.assertTrue(os.path.exists(path), "removed while another holder needs it")
            second.release()
            self.assertFalse(os.path.exists(path))
            # A holder that died without releasing does not keep the file forever.
            child = subprocess.run([sys.executable, "-c", f"""
import sys; sys.path.insert(0, {HARNESS!r}); import tpharness as h
h.PolkitActions([{TEST_POLICY!r}], actions_dir={actions!r}).acquire()"""], check=True)
            self.assertTrue(os.path.exists(path))
            third = h.PolkitActions([TEST_POLICY], actions_dir=actions)
            third.acquire()
            third.release()
            self.assertFalse(os.path.exists(path))
            # A file the harness did not install is left alone.
            with open(path, "w") as f:
                f.write("<policyconfig/>")
            third.acquire()
            third.release()
            self.assertTrue(os.path.exists(path))


class DaemonTest(HarnessTestCase):
    def test_ready_env_and_stopping(self):
        with h.SystemBus() as bus:
            with h.Daemon(STANDIN, bus=bus, tcti="swtpm:path=/x") as d:
                pid, directory = d.pid, d.dir
                self.assertIn("READY=1", d.messages)
                with open(os.path.join(d.state_dir, "standin-env.json")) as f:
                    env = json.load(f)["env"]
                self.assertEqual(env["DBUS_SYSTEM_BUS_ADDRESS"], bus.address)
                self.assertEqual(env["TRUSTED_PLATFORM_TCTI"], "swtpm:path=/x")
                self.assertEqual(env["TRUSTED_PLATFORM_CONFIG_DIR"], d.config_dir)
            self.assertIn("STOPPING=1", d.messages)
            self.assertGone([pid], directory)

    def test_exit_before_ready_fails_quickly_with_log(self):
        start = time.monotonic()
        with self.assertRaisesRegex(h.HarnessError, "(?s)before sending READY=1.*failing on purpose"):
            with h.Daemon(STANDIN, args=["--exit-before-ready"]):
                pass
        self.assertLess(time.monotonic() - start, 10)

    def test_missing_stopping_is_an_error(self):
        with self.assertRaisesRegex(h.HarnessError, "before sending STOPPING=1"):
            with h.Daemon(STANDIN, args=["--no-stopping"]):
                pass

    def test_daemon_ignoring_sigterm_is_killed(self):
        orig = h.STOP_TIMEOUT
        h.STOP_TIMEOUT = 1.0
        try:
            with self.assertRaises(h.HarnessError):
                with h.Daemon(STANDIN, args=["--ignore-term"]) as d:
                    pid = d.pid
        finally:
            h.STOP_TIMEOUT = orig
        self.assertFalse(h.process_alive(pid))

    def test_exception_in_block_stops_daemon(self):
        with self.assertRaisesRegex(RuntimeError, "boom"):
            with h.Daemon(STANDIN) as d:
                pid = d.pid
                raise RuntimeError("boom")
        self.assertFalse(h.process_alive(pid))


class StackTest(HarnessTestCase):
    def test_full_stack_up_and_down(self):
        before = {k: os.environ.get(k) for k in ("TRUSTED_PLATFORM_TCTI", "DBUS_SYSTEM_BUS_ADDRESS")}
        with h.Stack(swtpm=True, bus=True, polkit=True, daemon=STANDIN,
                     polkit_extra_policy_files=[TEST_POLICY]) as stack:
            pids = [stack.swtpm.pid, stack.bus.pid, stack.polkitd.pid, stack.daemon.pid]
            directory = stack.dir
            env = stack.env
            self.assertEqual(os.environ["DBUS_SYSTEM_BUS_ADDRESS"], stack.bus.address)
            self.assertEqual(os.environ["TRUSTED_PLATFORM_TCTI"], stack.swtpm.tcti)
            self.assertEqual(env["TP_DAEMON_PID"], str(stack.daemon.pid))
            self.assertEqual(env["TRUSTED_PLATFORM_TCTI"], stack.swtpm.tcti)
            self.assertEqual(stack.polkitd.check(TEST_ACTION), 0)
        self.assertGone(pids, directory)
        self.assertEqual([os.environ.get(k) for k in before], list(before.values()), "environment not restored")

    def test_leak_after_daemon_fails_the_stack(self):
        with self.assertRaisesRegex(h.HarnessError, "TPM leak"):
            with h.Stack(swtpm=True) as stack:
                subprocess.run(["tpm2_createprimary", "-T", stack.tcti, "-c",
                                os.path.join(stack.dir, "p.ctx")], capture_output=True, check=True)
                pid = stack.swtpm.pid
        self.assertFalse(h.process_alive(pid))


class TpRunTest(HarnessTestCase):
    def test_env_and_exit_code(self):
        p = subprocess.run([TP_RUN, "--swtpm", "--bus", "--daemon", STANDIN, "--", "sh", "-c",
                            'tpm2_getcap -T "$TRUSTED_PLATFORM_TCTI" handles-transient >/dev/null 2>&1; '
                            'echo "$TP_TEST_DIR $TP_DAEMON_PID $DBUS_SYSTEM_BUS_ADDRESS '
                            '$TRUSTED_PLATFORM_STATE_DIR $TRUSTED_PLATFORM_CONFIG_DIR"; exit 7'],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 7, p.stderr)
        test_dir, daemon_pid, address, state, config = p.stdout.split()
        self.assertTrue(address.startswith("unix:path=" + test_dir))
        self.assertEqual((state, config), (test_dir + "/state", test_dir + "/config"))
        self.assertGone([int(daemon_pid)], test_dir)

    def test_help_and_usage_errors(self):
        # --help works without "-- CMD" (it said only "missing '-- CMD ARGS...'"), and shows that form.
        for args in (["--help"], ["-h", "--swtpm"], ["--help", "--", "true"]):
            p = subprocess.run([TP_RUN] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, args)
            self.assertIn("usage: tp-run [OPTIONS...] -- CMD ARGS...", p.stdout, args)
            self.assertIn("--keep-tpm-state", p.stdout, args)
        for args, message in ((["--swtpm"], "missing '-- CMD ARGS...'"), (["--swtpm", "--"], "no command after --"),
                              (["--bogus", "--", "true"], "unrecognized arguments")):
            p = subprocess.run([TP_RUN] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(message, p.stderr, args)

    def test_leak_makes_tp_run_fail(self):
        p = subprocess.run([TP_RUN, "--swtpm", "--", "sh", "-c",
                            'tpm2_createprimary -T "$TRUSTED_PLATFORM_TCTI" -c "$TP_TEST_DIR/p.ctx" >/dev/null'],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 1)
        self.assertIn("TPM leak", p.stderr)

    def test_abrmd_lets_two_clients_share_the_tpm(self):
        # Each client keeps a primary key loaded while the other one runs; abrmd flushes them when
        # they disconnect, so the leak check after abrmd has stopped passes.
        p = subprocess.run([TP_RUN, "--abrmd", "--", "sh", "-c",
                            'for i in 1 2; do (tpm2_createprimary -T "$TRUSTED_PLATFORM_TCTI" -G ecc '
                            '-c "$TP_TEST_DIR/p$i.ctx" >/dev/null && tpm2_getrandom -T "$TRUSTED_PLATFORM_TCTI" '
                            '8 >/dev/null) & pids="$pids $!"; done; for p in $pids; do wait $p || exit 1; done; '
                            'test -n "$DBUS_SESSION_BUS_ADDRESS"'],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_missing_helper_is_a_skip_with_reason(self):
        with tempfile.TemporaryDirectory() as bindir:
            os.symlink(sys.executable, os.path.join(bindir, "python3"))
            p = subprocess.run([TP_RUN, "--swtpm", "--", "true"], capture_output=True, text=True,
                               env=dict(os.environ, PATH=bindir), timeout=60)
        self.assertEqual(p.returncode, 77)
        self.assertIn("swtpm is not installed", p.stderr)

    def test_sigterm_tears_everything_down(self):
        with tempfile.TemporaryDirectory() as tmp:
            marker = os.path.join(tmp, "dir")
            p = subprocess.Popen([TP_RUN, "--swtpm", "--bus", "--polkit", "--daemon", STANDIN, "--", "sh", "-c",
                                  f'echo "$TP_TEST_DIR $TP_DAEMON_PID" > {marker}.tmp; mv {marker}.tmp {marker}; '
                                  'exec sleep 600'], stderr=subprocess.PIPE, text=True)
            end = time.monotonic() + 60
            while not os.path.exists(marker):
                self.assertLess(time.monotonic(), end, "tp-run did not start the command")
                self.assertIsNone(p.poll(), "tp-run exited early")
                time.sleep(0.05)
            test_dir, daemon_pid = open(marker).read().split()
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
            self.assertGone([int(daemon_pid)], test_dir)


class TptestTest(unittest.TestCase):
    def test_tap_output_and_exit_status(self):
        script = f"""
import os, subprocess, sys, unittest
sys.path.insert(0, {HARNESS!r})
import tptest
class T(unittest.TestCase):
    def test_a_passes(self):
        print("stray output"); subprocess.run(["echo", "child output"])
    def test_b_fails(self):
        self.assertEqual(1, 2)
    def test_c_skips(self):
        self.skipTest("no reason")
tptest.main()
"""
        p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        lines = p.stdout.splitlines()
        # Nothing but TAP on stdout: what tests and their children print goes to stderr.
        self.assertEqual(lines[0], "ok 1 - T.test_a_passes")
        self.assertEqual(lines[1], "not ok 2 - T.test_b_fails")
        self.assertTrue(all(line.startswith("# ") for line in lines[2:-2]))
        self.assertIn("AssertionError: 1 != 2", p.stdout)
        self.assertEqual(lines[-2:], ["ok 3 - T.test_c_skips # SKIP no reason", "1..3"])
        self.assertIn("stray output", p.stderr)
        self.assertIn("child output", p.stderr)


if __name__ == "__main__":
    tptest.main()
