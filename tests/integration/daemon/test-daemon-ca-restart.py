#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CA survives a restart of the daemon: a new daemon on the same state directory adopts it on first
use (no Init() needed), serves the same root, knows what was issued and revoked, and Init() adopts
rather than replaces it."""

import json
import os
import subprocess
import unittest

from daemontest import ERROR, NAME, PATH, bus_call, busctl, new_daemon, tpharness, tptest

CA = NAME + ".CA"
os.environ["TP_BUS_INTERFACE"] = CA  # for bus-call


def ca_call(method, signature="", *args):
    p = busctl("call", NAME, PATH, CA, method, signature, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def csr():
    p = subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", "/dev/null", "-subj", "/CN=r.example.test", "-addext",
                        "subjectAltName=DNS:r.example.test", "-outform", "DER"],
                       capture_output=True, check=True, timeout=60)
    return p.stdout


class CaRestartTest(unittest.TestCase):

    def test_restart_adopts_the_ca(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack:
            # The daemon talks to swtpm directly (one client): the file key store, not the TPM one.
            with open(os.path.join(stack.config_dir, "trusted-platform.conf"), "w") as f:
                f.write("[CA]\nKeyStore=file\n")
            with new_daemon(stack):
                self.assertTrue(ca_call("Init", "a{sv}", 0)[0])
                root = ca_call("GetCertificate", "sa{sv}", "root", 0)[1]
                der = csr()
                serial, _ = ca_call("IssueCertificate", "aysa{sv}", len(der), *der, "tls-server", 0)
                ca_call("Revoke", "ssa{sv}", serial, "superseded", 0)

            with new_daemon(stack, name="daemon2"):
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], root)
                entries = ca_call("ListCertificates", "a{sv}", 0)[0]
                self.assertEqual([(e[0], e[3], e[4]) for e in entries], [(serial, "revoked", "superseded")])
                self.assertGreater(len(ca_call("GetCRL", "a{sv}", 0)[0]), 100)
                self.assertFalse(ca_call("Init", "a{sv}", 0)[0])
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], root)

            # A configuration that describes another CA: the existing one is neither adopted nor replaced.
            d = new_daemon(stack, name="daemon3")
            d.config_dir = os.path.join(stack.dir, "config-other")
            os.makedirs(d.config_dir, mode=0o755)
            with open(os.path.join(d.config_dir, "trusted-platform.conf"), "w") as f:
                f.write("[CA]\nKeyStore=file\nRootSubject=/CN=Another Root\n")
            with d:
                for method, sig, *args in (("Init", "a{sv}", 0), ("GetCertificate", "sa{sv}", "root", 0)):
                    name, message = bus_call(method, sig, *args)
                    self.assertEqual(name, ERROR + "CAMismatch", message)
            with new_daemon(stack, name="daemon4"):
                self.assertEqual(ca_call("GetCertificate", "sa{sv}", "root", 0)[1], root)


if __name__ == "__main__":
    tptest.main()
