#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The project's system bus policy and activation file, loaded into a private dbus-daemon.

usage: test-dbus-policy.py POLICY_CONF ACTIVATION_SERVICE BUS_OWN

A bus configured like Debian's system bus (the harness's SystemBus: same default policy) plus our
files. Then, as a user would notice: root can own org.trustedplatform.TrustedPlatform1, nobody cannot; nobody can call the
daemon's interfaces but not an interface we never opened; the name is activatable. Must run as root
(it switches to nobody with setpriv). TAP output."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "harness"))
import tpharness  # noqa: E402

NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {what}")
    for line in detail.strip().splitlines():
        print(f"# {line}")


def busctl(*args, nobody=False):
    cmd = (AS_NOBODY if nobody else []) + ["busctl", "--system"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def checks(bus_own, procs):
    check(True, "dbus-daemon loads our policy")

    r = subprocess.run(AS_NOBODY + [bus_own, NAME], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "AccessDenied" in r.stderr, "nobody cannot own " + NAME, r.stderr)

    r = subprocess.run(AS_NOBODY + [bus_own, "org.trustedplatform.Other"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 1 and "AccessDenied" in r.stderr, "the policy grants no other name", r.stderr)

    owner = subprocess.Popen([bus_own, NAME], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    procs.append(owner)
    line = owner.stdout.readline().strip()
    check(line == "owned", "root owns " + NAME, "" if line == "owned" else owner.stderr.read())
    if line != "owned":
        return

    r = busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping", nobody=True)
    check(r.returncode == 0, "nobody can Ping the daemon", r.stderr)

    # sd-bus answers for an object it does not have with UnknownObject/UnknownMethod: the call
    # was delivered. The bus's refusal would say AccessDenied.
    for iface, member in [("org.trustedplatform.TrustedPlatform1.Manager", "GetStatus"),
                          ("org.trustedplatform.TrustedPlatform1.TPM", "GetInfo"),
                          ("org.freedesktop.DBus.Properties", "GetAll"),
                          ("org.freedesktop.DBus.Introspectable", "Introspect"),
                          ("org.freedesktop.LogControl1", "Ping")]:
        args = ["s", "org.trustedplatform.TrustedPlatform1.Manager"] if member == "GetAll" else []
        r = busctl("call", NAME, PATH, iface, member, *args, nobody=True)
        check("AccessDenied" not in r.stderr and (r.returncode == 0 or "Unknown" in r.stderr),
              f"nobody's call to {iface}.{member} reaches the daemon", r.stderr)

    r = busctl("call", NAME, PATH, "org.example.NotOurs", "Frob", nobody=True)
    check(r.returncode != 0 and ("Access denied" in r.stderr or "AccessDenied" in r.stderr),
          "nobody cannot call an interface the policy does not open", r.stderr)

    r = busctl("call", NAME, PATH, "org.example.NotOurs", "Frob")
    check("AccessDenied" not in r.stderr and "Access denied" not in r.stderr,
          "root can send anything to the daemon", r.stderr)

    owner.stdin.close()
    owner.wait(timeout=30)

    r = busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
               "ListActivatableNames", "--json=short")
    check(r.returncode == 0 and NAME in r.stdout, NAME + " is activatable from our .service file",
          r.stderr)


def main():
    policy, service, bus_own = (os.path.abspath(a) for a in sys.argv[1:4])
    procs = []
    try:
        # The harness's bus exports DBUS_SYSTEM_BUS_ADDRESS for busctl while it runs.
        with tpharness.SystemBus(policy_files=[policy], service_files=[service]):
            checks(bus_own, procs)
    except tpharness.HarnessError as e:
        check(False, "dbus-daemon loads our policy", str(e))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()  # by pid: only what this test started
                p.wait()
        print(f"1..{len(results)}")
    sys.exit(0 if results and all(results) else 1)


if __name__ == "__main__":
    main()
