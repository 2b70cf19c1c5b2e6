# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared helpers of the daemon's robustness tests (race, huge arguments, SRK mismatch, TPM loss).

These tests start their own tpharness.Stack (they restart helpers), so they run as plain Python under
meson with TP_DAEMON and TP_RACE_CLIENT pointing at the built binaries."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tpharness  # noqa: E402,F401
import tptest  # noqa: E402,F401

NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
MANAGER = NAME + ".Manager"
TPM = NAME + ".TPM"
ERROR = NAME + ".Error."
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
SRK_HANDLE = "0x81000001"

DAEMON = os.environ.get("TP_DAEMON") or os.path.join(os.environ["PROJECT_BUILD_ROOT"], "src", "daemon",
                                                     "trusted-platformd")
TPCTL = os.path.join(os.environ["PROJECT_BUILD_ROOT"], "src", "tpctl", "tpctl")
BUS_CALL = os.environ.get("TP_BUS_CALL") or os.path.join(os.environ["PROJECT_BUILD_ROOT"], "tests", "integration",
                                                         "daemon", "bus-call")
RACE_CLIENT = os.environ.get("TP_RACE_CLIENT") or os.path.join(
        os.environ["PROJECT_BUILD_ROOT"], "tests", "integration", "daemon", "race-client")


def busctl(*args, user=None, check=True, timeout=60):
    cmd = (AS_NOBODY if user == "nobody" else []) + ["busctl", "--system", "--json=short", *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)[:300]} failed ({p.returncode}): {p.stderr.strip()[:500]}")
    return p


def call(interface, method, signature="", *args, user=None):
    p = busctl("call", NAME, PATH, interface, method, signature, *args, user=user)
    return json.loads(p.stdout)["data"]


def bus_call(method, signature, *args, user=None):
    """One TPM method call through bus-call, which prints the D-Bus error name (busctl does not).
    Returns (error name or None, message)."""
    cmd = (AS_NOBODY if user == "nobody" else []) + [BUS_CALL, method, signature] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if p.returncode == 0:
        return None, ""
    if p.returncode != 3:
        raise AssertionError(f"bus-call failed ({p.returncode}): {p.stderr}")
    _, name, message = (p.stdout.rstrip("\n") + " ").split(" ", 2)
    return name, message.strip()


def status():
    """Manager.GetStatus() as a plain dict."""
    return {k: v["data"] for k, v in call(MANAGER, "GetStatus")[0].items()}


def tpm_present():
    p = busctl("get-property", NAME, PATH, MANAGER, "TPMPresent")
    return json.loads(p.stdout)["data"]


def provision_once(user=None):
    """One Provision({}) through the race client's --once mode: ("ok", "") or (error name, message)."""
    cmd = (AS_NOBODY if user == "nobody" else []) + [RACE_CLIENT, "--once"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = p.stdout.strip()
    if p.returncode == 0 and out == "ok":
        return "ok", ""
    if p.returncode == 3 and out.startswith("error "):
        _, name, *message = out.split(" ", 2)
        return name, (message[0] if message else "")
    raise AssertionError(f"race-client --once failed ({p.returncode}): {out} {p.stderr.strip()}")


def daemon_alive(test, daemon):
    """The daemon process runs and answers a Ping and a TPM-free property read."""
    test.assertTrue(daemon.proc.running(), "the daemon exited" + daemon.proc.log_excerpt())
    busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
    busctl("get-property", NAME, PATH, MANAGER, "Version")


def new_daemon(stack, name="daemon", state_dir=None):
    """A tpharness.Daemon on the stack's bus and TPM, to be entered by the test (so that it can be stopped
    and started again inside one Stack). Its state directory is the stack's unless state_dir is given:
    the harness's Stack has no option for a state directory kept across stacks, and a Daemon built here
    needs none either."""
    directory = os.path.join(stack.dir, name)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    d = tpharness.Daemon(DAEMON, directory=directory, bus=stack.bus, tcti=stack.tcti)
    d.state_dir = state_dir or stack.state_dir
    d.config_dir = stack.config_dir
    return d


class DaemonClassTest(unittest.TestCase):
    """One tpharness.Stack (STACK: its keyword arguments) and one trusted-platformd for a whole test class.
    A subclass may override prepare() (work on cls.stack before the daemon starts), config() (the text of
    trusted-platform.conf, None for none) and daemon_env() (extra environment of the daemon). The daemon
    is cls.daemon; stop_daemon() and start_daemon() replace it (each start gets a directory of its own,
    as a notify socket cannot be bound twice)."""

    STACK = {"swtpm": True, "bus": True, "polkit": True}
    daemon = None

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def config(cls):
        return None

    @classmethod
    def daemon_env(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        cls.daemon = None
        cls.daemon_starts = 0
        cls.stack = tpharness.Stack(**cls.STACK)
        cls.stack.__enter__()
        try:
            cls.prepare()
            cls.start_daemon()
        except BaseException:
            cls.stack.__exit__(*sys.exc_info())
            raise

    @classmethod
    def tearDownClass(cls):
        # Stopping the daemon checks its clean exit; the stack then runs the TPM leak check.
        try:
            cls.stop_daemon()
        finally:
            cls.stack.__exit__(None, None, None)

    @classmethod
    def start_daemon(cls, extra_env=None):
        cls.daemon_starts += 1
        daemon = new_daemon(cls.stack, name="daemon" if cls.daemon_starts == 1 else f"daemon{cls.daemon_starts}")
        text = cls.config()
        if text is not None:
            with open(os.path.join(daemon.config_dir, "trusted-platform.conf"), "w") as f:
                f.write(text)
        daemon.extra_env.update(cls.daemon_env(), **(extra_env or {}))
        daemon.__enter__()
        cls.daemon = daemon

    @classmethod
    def stop_daemon(cls):
        if cls.daemon is not None:
            daemon, cls.daemon = cls.daemon, None
            daemon.__exit__(None, None, None)


def simulate_boot(stack, log):
    """Boots a firmware event log into the stack's swtpm (tests/harness/tp-simulate-boot) before a daemon
    takes the TPM; returns the replayed PCR values by bank."""
    simulate = os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness", "tp-simulate-boot")
    p = subprocess.run([sys.executable, simulate, "--tcti", stack.tcti, "--json", log], capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"tp-simulate-boot failed: {p.stderr}")
    return json.loads(p.stdout)["banks"]


def dbus_send(path, method, *args, user=None, reply_timeout_ms=25000):
    """dbus-send --print-reply, which prints error names (busctl prints only the message, and truncates
    long ones). Returns ("ok", stdout) or (error name, full error message)."""
    cmd = (AS_NOBODY if user == "nobody" else []) + [
            "dbus-send", "--system", "--print-reply", f"--reply-timeout={reply_timeout_ms}",
            f"--dest={NAME}", path, method, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=reply_timeout_ms / 1000 + 60,
                       stdin=subprocess.DEVNULL)
    if p.returncode == 0:
        return "ok", p.stdout
    # "Error org.freedesktop.DBus.Error.InvalidArgs: message"
    head, _, message = p.stderr.partition(": ")
    if not head.startswith("Error "):
        raise AssertionError(f"dbus-send failed without a D-Bus error: {p.stderr[:500]}")
    return head.split()[1], message.rstrip("\n")


def tpctl(*args, input=None, env=None, check=True):
    p = subprocess.run([TPCTL, "--no-pager"] + list(args), input=input, capture_output=True, timeout=60,
                       env=dict(os.environ, **(env or {})))
    if check and p.returncode != 0:
        raise AssertionError(f"tpctl {' '.join(args)} failed ({p.returncode}): {p.stderr.decode().strip()}")
    return p


def tpm_call(method, signature="", *args, user=None):
    """busctl call on the TPM interface: the reply's values, None for a method without results."""
    p = busctl("call", NAME, PATH, TPM, method, signature, *args, user=user)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def seal(secret, *options):
    """busctl Seal; options as busctl a{sv} items (key, type, value...), counted by the caller."""
    n, *rest = options or (0,)
    return bytes(tpm_call("Seal", "aya{sv}", len(secret), *secret, n, *rest)[0])


def unseal(blob, *options):
    n, *rest = options or (0,)
    return bytes(tpm_call("Unseal", "aya{sv}", len(blob), *blob, n, *rest)[0])


class TpmTestCase(unittest.TestCase):
    """Assertions shared by the tests of TPM methods on a running daemon (tp-run --daemon)."""

    def assertAlive(self):
        busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
        self.assertEqual(len(tpm_call("GetRandom", "u", 8)[0]), 8)

    def assertInvalid(self, method, signature, *args, text=None):
        name, message = bus_call(method, signature, *args)
        self.assertEqual(name, "org.freedesktop.DBus.Error.InvalidArgs", f"{method} {args}: {name} {message}")
        if text:
            self.assertIn(text, message)
