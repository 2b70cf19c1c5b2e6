#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Attacker-sized arguments (ATTACKS b-8, CVE-2019-6454 and CVE-2021-33910): a 64 KiB object path, 64 KiB
strings to every method and property that takes one, and a 100,000-element PCR list. Each gets a clean
error or the correct answer, and the daemon survives every one of them."""

import daemontest
from daemontest import MANAGER, NAME, PATH, TPM, busctl, call, daemon_alive, dbus_send, tptest  # noqa: F401

BIG = "a" * 65536


class BigArgumentsTest(daemontest.DaemonClassTest):
    def tearDown(self):
        daemon_alive(self, self.daemon)
        self.assertEqual(len(call(TPM, "GetRandom", "u", 16)[0]), 16)

    def assertFails(self, text, *args, user=None):
        p = busctl(*args, user=user, check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout[:200])
        self.assertIn(text, p.stderr)
        return p

    def test_long_object_path(self):
        for base in (PATH, "/org/freedesktop/LogControl1", "/org/trustedplatform", ""):
            # The longest path sd-bus accepts (64 KiB): a clean UnknownObject.
            path = f"{base}/" + "a" * (65536 - len(base) - 1)
            name, message = dbus_send(path, MANAGER + ".GetStatus")
            self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject", message[:200])
            name, message = dbus_send(path, "org.freedesktop.DBus.Properties.GetAll", "string:" + MANAGER)
            self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject", message[:200])
            # The object manager at our path walks every prefix of a path below it.
            name, message = dbus_send(path, "org.freedesktop.DBus.Introspectable.Introspect")
            if name == "ok":
                self.assertNotIn(MANAGER, message)
            else:
                self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject", message[:200])

            # 64 KiB of 'a' below it is longer than sd-bus's limit (its CVE-2019-6454 fix): libsystemd drops
            # the message as invalid before the daemon sees it, so the caller gets no answer, and the
            # daemon carries on (checked after every test).
            name, _ = dbus_send(f"{base}/{BIG}", MANAGER + ".GetStatus", reply_timeout_ms=2000)
            self.assertEqual(name, "org.freedesktop.DBus.Error.NoReply")

    def test_long_bank_name(self):
        for user in (None, "nobody"):
            name, message = dbus_send(PATH, TPM + ".ReadPCRs", "string:" + BIG, "array:uint32:1", user=user)
            self.assertEqual(name, "org.freedesktop.DBus.Error.InvalidArgs")
            self.assertEqual(message, f"Unknown PCR bank '{BIG}'; expected sha1, sha256, sha384 or sha512.")
        self.assertFails("Unknown PCR bank", "call", NAME, PATH, TPM, "ReadPCRs", "sau", BIG, 0)

    def test_long_provision_option(self):
        # A 64 KiB key and a 64 KiB value: refused as an unknown option, before polkit is asked.
        self.assertFails("Unknown option", "call", NAME, PATH, TPM, "Provision", "a{sv}", 1, BIG, "s", "x")
        self.assertFails("Unknown option 'Force'", "call", NAME, PATH, TPM, "Provision", "a{sv}", 1, "Force",
                         "s", BIG, user="nobody")

    def test_long_property_names(self):
        props = "org.freedesktop.DBus.Properties."
        for user in (None, "nobody"):
            for method, args, error in (
                    ("Get", ("string:" + MANAGER, "string:" + BIG), "UnknownProperty"),
                    ("Get", ("string:" + BIG, "string:Version"), "UnknownProperty"),
                    ("GetAll", ("string:" + BIG,), "UnknownInterface"),
                    ("Set", ("string:" + MANAGER, "string:" + BIG, "variant:string:" + BIG),
                     "UnknownProperty")):
                name, message = dbus_send(PATH, props + method, *args, user=user)
                self.assertEqual(name, "org.freedesktop.DBus.Error." + error, f"{method}: {message[:200]}")

    def test_long_log_settings(self):
        log = "/org/freedesktop/LogControl1"
        settings = ("get-property", NAME, log, "org.freedesktop.LogControl1", "LogLevel", "LogTarget")
        before = busctl(*settings).stdout
        for user in (None, "nobody"):
            for prop, what in (("LogLevel", "log level"), ("LogTarget", "log target")):
                name, message = dbus_send(log, "org.freedesktop.DBus.Properties.Set",
                                          "string:org.freedesktop.LogControl1", f"string:{prop}",
                                          "variant:string:" + BIG, user=user)
                self.assertEqual(name, "org.freedesktop.DBus.Error.InvalidArgs")
                self.assertTrue(message.startswith(f"Invalid {what} 'aaaa"), message[:200])
        after = busctl(*settings).stdout
        self.assertEqual(after, before)

    def test_huge_pcr_list(self):
        every = call(TPM, "ReadPCRs", "sau", "sha256", 0)[0]
        self.assertEqual([i for i, _ in every], list(range(24)))

        indexes = [i % 24 for i in range(100000)]
        values = call(TPM, "ReadPCRs", "sau", "sha256", len(indexes), *indexes)[0]
        self.assertEqual(values, every)

        # Repeats of one index read it once.
        values = call(TPM, "ReadPCRs", "sau", "sha256", 100000, *([7] * 100000), user="nobody")[0]
        self.assertEqual(values, [every[7]])

        # One bad index at the very end spoils the whole call.
        self.assertFails("PCR index 24 is out of range", "call", NAME, PATH, TPM, "ReadPCRs", "sau",
                         "sha256", len(indexes) + 1, *indexes, 24)
        self.assertFails("PCR index 4294967295 is out of range", "call", NAME, PATH, TPM, "ReadPCRs", "sau",
                         "sha256", len(indexes) + 1, *indexes, 4294967295)


if __name__ == "__main__":
    tptest.main()
