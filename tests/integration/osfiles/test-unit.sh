#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The generated trusted-platformd.service must load cleanly in systemd and stay hardened.
# usage: test-unit.sh UNIT DAEMON [MANDIR]
#   UNIT    the configured unit (build/units/trusted-platformd.service)
#   DAEMON  the built daemon: verify insists that ExecStart= exists, and the installed path
#           (sbindir) does not exist in a build tree, so a copy of the unit points at the build.
#   MANDIR  the built man pages (build/man); when given, the unit's Documentation= pages must
#           resolve to them, so a unit never points at a page we do not ship.
# TAP output; no systemd PID 1 is needed: verify and security --offline only read files.
set -u

unit=$1 daemon=$2 mandir=${3:-}
threshold=2.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

name=$(basename "$unit")
sed "s|^ExecStart=[^ ]*/trusted-platformd|ExecStart=$daemon|" "$unit" > "$tmp/$name"
grep -q "^ExecStart=$daemon\$" "$tmp/$name" || not_ok "ExecStart= names the daemon as its only argument"

man_args=(--man=no)
if [ -n "$mandir" ]; then
        # man(1) wants manN/ subdirectories; scdoc writes flat files.
        for page in "$mandir"/*.[0-9]; do
                sec=${page##*.}
                mkdir -p "$tmp/man/man$sec"
                ln -s "$(realpath "$page")" "$tmp/man/man$sec/"
        done
        export MANPATH="$tmp/man"
        man_args=(--man=yes)
fi

# verify prints problems on stderr but can still exit 0 for some of them: any output is a failure.
out=$(cd "$tmp" && systemd-analyze verify "${man_args[@]}" --generators=no "$tmp/$name" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
        ok "systemd-analyze verify ${man_args[*]} $name"
else
        printf '# %s\n' "$out"
        not_ok "systemd-analyze verify ${man_args[*]} $name (exit $rc)"
fi

out=$(systemd-analyze security --offline=yes --no-pager "$tmp/$name" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
printf '%s\n' "$out" | grep '✗' | sed 's/^/# /'
if [ $rc -eq 0 ] && [ -n "$score" ] && awk -v s="$score" -v t="$threshold" 'BEGIN { exit !(s <= t) }'; then
        ok "systemd-analyze security exposure $score <= $threshold"
else
        printf '# %s\n' "$out" | tail -3
        not_ok "systemd-analyze security exposure '${score:-?}' <= $threshold"
fi

# Settings a hardening regression would silently drop; security's score alone would hide one loss.
for line in Type=notify BusName=org.trustedplatform.TrustedPlatform1 ProtectSystem=strict \
            CapabilityBoundingSet= NoNewPrivileges=yes DevicePolicy=closed "DeviceAllow=/dev/tpmrm0 rw" \
            StateDirectoryMode=0700 UMask=0077 IPAddressDeny=any \
            Alias=dbus-org.trustedplatform.TrustedPlatform1.service; do
        if grep -qxF "$line" "$tmp/$name"; then
                ok "unit has '$line'"
        else
                not_ok "unit has '$line'"
        fi
done

echo "1..$n"
exit $failed
