#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""trusted-platform-generator against golden files: each directory below golden/ holds the inputs
(crypttab, config/volumes.conf; either may be missing), the expected output tree (expected/, with the
symlinks listed in expected/SYMLINKS as "link -> target") and the expected warnings (stderr). Then every
generated unit must pass systemd-analyze verify (with ExecStart= pointed at the built helper), every
name must round-trip through systemd-escape, and unusual or malformed input must never give a unit.

UPDATE_GOLDEN=1 rewrites expected/ and stderr from the current output (review the diff!)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ["PROJECT_SOURCE_ROOT"], "tests", "harness"))
import tptest  # noqa: E402

GENERATOR = os.environ["TP_GENERATOR"]
HELPER = os.environ["TP_UNLOCK_HELPER"]
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
INSTALLED_HELPER = "/usr/libexec/trusted-platform/trusted-platform-unlock"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def run_generator(case_dir, out, helper=INSTALLED_HELPER, crypttab=None, config=None):
    env = dict(os.environ)
    env.pop("TRUSTED_PLATFORM_LOG_LEVEL", None)  # golden stderr holds warnings only
    env["TRUSTED_PLATFORM_CRYPTTAB"] = crypttab or os.path.join(case_dir, "crypttab")
    env["TRUSTED_PLATFORM_CONFIG_DIR"] = config or os.path.join(case_dir, "config")
    env["TRUSTED_PLATFORM_UNLOCK_HELPER"] = helper
    env["TRUSTED_PLATFORM_LOG_TARGET"] = "console"
    os.makedirs(out, exist_ok=True)
    early, late = out + ".early", out + ".late"
    os.makedirs(early, exist_ok=True)
    os.makedirs(late, exist_ok=True)
    p = subprocess.run([GENERATOR, out, early, late], env=env, capture_output=True, text=True, timeout=30)
    # Nothing may go to the early or late directories.
    assert os.listdir(early) == [] and os.listdir(late) == [], "wrote outside the normal directory"
    return p


def normalize(out, case_dir):
    """Symlinks to a SYMLINKS listing, the case directory in SourcePath= to @CASE@."""
    links = []
    for root, dirs, files in os.walk(out):
        for f in dirs + files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                links.append(f"{os.path.relpath(p, out)} -> {os.readlink(p)}")
                os.unlink(p)
            elif os.path.isfile(p):
                with open(p, encoding="utf-8", errors="surrogateescape") as fh:
                    text = fh.read()
                with open(p, "w", encoding="utf-8", errors="surrogateescape") as fh:
                    fh.write(text.replace(case_dir, "@CASE@"))
    for root, dirs, files in os.walk(out, topdown=False):
        for d in dirs:
            p = os.path.join(root, d)
            if not os.listdir(p):
                os.rmdir(p)
    with open(os.path.join(out, "SYMLINKS"), "w") as fh:
        fh.write("".join(f"{line}\n" for line in sorted(links)))


def exec_unquote(word):
    """One double-quoted Exec*= argument back to its value (the generator's quoting reversed)."""
    assert word.startswith('"') and word.endswith('"'), word
    s, out, i = word[1:-1], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if s[i + 1] == "x":
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append(s[i + 1])
            i += 2
        elif c in "%$":
            assert s[i + 1] == c, f"lone {c} in {word}"
            out.append(c)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def exec_words(line):
    """Splits ExecStart= at the spaces outside double quotes."""
    return re.findall(r'"(?:[^"\\]|\\.)*"|[^ ]+', line)


def escape(*args):
    return subprocess.run(["systemd-escape", *args], capture_output=True, text=True, check=True,
                          errors="surrogateescape").stdout.rstrip("\n")


def man_env(tmp):
    """With the built man pages ($TP_MANDIR), verify also checks that Documentation= pages exist."""
    mandir = os.environ.get("TP_MANDIR")
    if not mandir:
        return None
    for page in os.listdir(mandir):
        sec = page.rsplit(".", 1)[-1]
        if sec.isdigit():
            os.makedirs(os.path.join(tmp, "man", f"man{sec}"), exist_ok=True)
            os.symlink(os.path.join(mandir, page), os.path.join(tmp, "man", f"man{sec}", page))
    return dict(os.environ, MANPATH=os.path.join(tmp, "man"))


def verify(path, env=None):
    d = os.path.dirname(path)
    p = subprocess.run(["systemd-analyze", "verify", f"--man={'yes' if env else 'no'}", "--generators=no", path],
                       capture_output=True, text=True, cwd=d, errors="surrogateescape", env=env)
    return p.returncode, (p.stdout + p.stderr).strip()


CASES = sorted(d for d in os.listdir(GOLDEN) if os.path.isdir(os.path.join(GOLDEN, d)))


class GeneratorTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tp-generator-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def generated_units(self, out):
        return sorted(f for f in os.listdir(out) if f.endswith((".service", ".mount"))
                      and os.path.isfile(os.path.join(out, f)))

    def test_golden(self):
        for case in CASES:
            with self.subTest(case=case):
                case_dir = os.path.join(GOLDEN, case)
                out = os.path.join(self.tmp, case)
                p = run_generator(case_dir, out)
                self.assertEqual(p.returncode, 0, p.stderr)
                normalize(out, case_dir)
                stderr = p.stderr.replace(case_dir, "@CASE@")
                expected = os.path.join(case_dir, "expected")
                if UPDATE:
                    shutil.rmtree(expected, ignore_errors=True)
                    shutil.copytree(out, expected, symlinks=True)
                    with open(os.path.join(case_dir, "stderr"), "w") as fh:
                        fh.write(stderr)
                d = subprocess.run(["diff", "-ruN", "--no-dereference", expected, out],
                                   capture_output=True, text=True, errors="surrogateescape")
                self.assertEqual(d.returncode, 0, d.stdout)
                with open(os.path.join(case_dir, "stderr")) as fh:
                    self.assertEqual(stderr, fh.read())

    def test_units_verify(self):
        env = man_env(self.tmp)
        for case in CASES:
            case_dir = os.path.join(GOLDEN, case)
            out = os.path.join(self.tmp, case)
            p = run_generator(case_dir, out, helper=HELPER)
            self.assertEqual(p.returncode, 0, p.stderr)
            for unit in self.generated_units(out):
                with self.subTest(case=case, unit=unit):
                    rc, text = verify(os.path.join(out, unit), env)
                    self.assertEqual((rc, text), (0, ""), f"systemd-analyze verify {unit}")

    def test_names_match_systemd_escape(self):
        """Every unit name, device unit and argument as systemd itself derives it."""
        checked = 0
        for case in CASES:
            case_dir = os.path.join(GOLDEN, case)
            out = os.path.join(self.tmp, case)
            run_generator(case_dir, out)
            for unit in self.generated_units(out):
                if not unit.startswith("trusted-platform-unlock@"):
                    continue
                with open(os.path.join(out, unit), encoding="utf-8", errors="surrogateescape") as fh:
                    lines = fh.read().splitlines()
                start = next(line for line in lines if line.startswith("ExecStart="))
                words = exec_words(start[len("ExecStart="):])
                self.assertEqual(words[:2], [INSTALLED_HELPER, "attach"])
                name, node = exec_unquote(words[2]), exec_unquote(words[3])
                with self.subTest(case=case, name=name):
                    self.assertEqual(unit, f"trusted-platform-unlock@{escape(name)}.service")
                    device = escape("--path", "--suffix=device", node)
                    self.assertIn(f"BindsTo={device}", lines)
                    self.assertIn(f"After={device}", lines)
                    stop = next(line for line in lines if line.startswith("ExecStop="))
                    self.assertEqual(exec_unquote(exec_words(stop)[2]), name)
                    checked += 1
        self.assertGreaterEqual(checked, 10)

    def test_mount_names_match_systemd_escape(self):
        case_dir = os.path.join(GOLDEN, "volumes-conf")
        out = os.path.join(self.tmp, "m")
        run_generator(case_dir, out)
        mounts = [u for u in self.generated_units(out) if u.endswith(".mount")]
        self.assertEqual(mounts, [escape("--path", "--suffix=mount", "/srv/trusted data")])

    def test_no_inputs_no_units(self):
        out = os.path.join(self.tmp, "none")
        p = run_generator(self.tmp, out, crypttab=os.path.join(self.tmp, "missing"),
                          config=os.path.join(self.tmp, "missing-dir"))
        self.assertEqual((p.returncode, p.stderr, os.listdir(out)), (0, "", []))

    def test_malformed_lines_never_give_units(self):
        """Each malformed or unusable line alone: a warning on stderr, exit 0, and no file at all."""
        bad = [
            "onlyname",
            "a b c d e",
            '"unterminated /dev/sda1 none x-trusted-platform',
            "name /dev/sda1 none x-trusted-platform\\",
            "na\x1bme /dev/sda1 none x-trusted-platform",
            "name\r /dev/sda1 none x-trusted-platform",
            "a/b /dev/sda1 none x-trusted-platform",
            ".. /dev/sda1 none x-trusted-platform",
            ". /dev/sda1 none x-trusted-platform",
            "x" * 128 + " /dev/sda1 none x-trusted-platform",
            "relative sda1 none x-trusted-platform",
            "empty UUID= none x-trusted-platform",
            "dots /dev/../sda1 none x-trusted-platform",
            "tag ID=abc none x-trusted-platform",
            "long /dev/" + "d" * 260 + " none x-trusted-platform",
            " " * 5000 + "big /dev/sda1 none x-trusted-platform",
        ]
        for i, line in enumerate(bad):
            with self.subTest(line=line[:40]):
                crypttab = os.path.join(self.tmp, f"crypttab{i}")
                with open(crypttab, "w", encoding="utf-8", errors="surrogateescape") as fh:
                    fh.write(line + "\n")
                out = os.path.join(self.tmp, f"bad{i}")
                p = run_generator(self.tmp, out, crypttab=crypttab, config=os.path.join(self.tmp, "none"))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("ignoring", p.stderr)
                self.assertNotIn("Sanitizer", p.stderr)
                self.assertEqual(os.listdir(out), [])

    def test_bad_arguments(self):
        for args in ([], ["a"], ["a", "b"], ["a", "b", "c", "d"]):
            with self.subTest(args=args):
                p = subprocess.run([GENERATOR, *args], capture_output=True, text=True)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("three arguments", p.stderr)
                self.assertNotIn("Sanitizer", p.stderr)

    def test_bad_helper_path(self):
        for helper in ("relative/unlock", "/usr/lib/with space/unlock", "/a/../b"):
            with self.subTest(helper=helper):
                out = os.path.join(self.tmp, "h")
                p = run_generator(os.path.join(GOLDEN, "basic"), out, helper=helper)
                self.assertNotEqual(p.returncode, 0)
                self.assertNotIn("Sanitizer", p.stderr)
                self.assertEqual(os.listdir(out), [])


if __name__ == "__main__":
    tptest.main()
