#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Job.Cancel() and the Progress of volume jobs (job.c, volume.c), on swtpm behind tpm2-abrmd with polkitd:
- a running argon2id create is cancelled: the job fails with Error.Cancelled, the image file it made is
  gone, no volume is registered, the daemon answers a Ping;
- a new recovery key (argon2id) cancelled while it runs is rolled back: the keyslots are as before, no
  journal is left, and the volume takes the next change;
- a create waiting behind another one is dropped at once when cancelled; nobody may not cancel it;
- the Progress of an argon2id create rises strictly through several values below 1 (interpolated during
  the KDF), published at most about every 200 ms, then 1;
- Cancel() of a finished job is Error.JobFinished; 12+ malformed Cancel() calls are InvalidArgs;
- tpctl volume create: SIGINT cancels the job and tpctl exits 130."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from daemontest import (ERROR, INVALID, MANAGER, NAME, PATH, TPCTL, bus_call, busctl, daemon_alive, new_daemon,
                        tpharness, tptest)

JOB = NAME + ".Job"
VOLUME = NAME + ".Volume"
DENIED = ("org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
PASS = b"correct horse battery"
SIZE = 32 * 1024 * 1024
FAST = ("3", "size", "t", str(SIZE), "pbkdf", "s", "pbkdf2", "iterations", "u", "1000")
# argon2id benchmarked to its 2 s default, with little memory: seconds of work without a callback.
SLOW = ("3", "size", "t", str(SIZE), "pbkdf", "s", "argon2id", "memory-kb", "u", "32768")


def ay(b):
    return [str(len(b))] + [str(x) for x in b]


def prop(obj, name, user=None, check=True):
    p = busctl("get-property", NAME, obj, JOB, name, user=user, check=check)
    return json.loads(p.stdout)["data"] if p.returncode == 0 else None


def create(img, *options):
    p = busctl("call", NAME, PATH, MANAGER, "CreateVolume", "saya{sv}", img, *ay(PASS), *options)
    return json.loads(p.stdout)["data"][0]


def wait(job, timeout=180):
    deadline = time.monotonic() + timeout
    while prop(job, "State") == "running":
        if time.monotonic() > deadline:
            raise AssertionError(f"{job} still runs")
        time.sleep(0.05)
    return prop(job, "State"), prop(job, "ErrorName"), prop(job, "ErrorMessage")


def raw(obj, method, sig, *args, user=None):
    os.environ["TP_BUS_INTERFACE"] = JOB
    os.environ["TP_BUS_PATH"] = obj
    try:
        return bus_call(method, sig, *args, user=user)
    finally:
        del os.environ["TP_BUS_PATH"]


def volume_rows():
    p = busctl("call", NAME, PATH, MANAGER, "ListVolumes")
    return json.loads(p.stdout)["data"][0]


def volumes():
    return [v[0] for v in volume_rows()]


class VolumeCancelTest(unittest.TestCase):

    def test_cancel(self):
        with tpharness.Stack(swtpm=True, abrmd=True, bus=True, polkit=True) as stack, \
                tempfile.TemporaryDirectory(prefix="tp-volume-cancel-") as tmp:
            os.chmod(tmp, 0o755)
            d = new_daemon(stack)
            d.extra_env.update(stack.abrmd.env)
            with d:
                self.cancel_running(os.path.join(tmp, "running.img"), d)
                self.cancel_recovery_key(os.path.join(tmp, "volume.img"))
                job = self.cancel_queued_and_progress(os.path.join(tmp, "a.img"), os.path.join(tmp, "b.img"))
                self.finished_and_malformed(job)
                self.tpctl_sigint(os.path.join(tmp, "tpctl.img"), tmp)
                daemon_alive(self, d)

    def cancel_running(self, img, d):
        job = create(img, *SLOW)
        # Running on the thread: the image file is made at once, the benchmark takes seconds.
        deadline = time.monotonic() + 30
        while not os.path.exists(img) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(img))
        time.sleep(0.5)
        self.assertEqual(prop(job, "State"), "running")
        # Refused by polkit in the daemon (the bus lets everyone call the Job interface).
        name, msg = raw(job, "Cancel", "a{sv}", "0", user="nobody")
        self.assertIn(name, DENIED, msg)
        self.assertNotIn("Rejected send message", msg)
        self.assertEqual(prop(job, "State"), "running")
        t = time.monotonic()
        busctl("call", NAME, job, JOB, "Cancel", "a{sv}", "0")
        # A second Cancel() while it stops is no error.
        busctl("call", NAME, job, JOB, "Cancel", "a{sv}", "0", check=False)
        state, name, msg = wait(job)
        self.assertEqual((state, name), ("failed", ERROR + "Cancelled"), msg)
        self.assertIn("Cancelled", msg)
        # Stopped at the next safe point: the end of the benchmark measurement or of one keyslot's KDF.
        self.assertLess(time.monotonic() - t, 30)
        self.assertLess(prop(job, "Progress"), 1.0)
        self.assertFalse(os.path.exists(img), "the image the cancelled create made is left")
        self.assertNotIn(img, volumes())
        daemon_alive(self, d)

    def status(self, obj):
        p = busctl("call", NAME, obj, VOLUME, "Status")
        return json.loads(p.stdout)["data"][1]

    def cancel_recovery_key(self, img):
        state, name, msg = wait(create(img, *FAST))
        self.assertEqual(state, "done", f"{name} {msg}")
        obj = [v[1] for v in volume_rows() if v[0] == img][0]
        before = self.status(obj)
        p = busctl("call", NAME, obj, VOLUME, "AddRecoveryKey", "aya{sv}", *ay(PASS), "0")  # argon2id, 2 s
        job = json.loads(p.stdout)["data"][0]
        time.sleep(1.0)
        busctl("call", NAME, job, JOB, "Cancel", "a{sv}", "0")
        state, name, msg = wait(job)
        self.assertEqual((state, name), ("failed", ERROR + "Cancelled"), msg)
        after = self.status(obj)
        self.assertEqual(after["Keyslots"], before["Keyslots"])
        self.assertEqual(after["Tokens"], before["Tokens"])
        self.assertFalse(after["Journal"]["data"])
        # The header is consistent: the next change goes through.
        p = busctl("call", NAME, obj, VOLUME, "AddRecoveryKey", "aya{sv}", *ay(PASS), "2", "pbkdf", "s", "pbkdf2",
                   "iterations", "u", "1000")
        # Its result holds a secret and busctl has gone: the job goes away when it ends.
        job = json.loads(p.stdout)["data"][0]
        deadline = time.monotonic() + 60
        while prop(job, "State", check=False) == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.status(obj)["Keyslots"]["data"]), len(before["Keyslots"]["data"]) + 1)

    def cancel_queued_and_progress(self, a, b):
        monitor = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", NAME], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(0.5)  # the monitor's match is in place
            started = time.monotonic()
            job_a = create(a, *SLOW)
            job_b = create(b, *FAST)  # waits behind a
            self.assertEqual(prop(job_b, "State"), "running")
            self.assertEqual(prop(job_b, "Progress"), 0.0)
            name, msg = raw(job_b, "Cancel", "a{sv}", "0", user="nobody")
            self.assertIn(name, DENIED, msg)
            self.assertNotIn("Rejected send message", msg)
            self.assertEqual(prop(job_b, "State"), "running")
            busctl("call", NAME, job_b, JOB, "Cancel", "a{sv}", "0")
            # Dropped at once, while a still runs; it never touched its path.
            self.assertEqual(prop(job_b, "State"), "failed")
            self.assertEqual(prop(job_b, "ErrorName"), ERROR + "Cancelled")
            self.assertEqual(prop(job_a, "State"), "running")
            self.assertFalse(os.path.exists(b))
            state, name, msg = wait(job_a)
            elapsed = time.monotonic() - started
            self.assertEqual(state, "done", f"{name} {msg}")
            self.assertIn(a, volumes())
            self.assertNotIn(b, volumes())
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out, _ = monitor.communicate(timeout=10)
        self.assertRegex(out, re.escape(job_b) + r": " + re.escape(JOB) + r".Completed \(-125, '" +
                         re.escape(ERROR) + "Cancelled'")
        progress = [float(x) for x in re.findall(re.escape(job_a) + r": org.freedesktop.DBus.Properties."
                                                 r"PropertiesChanged \('" + re.escape(JOB) +
                                                 r"', \{'Progress': <([0-9.e-]+)>", out)]
        # Interpolated during the benchmark and the keyslot's KDF (each about 2 s), not 0.05 -> 0.9 -> 1.
        self.assertGreaterEqual(len(progress), 8, progress)
        self.assertTrue(all(x < y for x, y in zip(progress, progress[1:])), progress)
        self.assertEqual(progress[-1], 1.0)
        self.assertLess(progress[-2], 1.0)
        self.assertLessEqual(len([x for x in progress if 0.05 < x < 0.9]), elapsed / 0.2 + 4, progress)
        self.assertGreaterEqual(len([x for x in progress if 0.05 < x < 0.9]), 5, progress)
        return job_a

    def finished_and_malformed(self, job):
        name, msg = raw(job, "Cancel", "a{sv}", "0")
        self.assertEqual(name, ERROR + "JobFinished", msg)
        self.assertIn("already ended", msg)
        for sig, args in (
                ("", ()), ("s", ("x",)), ("u", ("1",)), ("i", ("-1",)), ("a{sv}", ("2", "a", "u", "1", "b", "u", "2")), ("ay", ("00",)),
                ("au", ("1", "7")), ("as", ("1", "force")), ("a{sv}s", ("0", "x")), ("a{sv}a{sv}", ("0", "0")),
                ("a{sv}u", ("0", "1")), ("sa{sv}", ("x", "0")), ("a(sau)", ("0",)),
                ("a{sv}", ("1", "force", "b", "1")), ("a{sv}", ("1", "", "s", "")),
                ("a{sv}", ("1", "x" * 300, "u", "1")),
        ):
            name, msg = raw(job, "Cancel", sig, *args)
            self.assertEqual(name, INVALID, f"Cancel {sig} {args}: {name} {msg}")
        name, _ = raw(PATH + "/job/999999", "Cancel", "a{sv}", "0")
        self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject")

    def tpctl_sigint(self, img, tmp):
        pf = os.path.join(tmp, "pass")
        with open(pf, "w") as f:
            f.write("s3cret passphrase\n")
        p = subprocess.Popen([TPCTL, "--no-pager", "volume", "create", f"--size={SIZE}", "--alg=argon2id",
                              f"--passphrase-file={pf}", img], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(img) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(img))
            # The daemon made the file: tpctl is in the call (SIGINT held back until it has the job) or
            # waits for the job. Either way Ctrl-C now cancels it.
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("Cancelling", err)
        self.assertIn("Cancelled", err)
        self.assertEqual(out, "")
        self.assertFalse(os.path.exists(img))
        self.assertNotIn(img, volumes())


if __name__ == "__main__":
    tptest.main()
