#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""udev/60-trusted-platform.rules: well-formed, read by udev without a complaint, and giving the TPM
resource manager to the tss group without disagreeing with Debian's tpm-udev.

systemd 252 has no `udevadm verify` and udev's parser accepts some broken lines silently (a missing
comma, for one), so a strict checker of our own runs first; then `udevadm test` reads the file in a
private mount namespace (rules directories, /dev and /run replaced by empty tmpfs, so nothing on the
host changes) and must say nothing about it. Must run as root. usage: test-udev-rules.py RULES (TAP)"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK", "SUBSYSTEM", "SUBSYSTEMS",
              "DRIVER", "DRIVERS", "TAG", "TAGS", "TEST", "PROGRAM", "RESULT", "CONST", "SYSCTL"}
MATCH_KEYS_ATTR = {"ATTR", "ATTRS", "SYSCTL", "ENV", "TEST", "CONST"}
ASSIGN_KEYS = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "TAG", "SECLABEL", "ENV", "RUN", "LABEL",
               "GOTO", "IMPORT", "OPTIONS", "ATTR", "SYSCTL", "WAIT_FOR"}
TOKEN = re.compile(r'\s*([A-Z_]+)(\{[^}]*\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
TPM_UDEV = "/usr/lib/udev/rules.d/60-tpm-udev.rules"

results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {what}")
    for line in detail.strip().splitlines():
        print(f"# {line}")


def parse_line(line):
    """Returns a list of (key, attr, op, value), or raises ValueError naming the problem."""
    tokens, pos = [], 0
    while True:
        m = TOKEN.match(line, pos)
        if not m:
            raise ValueError(f"cannot parse at column {pos + 1}: {line[pos:]!r}")
        key, attr, op, value = m.group(1), m.group(2), m.group(3), m.group(4)
        if op in ("==", "!="):
            if key not in MATCH_KEYS | MATCH_KEYS_ATTR:
                raise ValueError(f"{key} is not a match key")
        elif key not in ASSIGN_KEYS:
            raise ValueError(f"{key} cannot be assigned")
        if attr and key not in MATCH_KEYS_ATTR | {"ATTR", "ENV", "SYSCTL", "IMPORT", "RUN", "SECLABEL"}:
            raise ValueError(f"{key} takes no {{attribute}}")
        if key == "MODE" and not re.fullmatch(r"0[0-7]{3}", value):
            raise ValueError(f"MODE={value!r} is not an octal mode")
        tokens.append((key, attr, op, value))
        pos = m.end()
        if pos == len(line):
            return tokens
        if line[pos] != ",":
            raise ValueError(f"missing ',' at column {pos + 1}")
        pos += 1


def rules_of(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out.append((n, line))
    return out


def udevadm_diagnostics(rules):
    """Runs udevadm test with only the given rules files installed; returns its lines about them."""
    tmp = tempfile.mkdtemp(prefix="tp-udev-")
    try:
        for r in rules:
            shutil.copy(r, tmp)
        script = ("set -e; for d in /run /dev /usr/lib/udev/rules.d /etc/udev/rules.d; do "
                  "mount -t tmpfs tmpfs $d; done; cp \"$1\"/*.rules /etc/udev/rules.d/; "
                  "udevadm test --action=add /sys/class/mem/null")
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", tmp],
                           capture_output=True, text=True, timeout=60)
        lines = (p.stdout + p.stderr).splitlines()
        read = [l for l in lines if l.startswith("Reading rules file:")]
        about = [l for l in lines if l.startswith("/etc/udev/rules.d/")]
        return p.returncode, read, about
    finally:
        shutil.rmtree(tmp)


def main():
    rules = os.path.abspath(sys.argv[1])
    name = os.path.basename(rules)

    # The checker itself must catch what udev lets through.
    for bad in ['SUBSYSTEM=="tpm" GROUP="tss"', 'KERNEL="tpm0", MODE="0660"', 'GROUP=="tss"',
                'MODE="660x"', 'FOO="bar"', 'KERNEL=="tpm0",']:
        try:
            parse_line(bad)
            check(False, f"the checker rejects {bad!r}")
        except ValueError:
            check(True, f"the checker rejects {bad!r}")

    parsed = {}
    for n, line in rules_of(rules):
        try:
            parsed[n] = parse_line(line)
            check(True, f"{name}:{n} is well-formed")
        except ValueError as e:
            check(False, f"{name}:{n} is well-formed", str(e))

    # What a user of the TPM notices: the resource manager belongs to tss, 0660, and systemd sees it.
    def rule_for(kernel_glob):
        for toks in parsed.values():
            if ("KERNEL", None, "==", kernel_glob) in toks:
                return {(k, op): v for k, _, op, v in toks}
        return None

    rm = rule_for("tpmrm[0-9]*")
    check(rm is not None and rm.get(("GROUP", "=")) == "tss" and rm.get(("MODE", "=")) == "0660"
          and rm.get(("TAG", "+=")) == "systemd" and rm.get(("SUBSYSTEM", "==")) == "tpmrm",
          "/dev/tpmrm* goes to group tss, mode 0660, tagged for systemd", str(rm))
    raw = rule_for("tpm[0-9]*")
    check(raw is not None and raw.get(("TAG", "+=")) == "systemd"
          and not any(k in ("OWNER", "GROUP", "MODE") for k, _ in raw),
          "/dev/tpm* is tagged for systemd and its permissions are left alone", str(raw))

    # No disagreement with Debian's tpm-udev where both set something on the same node.
    if os.path.exists(TPM_UDEV):
        theirs = {}
        for _, line in rules_of(TPM_UDEV):
            toks = {(k, op): v for k, _, op, v in parse_line(line)}
            theirs[toks.get(("KERNEL", "=="))] = toks
        conflicts = []
        for glob, ours in (("tpmrm[0-9]*", rm or {}), ("tpm[0-9]*", raw or {})):
            for key in ("OWNER", "GROUP", "MODE"):
                a, b = ours.get((key, "=")), theirs.get(glob, {}).get((key, "="))
                if a is not None and b is not None and a != b:
                    conflicts.append(f"{glob}: {key} {a!r} here, {b!r} in {TPM_UDEV}")
        check(not conflicts, f"agrees with {TPM_UDEV}", "\n".join(conflicts))

    # udev's own parser: reads the file and has nothing to say about it...
    rc, read, about = udevadm_diagnostics([rules])
    check(rc == 0 and any(name in l for l in read) and not about,
          f"udevadm test reads {name} without a complaint", "\n".join(read + about))
    # ...and would have said something about a broken file (so the silence above means something).
    tmp = tempfile.mkdtemp(prefix="tp-udev-bad-")
    try:
        bad = os.path.join(tmp, "61-bad.rules")
        with open(bad, "w") as f:
            f.write('KERNEL=="tpmrm[0-9]*", GRUOP="tss"\n')
        rc, read, about = udevadm_diagnostics([rules, bad])
        check(any("61-bad.rules:1" in l for l in about), "udevadm test reports a misspelt key",
              "\n".join(about))
    finally:
        shutil.rmtree(tmp)

    print(f"1..{len(results)}")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
