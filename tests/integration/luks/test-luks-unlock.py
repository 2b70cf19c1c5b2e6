#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""trusted-platform-unlock against swtpm on LUKS2 image files (attach --no-activate: no device-mapper
here; and the keyscript mode). Each test has its own fresh swtpm, so PCR 15 starts at zero. Answers to
questions come from a fake ask-password program ($TRUSTED_PLATFORM_ASK_PASSWORD) that pops lines from a
file and records every prompt. The expected PCR 15 values are computed here from the volume key that
`cryptsetup luksDump --dump-volume-key` shows, independently of the C code (DESIGN §9, luks-measure.h)."""

import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tpharness  # noqa: E402
import tptest  # noqa: E402

UNLOCK = os.environ["TP_UNLOCK"]
GENERATOR = os.environ["TP_GENERATOR"]
TOOL = os.environ["TP_UNLOCK_TOOL"]
PASSPHRASE = "correct horse battery staple"  # LUKS_TEST_PASSPHRASE
ZERO = bytes(32)
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

ASK = """#!/bin/sh
# Fake systemd-ask-password / askpass: records the prompt, answers with the first line of $ANSWERS.
printf '%s\\n' "$*" >> "$ASKED"
if [ -n "$KILL_PID" ]; then
        # Wait until it is dead (a zombie: our test process reaps it later).
        kill -KILL "$KILL_PID"
        while [ -e "/proc/$KILL_PID" ] && ! grep -q ') Z ' "/proc/$KILL_PID/stat"; do :; done
fi
[ -s "$ANSWERS" ] || exit 1
head -n 1 "$ANSWERS"
sed -i 1d "$ANSWERS"
"""


def systemd_exec_argv(line):
    """An Exec*= line split and unescaped as systemd does for what the generator writes: words separated
    by blanks, double quotes, C escapes (\\\\, \\", \\xNN), then %% and $$."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        w, quoted = [], False
        while i < len(line) and (quoted or line[i] != " "):
            c = line[i]
            if c == '"':
                quoted = not quoted
                i += 1
            elif c == "\\" and line[i + 1] == "x":
                w.append(chr(int(line[i + 2:i + 4], 16)))
                i += 4
            elif c == "\\":
                w.append(line[i + 1])
                i += 2
            else:
                w.append(c)
                i += 1
        words.append("".join(w).replace("%%", "%").replace("$$", "$"))
    return words


def cryptsetup(*args, stdin=None):
    return subprocess.run(["cryptsetup", *args], input=stdin, capture_output=True, text=True, check=True).stdout


class Base(unittest.TestCase):
    check_leaks = True

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tp-unlock-")
        self.stack = tpharness.Stack(swtpm=True, check_leaks=self.check_leaks)
        self.stack.__enter__()
        self.tpm = self.stack.swtpm
        self.ask = os.path.join(self.tmp, "ask")
        with open(self.ask, "w") as f:
            f.write(ASK)
        os.chmod(self.ask, 0o755)
        self.answers = os.path.join(self.tmp, "answers")
        self.asked = os.path.join(self.tmp, "asked")
        self.env = dict(os.environ, **self.stack.env, TRUSTED_PLATFORM_ASK_PASSWORD=self.ask,
                        ANSWERS=self.answers, ASKED=self.asked, TRUSTED_PLATFORM_LOG_LEVEL="info",
                        TSS2_LOG="all+none")
        self.env.pop("KILL_PID", None)

    def tearDown(self):
        try:
            self.stack.__exit__(None, None, None)
        finally:
            shutil.rmtree(self.tmp)

    # --- helpers -------------------------------------------------------------------------------

    def image(self, name="a.img"):
        path = os.path.join(self.tmp, name)
        subprocess.run([TOOL, "format", path], check=True, env=self.env)
        return path

    def enroll(self, path, pcrs="7", pin=None):
        p = subprocess.run([TOOL, "enroll", path, pcrs] + ([pin] if pin else []), env=self.env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def answer(self, *lines):
        with open(self.answers, "w") as f:
            f.write("".join(f"{line}\n" for line in lines))

    def prompts(self):
        if not os.path.exists(self.asked):
            return []
        with open(self.asked) as f:
            return f.read().splitlines()

    def run_checked(self, argv, env, text=True):
        """Runs the helper; in a sanitizer build a report fails the test even where exit 1 is expected."""
        p = subprocess.run(argv, env=env, capture_output=True, text=text, timeout=120)
        err = p.stderr if text else p.stderr.decode(errors="replace")
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, err)
        return p

    def unlock(self, *args, env=None):
        return self.run_checked([UNLOCK, *args], env or self.env)

    def attach(self, path, name="data", options=None, env=None):
        return self.unlock("--no-activate", "attach", name, path, *([options] if options else []), env=env)

    def volume_key(self, path):
        out = cryptsetup("luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-", path, stdin=PASSPHRASE)
        hexkey = ""
        collecting = False
        for line in out.splitlines():
            if line.startswith("MK dump:"):
                collecting = True
                line = line[len("MK dump:"):]
            elif collecting and not line.startswith(("\t", " ")):
                break
            if collecting:
                hexkey += line.replace(" ", "").replace("\t", "")
        self.assertTrue(hexkey, out)
        return bytes.fromhex(hexkey)

    def expected_pcr15(self, paths, bank="sha256"):
        """PCR 15 after measuring each volume in order: extend(bank-hash(HMAC-SHA256(vk, prefix+uuid)))."""
        value = bytes(hashlib.new(bank).digest_size)
        for path in paths:
            uuid = cryptsetup("luksUUID", path).strip()
            data = hmac.new(self.volume_key(path), f"trusted-platform:luks2:{uuid}".encode(), "sha256").digest()
            value = hashlib.new(bank, value + hashlib.new(bank, data).digest()).digest()
        return value

    def banks(self):
        out = self.tpm._tool("tpm2_getcap", "pcrs")
        return [line.split(":")[0].strip(" -") for line in out.splitlines()
                if ":" in line and "15" in line.split(":", 1)[1]]


class UnlockTest(Base):
    def test_tpm_unlock_measures_pcr15(self):
        img = self.image()
        self.enroll(img, "7")
        self.assertEqual(self.tpm.read_pcr(15), ZERO)
        p = self.attach(img)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.prompts(), [], "nothing is asked when the TPM opens the volume")
        self.assertNotIn("Falling back", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))
        banks = self.banks()
        self.assertIn("sha256", banks)
        for bank in banks:
            with self.subTest(bank=bank):
                self.assertEqual(self.tpm.read_pcr(15, bank), self.expected_pcr15([img], bank))

    def test_pcr7_changed_falls_back_to_passphrase(self):
        img = self.image()
        self.enroll(img, "7")
        self.tpm.extend(7, "sha256", b"another boot loader")
        self.answer(PASSPHRASE)
        p = self.attach(img)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("TPM unlock refused: PCR 7 (sha256)", p.stderr)
        self.assertIn("Falling back to the passphrase or recovery key for 'data'", p.stderr)
        self.assertEqual(len(self.prompts()), 1)
        self.assertIn("Passphrase or recovery key for data:", self.prompts()[0])
        self.assertIn("--id=trusted-platform-unlock:data", self.prompts()[0])
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

    def test_pin_asked_wrong_then_right(self):
        img = self.image()
        self.enroll(img, "7", pin="1234")
        self.answer("9999", "1234")
        p = self.attach(img)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("TPM unlock refused: wrong PIN", p.stderr)
        self.assertEqual([("TPM PIN for data:" in a) for a in self.prompts()], [True, True])
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

    def test_wrong_pins_lockout_then_passphrase(self):
        """swtpm locks out after 3 failures: two "wrong PIN" with the tries left, then the lockout."""
        img = self.image()
        self.enroll(img, "7", pin="1234")
        self.answer("0000", "0000", "0000", PASSPHRASE)
        p = self.attach(img, options="tries=3")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("TPM unlock refused: wrong PIN, 2 tries left.", p.stderr)
        self.assertIn("TPM unlock refused: wrong PIN, 1 try left.", p.stderr)
        self.assertIn("TPM unlock refused: the TPM is in dictionary-attack lockout", p.stderr)
        self.assertIn("Falling back", p.stderr)
        self.assertEqual(len(self.prompts()), 4)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

    def test_wrong_passphrases_do_not_open_or_measure(self):
        img = self.image()
        self.enroll(img, "7")
        self.tpm.extend(7, "sha256", b"x")
        self.answer("wrong", "also wrong")
        p = self.attach(img, options="tries=2,luks")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.count("Wrong passphrase or recovery key"), 2)
        # tries=0: no limit (crypttab(5)); here the agent runs out of answers after five wrong ones.
        self.answer(*["wrong"] * 5)
        p = self.attach(img, options="tries=0")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.count("Wrong passphrase or recovery key"), 5)
        self.assertIn("No passphrase given", p.stderr)
        self.answer("wrong", "also wrong")
        p = self.attach(img, options="tries=2,luks")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.count("Wrong passphrase or recovery key"), 2)
        self.assertIn("Could not unlock 'data'", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), ZERO)

    def test_headless_never_asks(self):
        img = self.image()
        self.enroll(img, "7")
        self.tpm.extend(7, "sha256", b"x")
        self.answer(PASSPHRASE)
        p = self.attach(img, options="headless")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("TPM unlock refused", p.stderr)
        self.assertEqual(self.prompts(), [])
        self.assertEqual(self.tpm.read_pcr(15), ZERO)

    def test_two_volumes_chain_pcr15(self):
        """Each unlock extends PCR 15 once; in the generated order the value after both is fixed."""
        a, b = self.image("a.img"), self.image("b.img")
        self.enroll(a, "7")
        self.enroll(b, "7")
        for path, name in ((a, "a"), (b, "b")):
            p = self.attach(path, name=name)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([a, b]))
        self.assertNotEqual(self.expected_pcr15([a, b]), self.expected_pcr15([b, a]))

    def test_volume_without_token_uses_passphrase_and_measures(self):
        img = self.image()
        self.answer(PASSPHRASE)
        p = self.attach(img)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("has no trusted-platform-tpm2 token", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

    def test_recovery_key_typed_loosely(self):
        # The keyslot holds the canonical text (groups of modhex joined by '-'); a key typed in capitals
        # with spaces opens it too, a wrong one does not.
        img = self.image()
        key = "-".join(["cbdefghi", "jklnrtuv"] * 4)
        old = os.path.join(self.tmp, "old")
        new = os.path.join(self.tmp, "new")
        with open(old, "w") as f:
            f.write(PASSPHRASE)
        with open(new, "w") as f:
            f.write(key)
        cryptsetup("luksAddKey", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", old,
                   img, new)
        self.answer(key.replace("-", " ").upper())
        p = self.attach(img)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))
        self.answer(key.replace("-", " ").upper()[:-1] + "C")
        p = self.attach(img, options="tries=1")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Wrong passphrase or recovery key", p.stderr)

    def test_volume_substitution(self):
        """ATTACKS b-6: A's token is bound to PCR 7 and PCR 15 = 0. Opening an attacker's volume B with
        A's UUID (same TPM, passphrase fallback) moves PCR 15, after which A's token no longer unseals."""
        a = self.image("a.img")
        self.enroll(a, "7,15")
        # Before any unlock A's token unseals (so the refusal below is caused by B).
        self.assertEqual(subprocess.run([TOOL, "unseal", a, "0"], env=self.env).returncode, 0)
        # The attacker's volume carries A's UUID, so only its key tells the two apart.
        b = self.image("b.img")
        cryptsetup("luksUUID", "--batch-mode", "--uuid", cryptsetup("luksUUID", a).strip(), b)
        self.assertEqual(cryptsetup("luksUUID", a), cryptsetup("luksUUID", b))
        self.answer(PASSPHRASE)
        p = self.attach(b, name="b")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotEqual(self.tpm.read_pcr(15), ZERO)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([b]))
        # ... and a secret sealed to PCR 15 after A (the value A gives) is out of reach after B.
        self.assertNotEqual(self.expected_pcr15([b]), self.expected_pcr15([a]))
        u = subprocess.run([TOOL, "unseal", a, "0"], env=self.env, capture_output=True, text=True)
        self.assertEqual(u.returncode, 1, u.stdout + u.stderr)
        self.assertIn("PCR 15", u.stdout)
        p = self.attach(a, options="headless")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("TPM unlock refused: PCR 15 (sha256)", p.stderr)

    def test_no_tpm_fails_closed(self):
        img = self.image()
        self.answer(PASSPHRASE)
        env = dict(self.env, TRUSTED_PLATFORM_TCTI=f"swtpm:path={self.tmp}/no-such-socket")
        p = self.attach(img, env=env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("Refusing to open 'data': measuring it into PCR 15 failed", p.stderr)
        self.assertNotIn("Checked 'data'", p.stderr)

    def test_keyscript_prints_exactly_the_key(self):
        img = self.image()
        secret = self.enroll(img, "7")
        link = os.path.join(self.tmp, "trusted-platform-keyscript")
        os.symlink(UNLOCK, link)
        env = dict(self.env, CRYPTTAB_NAME="root", CRYPTTAB_SOURCE=img, CRYPTTAB_TRIED="0",
                   CRYPTTAB_OPTIONS="luks,keyscript=/usr/libexec/trusted-platform/trusted-platform-keyscript")
        for argv in ([link, "none"], [UNLOCK, "keyscript", "none"], [UNLOCK, "keyscript"]):
            with self.subTest(argv=argv[1:]):
                p = self.run_checked(argv, env, text=False)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, secret.encode())
        self.assertEqual(self.prompts(), [])
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img, img, img]))

    def test_keyscript_falls_back_to_askpass(self):
        img = self.image()
        self.enroll(img, "7")
        self.tpm.extend(7, "sha256", b"x")
        env = dict(self.env, CRYPTTAB_NAME="root", CRYPTTAB_SOURCE=img, CRYPTTAB_TRIED="0")
        self.answer(PASSPHRASE)
        p = self.run_checked([UNLOCK, "keyscript"], env, text=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, PASSPHRASE.encode())
        self.assertIn(b"TPM unlock refused: PCR 7", p.stderr)
        self.assertEqual(self.prompts(), ["Passphrase or recovery key for root:"])  # askpass style
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

        # A wrong passphrase: nothing printed, exit 1 (cryptroot counts the try and calls again), and a
        # later try (CRYPTTAB_TRIED=1) goes straight to the passphrase.
        self.answer("wrong")
        env["CRYPTTAB_TRIED"] = "1"
        p = self.run_checked([UNLOCK, "keyscript"], env, text=False)
        self.assertEqual((p.returncode, p.stdout), (1, b""), p.stderr)
        self.assertNotIn(b"TPM unlock", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

    def test_not_luks(self):
        path = os.path.join(self.tmp, "plain")
        with open(path, "wb") as f:
            f.write(bytes(1 << 20))
        p = self.attach(path)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("is not a LUKS2 volume", p.stderr)
        p = self.attach(os.path.join(self.tmp, "missing"))
        self.assertEqual(p.returncode, 1, p.stderr)

    def test_bad_arguments(self):
        img = self.image()
        self.answer(PASSPHRASE)
        cases = [
            [],
            ["frobnicate"],
            ["--bogus", "attach", "a", img],
            ["-x", "attach", "a", img],
            ["attach"],
            ["attach", "a"],
            ["attach", "a", img, "luks", "extra"],
            ["attach", "", img],
            ["attach", "a/b", img],
            ["attach", "..", img],
            ["attach", ".", img],
            ["attach", "x" * 128, img],
            ["attach", "tab\tname", img],
            ["attach", "a", "relative.img"],
            ["attach", "a", ""],
            ["attach", "a", img, "tries=0x3"],
            ["attach", "a", img, "tries=abc"],
            ["attach", "a", img, "tries=101"],
            ["attach", "a", img, "tries=-1"],
            ["attach", "a", img, "headless=maybe"],
            ["attach", "a", img, "x-trusted-platform-tcti="],
            ["attach", "a", img, "x-trusted-platform-tcti=" + "d" * 300],
            ["attach", "a", img, "luks,,discard"],
            ["attach", "a", img, "luks,"],
            ["attach", "a", img, "luks discard"],
            ["attach", "a", img, "quote\"d"],
            ["attach", "a", img, "x" * 5000],
            ["detach"],
            ["detach", "a", "b"],
            ["detach", "a/b"],
            ["--no-activate", "detach", "a"],
            ["keyscript", "none", "extra"],
            ["--no-activate", "keyscript"],
        ]
        for args in cases:
            with self.subTest(args=[a[:20] for a in args]):
                p = self.unlock(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertTrue(p.stderr.strip(), "a usage error says what is wrong")
        # The keyscript's environment is its arguments.
        for env in ({}, {"CRYPTTAB_NAME": "root"}, {"CRYPTTAB_SOURCE": img},
                    {"CRYPTTAB_NAME": "a/b", "CRYPTTAB_SOURCE": img},
                    {"CRYPTTAB_NAME": "root", "CRYPTTAB_SOURCE": "rel"},
                    {"CRYPTTAB_NAME": "root", "CRYPTTAB_SOURCE": img, "CRYPTTAB_TRIED": "x"},
                    {"CRYPTTAB_NAME": "root", "CRYPTTAB_SOURCE": img, "CRYPTTAB_OPTIONS": "tries=many"}):
            with self.subTest(env=env):
                p = self.run_checked([UNLOCK, "keyscript"], dict(self.env, **env), text=False)
                self.assertEqual((p.returncode, p.stdout), (2, b""), p.stderr)
        self.assertEqual(self.prompts(), [], "no usage error gets as far as asking")
        self.assertEqual(self.tpm.read_pcr(15), ZERO)

    def test_unusable_answers(self):
        """An oversized answer, a cancelled question and a missing agent open nothing."""
        img = self.image()
        self.answer("x" * 5000)
        p = self.attach(img, options="tries=1")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("No passphrase given for 'data'", p.stderr)
        self.answer()  # the fake agent exits 1: cancelled
        p = self.attach(img)
        self.assertEqual(p.returncode, 1, p.stderr)
        p = self.attach(img, env=dict(self.env, TRUSTED_PLATFORM_ASK_PASSWORD=os.path.join(self.tmp, "nope")))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not found", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), ZERO)

    def test_generated_unit_runs_the_helper(self):
        """End to end: a crypttab line with an unusual name becomes a unit whose ExecStart=, read back as
        systemd reads it, runs the helper with the right volume, device and options."""
        img = self.image("my image.img")
        self.enroll(img, "7")
        crypttab = os.path.join(self.tmp, "crypttab")
        with open(crypttab, "w") as f:
            f.write(f'"my $dis%k" "{img}" none luks,x-trusted-platform,tries=2\n')
        out = os.path.join(self.tmp, "units")
        for d in (out, out + ".early", out + ".late"):
            os.mkdir(d)
        env = dict(self.env, TRUSTED_PLATFORM_CRYPTTAB=crypttab, TRUSTED_PLATFORM_UNLOCK_HELPER=UNLOCK,
                   TRUSTED_PLATFORM_CONFIG_DIR=os.path.join(self.tmp, "none"))
        g = subprocess.run([GENERATOR, out, out + ".early", out + ".late"], env=env, capture_output=True, text=True)
        self.assertEqual(g.returncode, 0, g.stderr)
        unit = os.path.join(out, "trusted-platform-unlock@my\\x20\\x24dis\\x25k.service")
        with open(unit) as f:
            start = next(line for line in f.read().splitlines() if line.startswith("ExecStart="))
        argv = systemd_exec_argv(start[len("ExecStart="):])
        self.assertEqual(argv, [UNLOCK, "attach", "my $dis%k", img, "luks,x-trusted-platform,tries=2"])
        p = self.unlock("--no-activate", *argv[1:])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Checked 'my $dis%k'", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))

    def test_detach_not_open(self):
        """ExecStop= of a volume that is gone (or never opened) is not a failure at shutdown."""
        p = self.unlock("detach", "never-opened")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Volume 'never-opened' is not open.", p.stderr)

    def test_help(self):
        p = self.unlock("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("attach NAME DEVICE", p.stdout)


class UnlockTpmGoneTest(Base):
    """The TPM disappears after it refused the token and while the passphrase is asked: the measurement
    then fails, and the volume must not be opened. (The leak check is off: swtpm is dead.)"""

    check_leaks = False

    def test_tpm_gone_before_measurement(self):
        img = self.image()
        self.enroll(img, "7")
        self.tpm.extend(7, "sha256", b"x")
        self.answer(PASSPHRASE)
        env = dict(self.env, KILL_PID=str(self.tpm.pid))
        p = self.attach(img, env=env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("TPM unlock refused: PCR 7", p.stderr)
        self.assertIn("Refusing to open 'data': measuring it into PCR 15 failed", p.stderr)
        self.assertNotIn("Checked 'data'", p.stderr)

    def test_configured_tpm_unseals_and_measures(self):
        # No $TRUSTED_PLATFORM_TCTI: the helper takes the TPM from [TPM] Device= for the unseal and, as the
        # measurement must land in the TPM that unsealed, for PCR 15 as well.
        img = self.image()
        self.enroll(img, "7")
        config = os.path.join(self.tmp, "config")
        os.makedirs(config, exist_ok=True)
        with open(os.path.join(config, "trusted-platform.conf"), "w") as f:
            f.write(f"[TPM]\nDevice={self.env['TRUSTED_PLATFORM_TCTI']}\n")
        env = dict(self.env, TRUSTED_PLATFORM_CONFIG_DIR=config)
        del env["TRUSTED_PLATFORM_TCTI"]
        p = self.attach(img, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.prompts(), [])
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))
        # A configured TPM that is not there: nothing opens, nothing is measured anywhere else.
        with open(os.path.join(config, "trusted-platform.conf"), "w") as f:
            f.write(f"[TPM]\nDevice=swtpm:path={self.tmp}/no-such-socket\n")
        self.answer(PASSPHRASE)
        p = self.attach(img, env=env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("no-such-socket", p.stderr)
        self.assertEqual(self.tpm.read_pcr(15), self.expected_pcr15([img]))


if __name__ == "__main__":
    tptest.main()
