#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The sysusers.d file creates the tss group the unit and the udev rule rely on, and leaves an existing
# tss group (Debian's tpm-udev) alone. usage: test-sysusers.sh SYSUSERS_FILE
set -u
conf=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

mkdir -p "$tmp/empty/etc"
systemd-sysusers --root="$tmp/empty" "$conf" 2>&1 | sed 's/^/# /'
if grep -q '^tss:x:[0-9]*:$' "$tmp/empty/etc/group" 2>/dev/null; then
        echo "ok 1 - tss group created on a system without it"
else
        echo "not ok 1 - tss group created on a system without it"; failed=1
fi

mkdir -p "$tmp/debian/etc"
printf 'root:x:0:\ntss:x:109:\n' > "$tmp/debian/etc/group"
systemd-sysusers --root="$tmp/debian" "$conf" 2>&1 | sed 's/^/# /'
if [ "$(cat "$tmp/debian/etc/group")" = "$(printf 'root:x:0:\ntss:x:109:')" ]; then
        echo "ok 2 - an existing tss group is left as it is"
else
        echo "not ok 2 - an existing tss group is left as it is"; failed=1
fi
echo "1..2"
exit $failed
