#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The polkit .policy file: valid against polkit's DTD, action ids in our namespace, and every action
the daemon asks polkit about is defined (polkitd refuses an unknown action for everyone, root
included, so a missing one breaks the method).

usage: test-polkit-policy.py POLICY SRC_DIR  (TAP output)"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

DTD = "/usr/share/polkit-1/policyconfig-1.dtd"
results = []


def check(ok, what, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {what}")
    for line in detail.strip().splitlines():
        print(f"# {line}")


def main():
    policy, srcdir = sys.argv[1], sys.argv[2]

    r = subprocess.run(["xmllint", "--noout", "--nonet", "--dtdvalid", DTD, policy], capture_output=True, text=True)
    check(r.returncode == 0, "valid against polkit's policyconfig-1.dtd", r.stderr)

    root = ET.parse(policy).getroot()
    check(root.findtext("vendor") == "Trusted Platform", "vendor is 'Trusted Platform'")

    actions = {a.get("id"): a for a in root.findall("action")}
    check(len(actions) == len(root.findall("action")), "no action id is defined twice")
    for aid, a in actions.items():
        check(aid.startswith("org.trustedplatform."), f"action '{aid}' is in the org.trustedplatform. namespace")
        check(bool((a.findtext("description") or "").strip()) and bool((a.findtext("message") or "").strip()),
              f"action '{aid}' has a description and a message")

    # Every action id the code passes to polkit, found in the sources.
    used = set()
    for dirpath, _, names in os.walk(srcdir):
        for n in names:
            if n.endswith(".c"):
                with open(os.path.join(dirpath, n), encoding="utf-8") as f:
                    used |= set(re.findall(r'bus_verify_polkit_async\([^,]*,\s*"([^"]+)"', f.read()))
    check("org.trustedplatform.tpm.provision" in used, "the daemon's polkit checks are found in the sources",
          " ".join(sorted(used)))
    for aid in sorted(used):
        check(aid in actions, f"action '{aid}' used by the daemon is defined")

    # Provisioning changes the TPM: an administrator must authenticate, whatever the session.
    a = actions.get("org.trustedplatform.tpm.provision")
    defaults = a.find("defaults") if a is not None else None
    got = {k: defaults.findtext(k) for k in ("allow_any", "allow_inactive", "allow_active")} if defaults is not None else {}
    check(got == {"allow_any": "auth_admin", "allow_inactive": "auth_admin", "allow_active": "auth_admin"},
          "org.trustedplatform.tpm.provision is auth_admin for any, inactive and active sessions", str(got))

    print(f"1..{len(results)}")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
