#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The project's system bus policy and activation file, loaded into a private dbus-daemon.

usage: test-dbus-policy.py POLICY_CONF ACTIVATION_SERVICE BUS_OWN

A bus configured like Debian's system bus (same default policy) plus our files. Then, as a user
would notice: root can own org.trustedplatform.TrustedPlatform1, nobody cannot; nobody can call the
daemon's interfaces but not an interface we never opened; the name is activatable. Must run as root
(it switches to nobody with setpriv). TAP output."""

import os
import shutil
import subprocess
import sys
import tempfile

NAME = "org.trustedplatform.TrustedPlatform1"
PATH = "/org/trustedplatform/TrustedPlatform1"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

# Debian 12's /usr/share/dbus-1/system.conf default policy, restated (that file also listens on the
# real socket and includes every installed policy, so it cannot be used as is).
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{servicedir}</servicedir>
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
  </policy>
  <includedir>{policydir}</includedir>
</busconfig>
"""

results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {what}")
    for line in detail.strip().splitlines():
        print(f"# {line}")


def busctl(*args, nobody=False):
    cmd = (AS_NOBODY if nobody else []) + ["busctl", "--system"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def main():
    policy, service, bus_own = (os.path.abspath(a) for a in sys.argv[1:4])
    tmp = tempfile.mkdtemp(prefix="tp-dbus-policy-")
    procs = []
    try:
        os.chmod(tmp, 0o755)  # nobody must reach the socket
        policydir = os.path.join(tmp, "system.d")
        servicedir = os.path.join(tmp, "system-services")
        os.mkdir(policydir)
        os.mkdir(servicedir)
        shutil.copy(policy, policydir)
        shutil.copy(service, servicedir)
        sock = os.path.join(tmp, "bus.sock")
        conf = os.path.join(tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF.format(sock=sock, servicedir=servicedir, policydir=policydir))

        bus = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork", "--print-address=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(bus)
        address = bus.stdout.readline().strip()  # printed once the bus listens: no sleep needed
        if not address:
            check(False, "dbus-daemon loads our policy", bus.stderr.read())
            return
        check(True, "dbus-daemon loads our policy")
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address

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
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()  # by pid: only what this test started
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"1..{len(results)}")
    sys.exit(0 if results and all(results) else 1)


if __name__ == "__main__":
    main()
