#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""LUKS2 volumes through the daemon (volume-bus.c, volume.c), on swtpm behind tpm2-abrmd (the volume
operations open a TPM connection of their own) with a real polkitd:
- CreateVolume (pbkdf2, so no 2 s benchmark), EnrollVolume, ListVolumes, Volume.Status, AddRecoveryKey,
  Reseal refused after PCR 7 changed and done with the passphrase, Unenroll; the registry survives a restart;
- the long methods answer with a Job: its Progress rises (PropertiesChanged), Completed arrives, Result
  carries the values; a Result with a recovery key is refused to another uid; during an argon2id create the
  daemon answers a Ping and a second operation waits for it (cancelling: test-daemon-volume-cancel.py);
- nobody is refused by polkit (and may list);
- at least 12 malformed calls per method answer InvalidArgs and the daemon stays alive;
- on a TPM that serves one client, EnrollVolume answers Error.VolumeTPMUnavailable."""

import json
import os
import re
import subprocess
import tempfile
import time
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


JOB = NAME + ".Job"
# Starts AddRecoveryKey on argv[1] with passphrase argv[2], waits for the job, prints
# [job, state, key, keyslot] and keeps the connection until stdin closes.
STARTER = """
import json, sys, time
import dbus
bus = dbus.SystemBus(private=True)
name = "org.trustedplatform.TrustedPlatform1"
job = str(dbus.Interface(bus.get_object(name, sys.argv[1]), name + ".Volume").AddRecoveryKey(
    dbus.ByteArray(sys.argv[2].encode()), {"pbkdf": "pbkdf2", "iterations": dbus.UInt32(1000)}))
props = dbus.Interface(bus.get_object(name, job), "org.freedesktop.DBus.Properties")
while props.Get(name + ".Job", "State") == "running":
    time.sleep(0.05)
res = props.Get(name + ".Job", "Result")
print(json.dumps([job, str(props.Get(name + ".Job", "State")), str(res.get("recovery_key", "")),
                  int(res.get("keyslot", -1))]), flush=True)
sys.stdin.read()
"""
LONG = ("CreateVolume", "EnrollVolume", "Unenroll", "Reseal", "AddRecoveryKey")


def prop(obj, name, interface=JOB, user=None, check=True):
    p = busctl("get-property", NAME, obj, interface, name, user=user, check=check)
    return json.loads(p.stdout)["data"] if p.returncode == 0 else None


def job_wait(job, timeout=120):
    """Waits for a job to end; returns (error name or None, error message or the Result as a dict)."""
    deadline = time.monotonic() + timeout
    while prop(job, "State") == "running":
        if time.monotonic() > deadline:
            raise AssertionError(f"{job} still runs")
        time.sleep(0.05)
    if prop(job, "State") == "failed":
        return prop(job, "ErrorName"), prop(job, "ErrorMessage")
    return None, {k: v["data"] for k, v in prop(job, "Result").items()}


def job_call(obj, interface, method, sig, *args, user=None):
    """A long method: starts its job and waits for it. (error name or None, message or Result)."""
    p = busctl("call", NAME, obj, interface, method, sig, *args, user=user)
    job = json.loads(p.stdout)["data"][0]
    assert job.startswith(PATH + "/job/"), job
    return job_wait(job)


def result(obj, interface, method, sig, *args, keys=(), user=None):
    name, res = job_call(obj, interface, method, sig, *args, user=user)
    if name:
        raise AssertionError(f"{method}: {name} {res}")
    return [res[k] for k in keys]


def mcall(method, sig="", *args, user=None):
    if method == "CreateVolume":
        return result(PATH, MANAGER, method, sig, *args, keys=("object", "uuid", "recovery_key"), user=user)
    if method == "EnrollVolume":
        return result(PATH, MANAGER, method, sig, *args, keys=("object", "keyslot", "token", "weak_policy"),
                      user=user)
    p = busctl("--timeout=120", "call", NAME, PATH, MANAGER, method, sig, *args, user=user)
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def vcall(obj, method, sig="", *args):
    keys = {"Reseal": ("keyslot", "token", "weak_policy"), "AddRecoveryKey": ("recovery_key", "keyslot"),
            "Unenroll": ()}
    if method in keys:
        return result(obj, VOLUME, method, sig, *args, keys=keys[method])
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
                name, _ = job_call(PATH, MANAGER, "CreateVolume", "saya{sv}", img, *ay(PASS), "2", "pbkdf", "s",
                                   "pbkdf2", "iterations", "u", "1000")
                self.assertEqual(name, ERROR + "VolumeExists")

                text, status = vcall(obj, "Status")
                self.assertEqual(status["UUID"]["data"], uuid)
                self.assertEqual([k[1] for k in status["Keyslots"]["data"]], ["passphrase"])

                # A wrong passphrase is refused, the right one enrolls the TPM (PCR 7 by default: weak).
                name, _ = job_call(PATH, MANAGER, "EnrollVolume", "saya{sv}", img, *ay(b"wrong"), "0")
                self.assertEqual(name, ERROR + "VolumeRefused")
                o2, slot, token, weak = mcall("EnrollVolume", "saya{sv}", img, *ay(PASS), "0")
                self.assertEqual(o2, obj)
                self.assertTrue(weak)
                roles = {k[0]: k[1] for k in vcall(obj, "Status")[1]["Keyslots"]["data"]}
                self.assertEqual(roles[slot], "tpm2")

                rkey, rslot = self.recovery_key_job(obj)
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
                name, msg = job_call(obj, VOLUME, "Reseal", "a{sv}", "0")
                self.assertEqual(name, ERROR + "VolumeRefused", msg)
                slot2, token2, _ = vcall(obj, "Reseal", "a{sv}", "1", "passphrase", "ay", *ay(PASS))
                st = vcall(obj, "Status")[1]
                self.assertIn([slot2, "tpm2", token2], st["Keyslots"]["data"])
                self.assertNotIn(slot, [k[0] for k in st["Keyslots"]["data"] if k[0] != slot2])
                # And now the new token reseals itself (same PCRs): no passphrase needed.
                vcall(obj, "Reseal", "a{sv}", "0")

                vcall(obj, "Unenroll", "ia{sv}", str(rtoken), "0")
                name, _ = job_call(obj, VOLUME, "Unenroll", "ia{sv}", str(rtoken), "0")
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

                self.slow_create(img + ".slow", d)

            # The registry is persisted: a restarted daemon knows the volume.
            d2 = new_daemon(stack, name="daemon2")
            d2.extra_env.update(stack.abrmd.env)
            with d2:
                self.assertIn([img, obj], mcall("ListVolumes")[0])
                self.assertEqual(vcall(obj, "Status")[1]["UUID"]["data"], uuid)

    def recovery_key_job(self, obj):
        """AddRecoveryKey from a connection that stays (a job with a secret result goes away when its starter
        disconnects, and busctl disconnects after each call): the system python's dbus module holds it in a
        child. Only the starter's uid reads the Result; anyone sees the State; the job is gone once the
        starter disconnected."""
        # python3-dbus comes from scripts/install-deps: without it this check fails rather than going untested.
        self.assertEqual(subprocess.run(["/usr/bin/python3", "-c", "import dbus"], capture_output=True).returncode, 0,
                         "/usr/bin/python3 has no dbus module (package python3-dbus)")
        child = subprocess.Popen(["/usr/bin/python3", "-c", STARTER, obj, PASS.decode()], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        try:
            job, state, rkey, rslot = json.loads(child.stdout.readline())
            self.assertEqual(state, "done")
            self.assertEqual(prop(job, "State", user="nobody"), "done")
            self.assertEqual(prop(job, "Object", user="nobody"), obj)
            self.assertEqual(prop(job, "Operation"), "AddRecoveryKey")
            p = busctl("get-property", NAME, job, JOB, "Result", user="nobody", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("denied", p.stderr.lower())
            self.assertNotIn(rkey, p.stdout + p.stderr)
            self.assertEqual(prop(job, "Result")["recovery_key"]["data"], rkey)  # the same uid
            # GetAll keeps working for others, with the Result empty.
            p = busctl("call", NAME, job, "org.freedesktop.DBus.Properties", "GetAll", "s", JOB, user="nobody")
            self.assertEqual(json.loads(p.stdout)["data"][0]["Result"]["data"], {})
            self.assertNotIn(rkey, p.stdout)
        finally:
            child.stdin.close()
            child.wait(timeout=30)
        for _ in range(100):
            if prop(job, "State", check=False) is None:
                break
            time.sleep(0.05)
        self.assertIsNone(prop(job, "State", check=False))
        return rkey, rslot

    def slow_create(self, img, d):
        """An argon2id create (benchmarked to 2 s, little memory) runs on its thread: its job's Progress rises
        in PropertiesChanged, the loop answers a Ping meanwhile, a second operation waits, Completed
        arrives, and the Result is what the call would have returned."""
        monitor = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", NAME], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(0.5)  # the monitor's match is in place
            p = busctl("call", NAME, PATH, MANAGER, "CreateVolume", "saya{sv}", img, *ay(PASS), "3", "size", "t",
                       str(SIZE), "pbkdf", "s", "argon2id", "memory-kb", "u", "32768")
            job = json.loads(p.stdout)["data"][0]
            self.assertEqual(prop(job, "Operation"), "CreateVolume")
            self.assertEqual(prop(job, "Object"), "/")
            self.assertEqual(prop(job, "State"), "running")
            self.assertEqual(prop(job, "Result"), {})
            # A second operation waits behind it with a job of its own, and fails in its turn.
            second = json.loads(busctl("call", NAME, PATH, MANAGER, "CreateVolume", "saya{sv}", "/nonexistent/x.img",
                                       *ay(PASS), *FAST).stdout)["data"][0]
            self.assertEqual(prop(second, "Progress"), 0.0)
            name, _ = raw(PATH + "/volume/_30", VOLUME, "Reseal", "a{sv}", "0")
            self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject")
            t = time.monotonic()
            busctl("call", NAME, PATH, "org.freedesktop.DBus.Peer", "Ping")
            self.assertLess(time.monotonic() - t, 1.0)
            self.assertEqual(prop(job, "State"), "running")
            name, res = job_wait(job)
            self.assertIsNone(name, res)
            self.assertEqual(res["recovery_key"], "")
            self.assertTrue(res["object"].startswith(PATH + "/volume/"))
            self.assertEqual(prop(res["object"], "UUID", interface=VOLUME), res["uuid"])
            self.assertEqual(prop(job, "Progress"), 1.0)
            self.assertEqual(job_wait(second)[0], ERROR + "NoSuchVolumeItem")
            daemon_alive(self, d)
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out, _ = monitor.communicate(timeout=10)
        progress = [float(x) for x in re.findall(re.escape(job) + r": org.freedesktop.DBus.Properties.PropertiesChanged"
                                                 r" \('" + re.escape(JOB) + r"', \{'Progress': <([0-9.e-]+)>", out)]
        self.assertGreaterEqual(len(progress), 3, out)
        self.assertEqual(progress, sorted(progress))
        self.assertLess(progress[0], 0.5)
        self.assertEqual(progress[-1], 1.0)
        self.assertRegex(out, re.escape(job) + r": " + re.escape(JOB) + r".Completed \(0, '', ''\)")

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
                ("saya{sv}", (img, p, "1", "authorize-key", "ay", "3", "1", "2", "3")),  # not a public key
                ("saya{sv}", (img, p, "1", "authorize-key", "s", "key.pem")),
                ("saya{sv}", (img, p, "1", "signed-policy", "ay", "4", "1", "2", "3", "4")),  # not a policy
                ("saya{sv}", (img, p, "1", "signed-policy", "ay", "0")),
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
