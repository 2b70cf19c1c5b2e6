# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drivers for the real helpers that integration tests run against.

One class per helper, each a context manager with its own socket and temporary directory:
Swtpm, Abrmd, SystemBus, Polkitd, Daemon, and Stack, which composes them. Every helper is waited
for until it answers (bounded polling of the real readiness condition, or a pipe or notify socket
where the helper offers one), and stopped by pid (SIGTERM, then SIGKILL after a bound) on every
exit path. Python 3 standard library only."""

import contextlib
import ctypes
import fcntl
import glob
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("PROJECT_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))

START_TIMEOUT = float(os.environ.get("TP_HARNESS_START_TIMEOUT", "30"))
STOP_TIMEOUT = 10.0
POLKIT_ACTIONS_DIR = "/usr/share/polkit-1/actions"
POLKITD = "/usr/lib/polkit-1/polkitd"
BUS_NAME_DAEMON = "org.trustedplatform.TrustedPlatform1"


class HarnessError(Exception):
    """A helper failed to start, stop, or left something behind. The test fails."""


class HarnessSkip(unittest.SkipTest):
    """A helper binary is not installed. The only reason to skip (exit 77)."""


# --------------------------------------------------------------------------------------------------
# Signals: SIGTERM/SIGINT/SIGHUP become an exception, so that every `with` block unwinds and stops
# what it started. Later signals during teardown are ignored so teardown completes.

class Interrupted(KeyboardInterrupt):
    # A KeyboardInterrupt so that unittest lets it through instead of recording it as an error.
    def __init__(self, signum):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


_interrupted = False


def _on_signal(signum, frame):
    global _interrupted
    if _interrupted:
        return
    _interrupted = True
    raise Interrupted(signum)


def install_signal_handlers():
    import threading
    if threading.current_thread() is not threading.main_thread():
        return
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(s) is not _on_signal:
            signal.signal(s, _on_signal)


# --------------------------------------------------------------------------------------------------
# Processes

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def die_with_parent(sig=signal.SIGTERM):
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def _child_setup():
    # Its own process group: a terminal's ^C or meson's kill of the test's group reaches the
    # harness, which stops the helpers in order, rather than every helper at once.
    os.setpgid(0, 0)
    # A helper must not outlive a harness that was SIGKILLed. (polkitd loses this when it changes
    # its uid, but exits when its bus goes away; the flock'ed holder list copes with the rest.)
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def require_binary(name):
    path = shutil.which(name) if not os.path.isabs(name) else (name if os.access(name, os.X_OK) else None)
    if not path:
        raise HarnessSkip(f"{name} is not installed (scripts/install-deps installs it)")
    return path


def _tail(path, lines=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def _deadline(timeout):
    return time.monotonic() + timeout


def process_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_mentioning(text):
    """Pids of live processes whose command line mentions text (e.g. a test directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if text.encode() in cmdline and process_alive(int(entry)):
            found.append(int(entry))
    return found


class Process:
    """A child process started in its own process group, output to a log file, stopped by pid."""

    def __init__(self, name, argv, env=None, log_path=None, pass_fds=(), stdout=None):
        self.name = name
        self.log_path = log_path
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            self.popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                          stdout=stdout if stdout is not None else log, stderr=log,
                                          pass_fds=pass_fds, preexec_fn=_child_setup)
        finally:
            if log_path:
                log.close()
        self.pid = self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def check_running(self):
        if not self.running():
            raise HarnessError(f"{self.name} exited early with status {self.popen.returncode}"
                               + self.log_excerpt())

    def log_excerpt(self):
        text = _tail(self.log_path) if self.log_path else ""
        return f"\n--- {self.name} log ({self.log_path}) ---\n{text}--- end of log ---" if text else ""

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status (negative: signal)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if self.wait(timeout) is None:
                print(f"harness: {self.name} (pid {self.pid}) ignored SIGTERM for {timeout}s, "
                      "sending SIGKILL", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode


def _poll_until(what, condition, proc=None, timeout=START_TIMEOUT, interval=0.01):
    """Bounded polling of a readiness condition; fails early if the process died."""
    end = _deadline(timeout)
    while True:
        if condition():
            return
        if proc is not None:
            proc.check_running()
        if time.monotonic() > end:
            raise HarnessError(f"{what} not ready after {timeout}s"
                               + (proc.log_excerpt() if proc else ""))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


@contextlib.contextmanager
def exported(env):
    """Sets env in os.environ for the duration (subprocesses inherit it), then restores it."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _make_dir(parent, name, mode=0o700):
    path = os.path.join(parent, name)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    return path


class _Helper:
    """Common shape: a directory (own temp dir unless given), start(), stop(), context manager."""

    name = "helper"

    def __init__(self, directory=None, keep_directory=False):
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix=f"tp-{self.name}-")
        # polkitd (an unprivileged user) must reach sockets below here.
        os.chmod(self.dir, 0o755)
        self.keep_directory = keep_directory or os.environ.get("TP_KEEP_TEST_DIR") == "1"
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def __enter__(self):
        install_signal_handlers()
        try:
            self.start()
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop(failed=exc_type is not None)
        finally:
            self._cleanup()
        return False

    def _cleanup(self):
        if self.proc is not None and self.proc.running():
            self.proc.stop()
        if self._own_dir and not self.keep_directory:
            shutil.rmtree(self.dir, ignore_errors=True)

    def stop(self, failed=False):
        if self.proc is not None:
            self.proc.stop()
            if failed:
                print(self.proc.log_excerpt(), file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# swtpm

class Swtpm(_Helper):
    """swtpm socket --tpm2 with a fresh state (or state_dir kept by the caller). TCTI in .tcti."""

    name = "swtpm"
    _CMD_GET_CAPABILITY = 1

    def __init__(self, directory=None, state_dir=None, **kw):
        super().__init__(directory, **kw)
        self.state_dir = state_dir or _make_dir(self.dir, "tpm")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        self.socket = os.path.join(self.dir, "swtpm.sock")
        self.ctrl_socket = self.socket + ".ctrl"
        self.tcti = f"swtpm:path={self.socket}"

    def start(self):
        swtpm = require_binary("swtpm")
        self.proc = Process("swtpm", [
                swtpm, "socket", "--tpm2",
                "--tpmstate", f"dir={self.state_dir}",
                "--server", f"type=unixio,path={self.socket}",
                "--ctrl", f"type=unixio,path={self.ctrl_socket}",
                "--flags", "not-need-init,startup-clear"], log_path=os.path.join(self.dir, "swtpm.log"))
        # Ready when the control channel answers CMD_GET_CAPABILITY; unlike the data socket it
        # does not take the single client slot. The data socket is created before it.
        _poll_until("swtpm", self._ctrl_answers, self.proc)

    def _ctrl_answers(self):
        if not os.path.exists(self.ctrl_socket) or not os.path.exists(self.socket):
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(self.ctrl_socket)
                s.sendall(struct.pack(">I", self._CMD_GET_CAPABILITY))
                data = b""
                while len(data) < 8:
                    chunk = s.recv(8 - len(data))
                    if not chunk:
                        return False
                    data += chunk
                return struct.unpack(">II", data)[0] == 0
        except OSError:
            return False

    def _tool(self, *args, check=True):
        tool = require_binary(args[0])
        p = subprocess.run([tool, "-T", self.tcti, *args[1:]], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise HarnessError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
        return p.stdout

    def handles(self, kind):
        """Handles of a tpm2_getcap handles-* capability, e.g. 'transient', 'loaded-session'."""
        out = self._tool("tpm2_getcap", f"handles-{kind}")
        return [line.strip()[2:].strip() for line in out.splitlines() if line.strip().startswith("- ")]

    def check_no_leaks(self):
        """Raise HarnessError if a transient object or a session remains in the TPM. Saved
        (context-saved) sessions count too: they hold one of the TPM's few session slots.
        Needs the data socket free: the client under test must have disconnected."""
        transient = self.handles("transient")
        loaded = self.handles("loaded-session")
        saved = self.handles("saved-session")
        if transient or loaded or saved:
            raise HarnessError("TPM leak: transient objects %s, loaded sessions %s, saved sessions %s"
                               % (transient or "none", loaded or "none", saved or "none"))

    def flush_all(self):
        for kind in ("-t", "-l", "-s"):
            self._tool("tpm2_flushcontext", kind)

    def extend(self, pcr, bank, data):
        """Measure data into a PCR: extends with bank-hash(data). Returns the digest extended."""
        digest = hashlib.new(bank, data if isinstance(data, bytes) else data.encode()).digest()
        self.extend_digest(pcr, bank, digest)
        return digest

    def extend_digest(self, pcr, bank, digest):
        self._tool("tpm2_pcrextend", f"{pcr}:{bank}={digest.hex()}")

    def read_pcr(self, pcr, bank="sha256"):
        out = self._tool("tpm2_pcrread", f"{bank}:{pcr}")
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == str(pcr) and value.strip().lower().startswith("0x"):
                return bytes.fromhex(value.strip()[2:])
        raise HarnessError(f"tpm2_pcrread printed no value for {bank}:{pcr}: {out!r}")


# --------------------------------------------------------------------------------------------------
# D-Bus

def name_has_owner(address, name):
    busctl = require_binary("busctl")
    p = subprocess.run([busctl, f"--address={address}", "call", "org.freedesktop.DBus",
                        "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", name],
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    return p.returncode == 0 and p.stdout.strip() == "b true"


def _start_dbus_daemon(name, config, log_path, env=None):
    """dbus-daemon --print-address on a pipe: readiness without polling."""
    dbus_daemon = require_binary("dbus-daemon")
    r, w = os.pipe()
    try:
        proc = Process(name, [dbus_daemon, f"--config-file={config}", "--nofork",
                              f"--print-address={w}"], env=env, log_path=log_path, pass_fds=(w,))
    finally:
        os.close(w)
    try:
        end = _deadline(START_TIMEOUT)
        data = b""
        while not data.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0:
                proc.stop()
                raise HarnessError(f"{name} printed no address in {START_TIMEOUT}s" + proc.log_excerpt())
            ready, _, _ = select.select([r], [], [], left)
            if ready:
                chunk = os.read(r, 4096)
                if not chunk:
                    proc.stop()
                    raise HarnessError(f"{name} exited before printing its address" + proc.log_excerpt())
                data += chunk
    finally:
        os.close(r)
    return proc, data.decode().strip()


class SessionBus(_Helper):
    """A private session bus (for tpm2-abrmd --session)."""

    name = "session-bus"

    def start(self):
        self.socket = os.path.join(self.dir, "session-bus.sock")
        config = os.path.join(self.dir, "session-bus.conf")
        with open(config, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={self.socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
        self.proc, self.address = _start_dbus_daemon("session dbus-daemon", config,
                                                     os.path.join(self.dir, "session-bus.log"))


class Abrmd(_Helper):
    """tpm2-abrmd in front of a Swtpm, on a private session bus it starts itself."""

    name = "abrmd"
    tcti = "tabrmd:bus_type=session"

    def __init__(self, swtpm, directory=None, **kw):
        super().__init__(directory, **kw)
        self.swtpm = swtpm
        self.bus = None

    @property
    def env(self):
        return {"DBUS_SESSION_BUS_ADDRESS": self.bus.address}

    def start(self):
        abrmd = require_binary("tpm2-abrmd")
        if not glob.glob("/usr/lib/*/libtss2-tcti-tabrmd.so*") and not glob.glob("/usr/lib/libtss2-tcti-tabrmd.so*"):
            raise HarnessSkip("the tabrmd TCTI (libtss2-tcti-tabrmd0) is not installed")
        self.bus = SessionBus(directory=_make_dir(self.dir, "session-bus", 0o755))
        self.bus.__enter__()
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.bus.address)
        self.proc = Process("tpm2-abrmd", [abrmd, "--session", "--allow-root",
                                           f"--tcti={self.swtpm.tcti}"],
                            env=env, log_path=os.path.join(self.dir, "abrmd.log"))
        _poll_until("tpm2-abrmd", lambda: name_has_owner(self.bus.address, "com.intel.tss2.Tabrmd"),
                    self.proc)

    def stop(self, failed=False):
        try:
            super().stop(failed)
        finally:
            if self.bus is not None:
                self.bus.__exit__(None, None, None)
                self.bus = None

    def _cleanup(self):
        if self.bus is not None:
            self.bus.__exit__(None, None, None)
            self.bus = None
        super()._cleanup()


# The default policy of Debian's /usr/share/dbus-1/system.conf, so that the private bus denies and
# allows what a real system bus does. Service policies (ours, polkit's) punch the holes.
SYSTEM_BUS_DEFAULT_POLICY = """
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Containers1"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
"""


def project_dbus_policies():
    return sorted(glob.glob(os.path.join(SOURCE_ROOT, "dbus", "*.conf")))


class SystemBus(_Helper):
    """A private dbus-daemon of type system with the project's D-Bus policy files (dbus/*.conf)
    and polkit's, behind the default policy of a real system bus. service_files are D-Bus activation
    files (the names become activatable). .address, .env."""

    name = "system-bus"

    def __init__(self, directory=None, policy_files=None, service_files=(), export=True, **kw):
        super().__init__(directory, **kw)
        self.policy_files = project_dbus_policies() if policy_files is None else list(policy_files)
        self.service_files = list(service_files)
        self.address = None
        self.export = export
        self._exported = None

    def __enter__(self):
        super().__enter__()
        if self.export:
            # sd-bus and GDBus clients (busctl --system, pkcheck, tpctl) then use this bus.
            self._exported = exported(self.env)
            self._exported.__enter__()
        return self

    def __exit__(self, *exc):
        if self._exported is not None:
            self._exported.__exit__(None, None, None)
            self._exported = None
        return super().__exit__(*exc)

    @property
    def env(self):
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address}

    def start(self):
        include_dir = _make_dir(self.dir, "system.d", 0o755)
        polkit_conf = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf"
        for path in self.policy_files + ([polkit_conf] if os.path.exists(polkit_conf) else []):
            shutil.copy(path, include_dir)
        service_dir = _make_dir(self.dir, "system-services", 0o755)
        for path in self.service_files:
            shutil.copy(path, service_dir)
        self.socket = os.path.join(self.dir, "system-bus.sock")
        config = os.path.join(self.dir, "system-bus.conf")
        with open(config, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={self.socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{service_dir}</servicedir>
{SYSTEM_BUS_DEFAULT_POLICY}
  <includedir>{include_dir}</includedir>
</busconfig>
""")
        self.proc, self.address = _start_dbus_daemon("system dbus-daemon", config,
                                                     os.path.join(self.dir, "system-bus.log"))
        # polkitd runs as its own user and must connect.
        os.chmod(self.socket, 0o777)


# --------------------------------------------------------------------------------------------------
# polkitd

def _lock_dir():
    return "/run/lock" if os.access("/run/lock", os.W_OK) else tempfile.gettempdir()


class PolkitActions:
    """Installs .policy files into /usr/share/polkit-1/actions while any holder needs them.

    Tests run in parallel: holders (pids) are recorded in a JSON file under an flock, each file
    is removed when the last live holder releases it. Holders that died without releasing are
    pruned, so a killed test does not keep a file installed forever. Files that were there before
    the harness installed them are never removed."""

    def __init__(self, files, actions_dir=POLKIT_ACTIONS_DIR):
        self.files = list(files)
        self.actions_dir = actions_dir
        self.lock_path = os.path.join(_lock_dir(), "trusted-platform-test-polkit.lock")
        self.state_path = os.path.join(_lock_dir(), "trusted-platform-test-polkit.json")
        self.token = f"{os.getpid()}:{time.monotonic_ns()}"
        self.held = False

    @contextlib.contextmanager
    def _locked(self):
        with open(self.lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    with open(self.state_path) as f:
                        state = json.load(f)
                except (OSError, ValueError):
                    state = {}
                # {filename: [holder tokens "pid:ns"]}; a dead pid's tokens are stale.
                for name in list(state):
                    state[name] = [t for t in state[name] if process_alive(int(t.split(":")[0]))]
                yield state
                for name in [n for n, holders in state.items() if not holders]:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(self.actions_dir, name))
                    del state[name]
                tmp = self.state_path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(state, f)
                os.replace(tmp, self.state_path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def acquire(self):
        os.makedirs(self.actions_dir, exist_ok=True)
        with self._locked() as state:
            for path in self.files:
                name = os.path.basename(path)
                target = os.path.join(self.actions_dir, name)
                if name not in state and os.path.exists(target):
                    continue  # installed by someone else (a package, meson install): not ours
                with open(path, "rb") as f:
                    content = f.read()
                tmp = target + ".tp-harness-tmp"
                with open(tmp, "wb") as f:
                    f.write(content)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
                state.setdefault(name, []).append(self.token)
        self.held = True

    def release(self):
        if not self.held:
            return
        with self._locked() as state:
            for name in state:
                state[name] = [t for t in state[name] if t != self.token]
        self.held = False

    def installed(self):
        return [os.path.join(self.actions_dir, os.path.basename(p)) for p in self.files]


def project_polkit_policies():
    return sorted(glob.glob(os.path.join(SOURCE_ROOT, "policy", "*.policy")))


class Polkitd(_Helper):
    """Real polkitd on a SystemBus, with the project's actions (and extra ones) installed."""

    name = "polkitd"

    def __init__(self, bus, directory=None, policy_files=None, extra_policy_files=(), **kw):
        super().__init__(directory, **kw)
        self.bus = bus
        files = project_polkit_policies() if policy_files is None else list(policy_files)
        self.actions = PolkitActions(files + list(extra_policy_files))

    def start(self):
        polkitd = require_binary(POLKITD)
        require_binary("pkcheck")
        if os.geteuid() != 0:
            raise HarnessError("polkitd must be started as root (it drops to the polkitd user)")
        # polkitd connects to the bus as the polkitd user: every directory above the socket
        # must let others through (not so with a TMPDIR below /root, for instance).
        path = os.path.dirname(self.bus.socket)
        while path != "/":
            if not os.stat(path).st_mode & stat.S_IXOTH:
                raise HarnessError(f"polkitd cannot reach the bus socket: {path} is not searchable by "
                                   "others; set TMPDIR to a directory like /tmp")
            path = os.path.dirname(path)
        self.actions.acquire()
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        self.proc = Process("polkitd", [polkitd, "--no-debug"], env=env,
                            log_path=os.path.join(self.dir, "polkitd.log"))
        _poll_until("polkitd", lambda: name_has_owner(self.bus.address, "org.freedesktop.PolicyKit1"),
                    self.proc)
        # It answers, and knows our actions: root is authorized for any action it has read.
        action = (self.action_ids() or ["org.freedesktop.policykit.exec"])[0]
        status = self.check(action)
        if status != 0:
            raise HarnessError(f"pkcheck {action} for root returned {status}: "
                               f"{self.last_check_stderr.strip()}" + self.proc.log_excerpt())

    def action_ids(self):
        import xml.etree.ElementTree as ET
        ids = []
        for path in self.actions.files:
            ids += [a.get("id") for a in ET.parse(path).getroot().iter("action")]
        return ids

    def check(self, action, as_nobody=False):
        """pkcheck for a process of root (or of nobody). Returns pkcheck's exit status:
        0 authorized, 1 not authorized, 2 needs authentication (no agent), 127 error."""
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if as_nobody else []
        p = subprocess.run(prefix + ["sh", "-c", 'exec pkcheck --action-id "$1" --process $$', "sh", action],
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address),
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.last_check_stderr = p.stderr
        return p.returncode

    def stop(self, failed=False):
        try:
            super().stop(failed)
        finally:
            self.actions.release()

    def _cleanup(self):
        super()._cleanup()
        self.actions.release()


# --------------------------------------------------------------------------------------------------
# The daemon

class Daemon(_Helper):
    """trusted-platformd (or a stand-in) with its environment pointing at temporary directories.
    Ready when it sends READY=1 on NOTIFY_SOCKET; on stop, SIGTERM and wait for STOPPING=1 and a
    clean exit. Its stderr goes to .log_path, printed on failure."""

    name = "daemon"

    def __init__(self, binary, directory=None, bus=None, tcti=None, args=(), extra_env=None, **kw):
        super().__init__(directory, **kw)
        self.binary = binary
        self.bus = bus
        self.tcti = tcti
        self.args = list(args)
        self.extra_env = dict(extra_env or {})
        self.state_dir = _make_dir(self.dir, "state", 0o700)
        self.config_dir = _make_dir(self.dir, "config", 0o755)
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.notify = None
        self.messages = []

    @property
    def env(self):
        # An efivarfs of the test's own (empty unless a test fills it): the build machine's Secure Boot
        # state must not decide a test's outcome.
        env = {"TRUSTED_PLATFORM_STATE_DIR": self.state_dir,
               "TRUSTED_PLATFORM_CONFIG_DIR": self.config_dir,
               "TRUSTED_PLATFORM_EFIVARS": os.path.join(self.dir, "efivars")}
        if self.bus is not None:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus.address
        if self.tcti is not None:
            env["TRUSTED_PLATFORM_TCTI"] = self.tcti
        return env

    def start(self):
        binary = os.path.abspath(self.binary)
        if not os.access(binary, os.X_OK):
            raise HarnessError(f"daemon binary {binary} does not exist or is not executable")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.notify.bind(self.notify_path)
        env = dict(os.environ, **{**self.env, **self.extra_env}, NOTIFY_SOCKET=self.notify_path)
        self.proc = Process(os.path.basename(binary), [binary, *self.args], env=env,
                            log_path=self.log_path)
        self._wait_for("READY=1", START_TIMEOUT, "start")

    def _wait_for(self, word, timeout, phase):
        end = _deadline(timeout)
        while word not in self.messages:
            left = end - time.monotonic()
            if left <= 0:
                raise HarnessError(f"{self.proc.name} sent no {word} within {timeout}s of {phase}"
                                   + self.proc.log_excerpt())
            ready, _, _ = select.select([self.notify], [], [], min(left, 0.1))
            if ready:
                data = self.notify.recv(65536).decode(errors="replace")
                self.messages.extend(data.splitlines())
            elif not self.proc.running():
                # Drain what it sent just before exiting, then judge.
                with contextlib.suppress(BlockingIOError):
                    while True:
                        data = self.notify.recv(65536, socket.MSG_DONTWAIT).decode(errors="replace")
                        self.messages.extend(data.splitlines())
                if word not in self.messages:
                    raise HarnessError(f"{self.proc.name} exited with status {self.proc.popen.returncode} "
                                       f"before sending {word}" + self.proc.log_excerpt())

    def stop(self, failed=False):
        if self.proc is None:
            return
        problems = []
        try:
            if self.proc.running():
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self._wait_for("STOPPING=1", STOP_TIMEOUT, "SIGTERM")
                except HarnessError as e:
                    problems.append(str(e))
            # It has had its SIGTERM: wait for the exit, SIGKILL only after the bound.
            status = self.proc.wait(STOP_TIMEOUT)
            if status is None:
                problems.append(f"{self.proc.name} did not exit within {STOP_TIMEOUT}s of SIGTERM")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                status = self.proc.popen.wait()
            elif status != 0:
                problems.append(f"{self.proc.name} exited with status {status} after SIGTERM")
        finally:
            if self.notify is not None:
                self.notify.close()
                self.notify = None
        if failed or problems:
            print(self.proc.log_excerpt(), file=sys.stderr)
        if problems and not failed:
            raise HarnessError("; ".join(problems))


# --------------------------------------------------------------------------------------------------
# The stack

class Stack:
    """swtpm [+ abrmd] + system bus + polkitd + daemon, started in that order in one temporary
    directory, stopped in reverse. With swtpm, the TPM leak check runs after the daemon (and
    abrmd) have let go of the TPM. .env holds what a test or tp-run exports."""

    def __init__(self, swtpm=False, abrmd=False, bus=False, polkit=False, daemon=None,
                 tpm_state_dir=None, daemon_args=(), polkit_extra_policy_files=(), directory=None,
                 check_leaks=True, export=True):
        if abrmd and not swtpm:
            raise HarnessError("abrmd needs swtpm")
        if polkit and not bus:
            raise HarnessError("polkitd needs the bus")
        self.options = dict(swtpm=swtpm, abrmd=abrmd, bus=bus, polkit=polkit, daemon=daemon)
        self.tpm_state_dir = tpm_state_dir
        self.daemon_args = daemon_args
        self.polkit_extra_policy_files = polkit_extra_policy_files
        self.check_leaks = check_leaks
        self.export = export
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="tp-test-")
        os.chmod(self.dir, 0o755)
        self.swtpm = self.abrmd = self.bus = self.polkitd = self.daemon = None
        self._exit = None
        self.state_dir = _make_dir(self.dir, "state", 0o700)
        self.config_dir = _make_dir(self.dir, "config", 0o755)

    @property
    def tcti(self):
        if self.abrmd:
            return self.abrmd.tcti
        return self.swtpm.tcti if self.swtpm else None

    @property
    def env(self):
        env = {"TP_TEST_DIR": self.dir,
               "TRUSTED_PLATFORM_STATE_DIR": self.state_dir,
               "TRUSTED_PLATFORM_CONFIG_DIR": self.config_dir}
        if self.tcti:
            env["TRUSTED_PLATFORM_TCTI"] = self.tcti
        if self.abrmd:
            env.update(self.abrmd.env)
        if self.bus:
            env.update(self.bus.env)
        if self.daemon:
            env["TP_DAEMON_PID"] = str(self.daemon.pid)
        return env

    def __enter__(self):
        install_signal_handlers()
        self._exit = contextlib.ExitStack()
        try:
            o = self.options
            if o["swtpm"]:
                self.swtpm = self._exit.enter_context(
                        Swtpm(directory=_make_dir(self.dir, "swtpm", 0o755), state_dir=self.tpm_state_dir))
                if self.check_leaks:
                    # Registered before abrmd and the daemon, so it runs after they stopped.
                    self._exit.callback(self._leak_check)
            if o["abrmd"]:
                self.abrmd = self._exit.enter_context(
                        Abrmd(self.swtpm, directory=_make_dir(self.dir, "abrmd", 0o755)))
            if o["bus"]:
                self.bus = self._exit.enter_context(SystemBus(directory=_make_dir(self.dir, "bus", 0o755),
                                                              export=False))
            if o["polkit"]:
                self.polkitd = self._exit.enter_context(
                        Polkitd(self.bus, directory=_make_dir(self.dir, "polkit", 0o755),
                                extra_policy_files=self.polkit_extra_policy_files))
            if o["daemon"]:
                d = Daemon(o["daemon"], directory=_make_dir(self.dir, "daemon", 0o755), bus=self.bus,
                           tcti=self.tcti, args=self.daemon_args)
                # One state and config directory for the daemon and the test.
                d.state_dir, d.config_dir = self.state_dir, self.config_dir
                if self.abrmd:
                    d.extra_env.update(self.abrmd.env)
                self.daemon = self._exit.enter_context(d)
            if self.export:
                # Exported last, restored first: the test's own commands see the stack.
                self._exit.enter_context(exported(self.env))
        except BaseException:
            self._close(*sys.exc_info())
            raise
        return self

    def _leak_check(self):
        self.swtpm.check_no_leaks()

    def _close(self, exc_type, exc, tb):
        try:
            if self._exit is not None:
                # Everything is stopped; a teardown error (a leak, a daemon that did not stop
                # cleanly) then propagates, chained to the block's own exception if any.
                self._exit.__exit__(exc_type, exc, tb)
        finally:
            self._exit = None
            if self._own_dir and os.environ.get("TP_KEEP_TEST_DIR") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb):
        self._close(exc_type, exc, tb)
        return False
