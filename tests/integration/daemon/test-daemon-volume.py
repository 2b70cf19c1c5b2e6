#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""LUKS2 volumes through the daemon (volume-bus.c, volume.c), on swtpm behind tpm2-abrmd (the volume
operations open a TPM connection of their own) with a real polkitd:
- CreateVolume (pbkdf2, so no 2 s benchmark), EnrollVolume, ListVolumes, Volume.Status, AddRecoveryKey,
  Reseal refused after PCR 7 changed and done with the passphrase, Unenroll; the registry survives a restart;
- nobody is refused by polkit (and may list);
- at least 12 malformed calls per method answer InvalidArgs and the daemon stays alive;
- on a TPM that serves one client, EnrollVolume answers Error.VolumeTPMUnavailable."""

import json
import os
import subprocess
import tempfile
import unittest

from daemontest import (ERROR, INVALID, MANAGER, NAME, PATH, TPM, bus_call, busctl, daemon_alive, new_daemon,
                        tpharness, tptest)

VOLUME = NAME + ".Volume"
DENIED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
PASS = b"correct horse battery"
SIZE = 32 * 1024 * 1024
FAST = ("3", "size", "t", str(SIZE), "pbkdf", "s", "pbkdf2", "iterations", "u", "1000")


def ay(b):
    return [str(len(b))] + [str(x) for x in b]


def mcall(method, sig="", *args, user=None):
    p = busctl("--timeout=120", "call", NAME, PATH, MANAGER, method, sig, *args, user=user)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def vcall(obj, method, sig="", *args):
    p = busctl("--timeout=120", "call", NAME, obj, VOLUME, method, sig, *args)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def raw(obj, interface, method, sig, *args, user=None):
    """(error name or None, message) through bus-call, which prints error names."""
    os.environ["TP_BUS_INTERFACE"] = interface
    os.environ["TP_BUS_PATH"] = obj
    try:
        return bus_call(method, sig, *args, user=user)
    finally:
        del os.environ["TP_BUS_PATH"]


class VolumeTest(unittest.TestCase):

    def assertInvalid(self, obj, interface, method, sig, *args):
        name, msg = raw(obj, interface, method, sig, *args)
        self.assertEqual(name, INVALID, f"{method}{args}: {name} {msg}")

    def test_volume_lifecycle(self):
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-volume-") as tmp:
            os.chmod(tmp, 0o755)
            img = os.path.join(tmp, "disk.img")
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            with d:
                busctl("call", NAME, PATH, TPM, "Provision", "a{sv}", "0")

                obj, uuid, key = mcall("CreateVolume", "saya{sv}", img, *ay(PASS), *FAST)
                self.assertEqual(key, "")
                self.assertEqual(os.path.getsize(img), SIZE)
                self.assertTrue(obj.startswith(PATH + "/volume/"))
                self.assertIn([img, obj], mcall("ListVolumes")[0])
                # A second create on the LUKS header is refused without force.
                name, _ = raw(PATH, MANAGER, "CreateVolume", "saya{sv}", img, PASS.hex(), "2", "pbkdf", "s",
                              "pbkdf2", "iterations", "u", "1000")
                self.assertEqual(name, ERROR + "VolumeExists")

                text, status = vcall(obj, "Status")
                self.assertEqual(status["UUID"]["data"], uuid)
                self.assertEqual([k[1] for k in status["Keyslots"]["data"]], ["passphrase"])

                # A wrong passphrase is refused, the right one enrolls the TPM (PCR 7 by default: weak).
                name, _ = raw(PATH, MANAGER, "EnrollVolume", "saya{sv}", img, b"wrong".hex(), "0")
                self.assertEqual(name, ERROR + "VolumeRefused")
                o2, slot, token, weak = mcall("EnrollVolume", "saya{sv}", img, *ay(PASS), "0")
                self.assertEqual(o2, obj)
                self.assertTrue(weak)
                roles = {k[0]: k[1] for k in vcall(obj, "Status")[1]["Keyslots"]["data"]}
                self.assertEqual(roles[slot], "tpm2")

                rkey, rslot = vcall(obj, "AddRecoveryKey", "aya{sv}", *ay(PASS), "2", "pbkdf", "s", "pbkdf2",
                                    "iterations", "u", "1000")
                self.assertGreater(len(rkey), 20)
                self.assertNotIn(rkey, open(d.log_path).read())
                self.assertNotIn(PASS.decode(), open(d.log_path).read())
                tokens = {t[0]: t[1] for t in vcall(obj, "Status")[1]["Tokens"]["data"]}
                self.assertEqual(tokens[token], "trusted-platform-tpm2")
                rtoken = [t for t, ty in tokens.items() if ty == "trusted-platform-recovery"][0]

                # The recovery key unlocks like a passphrase: enroll a second TPM token with it.
                vcall(obj, "Unenroll", "ia{sv}", str(token), "0")
                _, slot, token, _ = mcall("EnrollVolume", "saya{sv}", img, *ay(rkey.encode()), "0")

                # PCR 7 changes: the token cannot reseal itself, the passphrase can.
                subprocess.run(["tpm2_pcrextend", "-T", stack.abrmd.tcti, "7:sha256=" + "11" * 32], check=True,
                               env=dict(os.environ, **stack.abrmd.env), capture_output=True)
                name, msg = raw(obj, VOLUME, "Reseal", "a{sv}", "0")
                self.assertEqual(name, ERROR + "VolumeRefused", msg)
                slot2, token2, _ = vcall(obj, "Reseal", "a{sv}", "1", "passphrase", "ay", *ay(PASS))
                st = vcall(obj, "Status")[1]
                self.assertIn([slot2, "tpm2", token2], st["Keyslots"]["data"])
                self.assertNotIn(slot, [k[0] for k in st["Keyslots"]["data"] if k[0] != slot2])
                # And now the new token reseals itself (same PCRs): no passphrase needed.
                vcall(obj, "Reseal", "a{sv}", "0")

                vcall(obj, "Unenroll", "ia{sv}", str(rtoken), "0")
                name, _ = raw(obj, VOLUME, "Unenroll", "ia{sv}", str(rtoken), "0")
                self.assertEqual(name, ERROR + "NoSuchVolumeItem")
                self.assertTrue(os.listdir(os.path.join(stack.state_dir, "luks-backups")))

                # nobody: refused by polkit, may list and read the status.
                for method, sig, args in (("CreateVolume", "saya{sv}", (img + "2", PASS.hex(), "0")),
                                          ("EnrollVolume", "saya{sv}", (img, PASS.hex(), "0"))):
                    name, _ = raw(PATH, MANAGER, method, sig, *args, user="nobody")
                    self.assertIn(name, DENIED)
                for method, sig, args in (("Unenroll", "ia{sv}", ("0", "0")), ("Reseal", "a{sv}", ("0",)),
                                          ("AddRecoveryKey", "aya{sv}", (PASS.hex(), "0"))):
                    name, _ = raw(obj, VOLUME, method, sig, *args, user="nobody")
                    self.assertIn(name, DENIED)
                self.assertIn([img, obj], mcall("ListVolumes", user="nobody")[0])

                self.malformed(obj, img)
                daemon_alive(self, d)

                # A slow create (pbkdf2 benchmarked to 2 s) runs on its thread: the loop answers meanwhile,
                # and a second operation is refused as busy.
                slow = subprocess.Popen(["busctl", "--system", "--timeout=120", "call", NAME, PATH, MANAGER,
                                         "CreateVolume", "saya{sv}", img + ".slow", *ay(PASS), "2", "size", "t",
                                         str(SIZE), "pbkdf", "s", "pbkdf2"], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                try:
                    busy = None
                    for _ in range(100):
                        # In a directory that does not exist: fails fast when it gets to run at all.
                        name, _ = raw(PATH, MANAGER, "CreateVolume", "saya{sv}", "/nonexistent/x.img", PASS.hex(),
                                      *FAST)
                        self.assertIsNotNone(name)
                        if name == ERROR + "Busy":
                            busy = name
                            break
                    self.assertEqual(busy, ERROR + "Busy")
                    mcall("ListVolumes")
                finally:
                    self.assertEqual(slow.wait(timeout=120), 0, slow.stderr.read())

            # The registry is persisted: a restarted daemon knows the volume.
            d2 = new_daemon(stack, name="daemon2")
            d2.extra_env.update(stack.abrmd.env)
            with d2:
                self.assertIn([img, obj], mcall("ListVolumes")[0])
                self.assertEqual(vcall(obj, "Status")[1]["UUID"]["data"], uuid)

    def malformed(self, obj, img):
        p = PASS.hex()
        M = PATH
        for sig, args in (
                ("saya{sv}", ("relative/path", p, "0")),
                ("saya{sv}", ("", p, "0")),
                ("saya{sv}", ("/a/../b", p, "0")),
                ("saya{sv}", ("/tmp/x\x01", p, "0")),
                ("saya{sv}", ("/tmp/x", "", "0")),
                ("saya{sv}", ("/tmp/x", "zeros:513", "0")),
                ("saya{sv}", ("/tmp/x", "610062", "0")),
                ("saya{sv}", ("/tmp/x", p, "1", "bogus", "s", "x")),
                ("saya{sv}", ("/tmp/x", p, "1", "size", "t", "1024")),
                ("saya{sv}", ("/tmp/x", p, "1", "size", "s", "big")),
                ("saya{sv}", ("/tmp/x", p, "1", "pbkdf", "s", "scrypt")),
                ("saya{sv}", ("/tmp/x", p, "2", "pbkdf", "s", "pbkdf2", "iterations", "u", "10")),
                ("saya{sv}", ("/tmp/x", p, "1", "iterations", "u", "0")),
                ("saya{sv}", ("/tmp/x", p, "2", "pbkdf", "s", "pbkdf2", "pbkdf", "s", "pbkdf2")),
                ("saya{sv}", ("/tmp/x", p, "1", "label", "s", "x" * 100)),
                ("saya{sv}", ("/tmp/x", "", "1", "recovery-key", "b", "0")),
                ("s", ("/tmp/x",)),
        ):
            self.assertInvalid(M, MANAGER, "CreateVolume", sig, *args)
        for sig, args in (
                ("saya{sv}", ("relative", p, "0")),
                ("saya{sv}", (img, "", "0")),
                ("saya{sv}", (img, "zeros:600", "0")),
                ("saya{sv}", (img, p, "1", "pcrs", "au", "0")),
                ("saya{sv}", (img, p, "1", "pcrs", "au", "1", "24")),
                ("saya{sv}", (img, p, "1", "pcrs", "au", "2", "7", "7")),
                ("saya{sv}", (img, p, "1", "pcrs", "au", "1", "7")),  # no PCR 4/11 without accept-risk
                ("saya{sv}", (img, p, "1", "bank", "s", "md5")),
                ("saya{sv}", (img, p, "1", "pin", "s", "")),
                ("saya{sv}", (img, p, "1", "pin", "s", "x" * 200)),
                ("saya{sv}", (img, p, "1", "pin", "u", "1234")),
                ("saya{sv}", (img, p, "1", "accept-risk", "s", "yes")),
                ("saya{sv}", (img, p, "1", "size", "t", str(SIZE))),
                ("sa{sv}", (img, "0")),
        ):
            self.assertInvalid(M, MANAGER, "EnrollVolume", sig, *args)
        for sig, args in (
                ("ia{sv}", ("-1", "0")), ("ia{sv}", ("32", "0")), ("ia{sv}", ("2147483647", "0")),
                ("ia{sv}", ("0", "1", "force", "b", "1")), ("ia{sv}", ("0", "1", "token", "i", "0")),
                ("ia{sv}", ("0", "1", "", "s", "")), ("i", ("0",)), ("u", ("0",)), ("sa{sv}", ("0", "0")),
                ("a{sv}", ("0",)), ("ia{sv}", ("-2147483648", "0")), ("ia{sv}", ("0", "1", "pin", "s", "1")),
        ):
            self.assertInvalid(obj, VOLUME, "Unenroll", sig, *args)
        for sig, args in (
                ("a{sv}", ("1", "token", "i", "-1")), ("a{sv}", ("1", "token", "i", "99")),
                ("a{sv}", ("1", "token", "u", "1")), ("a{sv}", ("1", "pcrs", "au", "0")),
                ("a{sv}", ("1", "pcrs", "au", "1", "99")), ("a{sv}", ("1", "pcrs", "au", "1", "0")),
                ("a{sv}", ("1", "bank", "s", "sha3")), ("a{sv}", ("1", "old-pin", "s", "")),
                ("a{sv}", ("1", "passphrase", "ay", "")), ("a{sv}", ("1", "passphrase", "ay", "zeros:513")),
                ("a{sv}", ("1", "pbkdf", "s", "pbkdf2")), ("a{sv}", ("2", "pin", "s", "1", "pin", "s", "1")),
                ("s", ("x",)),
        ):
            self.assertInvalid(obj, VOLUME, "Reseal", sig, *args)
        for sig, args in (
                ("aya{sv}", ("", "0")), ("aya{sv}", ("zeros:513", "0")), ("aya{sv}", ("0061", "0")),
                ("aya{sv}", (p, "1", "pbkdf", "s", "bcrypt")), ("aya{sv}", (p, "1", "iterations", "u", "0")),
                ("aya{sv}", (p, "2", "pbkdf", "s", "pbkdf2", "iterations", "u", "999")),
                ("aya{sv}", (p, "2", "pbkdf", "s", "pbkdf2", "memory-kb", "u", "1024")),
                ("aya{sv}", (p, "1", "iterations", "u", "5000")),  # argon2id time cost
                ("aya{sv}", (p, "1", "pin", "s", "1")), ("aya{sv}", (p, "1", "pbkdf", "u", "1")),
                ("ay", (p,)), ("sa{sv}", ("x", "0")),
        ):
            self.assertInvalid(obj, VOLUME, "AddRecoveryKey", sig, *args)
        for sig, args in (("s", ("x",)), ("u", ("1",)), ("a{sv}", ("0",))):
            self.assertInvalid(obj, VOLUME, "Status", sig, *args)
            self.assertInvalid(PATH, MANAGER, "ListVolumes", sig, *args)
        # An unknown volume object does not exist.
        name, _ = raw(PATH + "/volume/_30", VOLUME, "Status", "")
        self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject")

    def test_one_client_tpm(self):
        with tpharness.Stack(swtpm=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-volume-") as tmp:
            os.chmod(tmp, 0o755)
            img = os.path.join(tmp, "disk.img")
            d = new_daemon(stack)
            with d:
                obj, _, _ = mcall("CreateVolume", "saya{sv}", img, *ay(PASS), *FAST)
                name, msg = raw(PATH, MANAGER, "EnrollVolume", "saya{sv}", img, PASS.hex(), "0")
                self.assertEqual(name, ERROR + "VolumeTPMUnavailable")
                self.assertIn("tpm2-abrmd", msg)
                daemon_alive(self, d)

            # [Volumes] Paths=: known without registration (a fresh state directory); a path without a LUKS
            # header or a relative one is skipped.
            state = os.path.join(tmp, "state2")
            os.mkdir(state, 0o700)
            d2 = new_daemon(stack, name="daemon2", state_dir=state)
            d2.config_dir = os.path.join(tmp, "config")
            os.mkdir(d2.config_dir)
            with open(os.path.join(d2.config_dir, "trusted-platform.conf"), "w") as f:
                f.write(f"[Volumes]\nPaths=/nonexistent.img relative.img {img}\n")
            with d2:
                self.assertEqual(mcall("ListVolumes")[0], [[img, obj]])
                self.assertFalse(os.path.exists(os.path.join(state, "volumes")))


if __name__ == "__main__":
    tptest.main()
