#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""SRK mismatch end to end: the daemon provisions the SRK and pins it; with no daemon running, the key at
0x81000001 is swapped for another storage key through tpm2-tools; the daemon, restarted with the same
TPM state and the same state directory, refuses the new key (Error.SRKMismatch) instead of re-pinning
it, and the pin file stays as it was. Removing the pin is the administrator's way to accept the key."""

import os
import shutil
import subprocess
import tempfile
import unittest

from daemontest import (ERROR, SRK_HANDLE, TPM, call, daemon_alive, new_daemon, provision_once, status,
                        tpharness, tptest)


def tpm2(swtpm, *args):
    p = subprocess.run([args[0], "-T", swtpm.tcti, *args[1:]], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


class SrkMismatchTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tp-srk-mismatch-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.tpm_state = os.path.join(self.tmp, "tpm")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.tpm_state, 0o700)
        os.mkdir(self.state, 0o700)

    def test_swapped_srk_is_refused(self):
        pin = os.path.join(self.state, "srk.pub")

        # 1. First boot: provision through the daemon, which pins the key.
        with tpharness.Stack(swtpm=True, bus=True, polkit=True, tpm_state_dir=self.tpm_state) as s:
            with new_daemon(s, state_dir=self.state):
                result = {k: v["data"] for k, v in call(TPM, "Provision", "a{sv}", 0)[0].items()}
                self.assertIs(result["Created"], True)
                self.assertEqual(result["SRKHandle"], int(SRK_HANDLE, 16))
                self.assertIs(status()["SRKProvisioned"], True)
        with open(pin, "rb") as f:
            pinned = f.read()
        pinned_stat = os.stat(pin)

        with tpharness.Stack(swtpm=True, bus=True, polkit=True, tpm_state_dir=self.tpm_state) as s:
            # 2. The kept TPM state still holds our key.
            self.assertEqual(s.swtpm.handles("persistent"), [SRK_HANDLE])

            # 3. No daemon runs: someone replaces it with another storage key (the other algorithm, so
            #    that its name differs whatever the daemon chose).
            other = "rsa2048:null:aes128cfb" if result["SRKAlgorithm"] == "ecc" else "ecc256:null:aes128cfb"
            ctx = os.path.join(self.tmp, "other.ctx")
            tpm2(s.swtpm, "tpm2_evictcontrol", "-C", "o", "-c", SRK_HANDLE)
            tpm2(s.swtpm, "tpm2_createprimary", "-C", "o", "-G", other, "-c", ctx, "-a",
                 "restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda")
            tpm2(s.swtpm, "tpm2_evictcontrol", "-C", "o", "-c", ctx, SRK_HANDLE)
            s.swtpm.flush_all()
            self.assertEqual(s.swtpm.handles("persistent"), [SRK_HANDLE])

            # 4. The daemon restarts with the same state directory and refuses the key.
            with new_daemon(s, name="daemon-again", state_dir=self.state) as d:
                with open(d.log_path) as f:
                    self.assertIn("differs from the one pinned", f.read())
                self.assertIs(status()["SRKProvisioned"], False)

                name, message = provision_once()
                self.assertEqual(name, ERROR + "SRKMismatch", message)
                self.assertIn("srk.pub", message)
                self.assertIs(status()["SRKProvisioned"], False)
                daemon_alive(self, d)

                with open(pin, "rb") as f:
                    self.assertEqual(f.read(), pinned, "the pin was rewritten")
                self.assertEqual(os.stat(pin).st_mtime_ns, pinned_stat.st_mtime_ns)
                self.assertEqual(os.stat(pin).st_ino, pinned_stat.st_ino)

                # 5. The administrator accepts the new key by removing the pin: adopted, not created.
                os.unlink(pin)
                self.assertEqual(provision_once(), ("ok", ""))
                self.assertIs(status()["SRKProvisioned"], True)
                with open(pin, "rb") as f:
                    self.assertNotEqual(f.read(), pinned)


if __name__ == "__main__":
    tptest.main()
