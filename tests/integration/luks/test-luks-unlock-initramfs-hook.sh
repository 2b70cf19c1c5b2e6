#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The initramfs-tools hook: valid POSIX sh (shellcheck), answers "prereqs", and asks copy_exec for the
# unlock helper and the dlopen()ed TCTI libraries, makes the keyscript link and adds the TPM drivers;
# a missing helper fails the hook (mkinitramfs must not build an initramfs that cannot unlock).
# hook-functions is a stand-in that records the calls. usage: HOOK HELPER (TAP)
set -u
hook=$1 helper=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

libexecdir=$(sed -n 's/^libexecdir="\(.*\)"$/\1/p' "$hook")
tctilibdir=$(sed -n 's|^        if \[ -e "\(.*\)/$tcti" \]; then$|\1|p' "$hook")
check "libexecdir is configured ('$libexecdir')" '[ -n "$libexecdir" ] && ! grep -q "@[A-Z]*@" "$hook"'

out=$(shellcheck -s sh "$hook" 2>&1)
check "shellcheck -s sh" '[ -z "$out" ]'
[ -z "$out" ] || printf '# %s\n' "$out"
check "dash -n" 'dash -n "$hook"'
check "prereqs" '[ "$(dash "$hook" prereqs)" = "" ]'

# Stand-in hook-functions: copy_exec/copy_file copy from $FAKEROOT (the helper is not installed here),
# every call is recorded.
cat > "$tmp/hook-functions" <<'FUNCS'
copy_exec() {
        echo "copy_exec $*" >> "$CALLS"
        src="$FAKEROOT$1"
        [ -e "$src" ] || src=$1
        [ -e "$src" ] || { echo "E: $1 not found" >&2; return 1; }
        mkdir -p "$DESTDIR$(dirname "$1")" && cp -L "$src" "$DESTDIR$1"
}
copy_file() { echo "copy_file $*" >> "$CALLS"; }
manual_add_modules() { echo "manual_add_modules $*" >> "$CALLS"; }
FUNCS
mkdir -p "$tmp/root$libexecdir" "$tmp/dest"
cp "$helper" "$tmp/root$libexecdir/trusted-platform-unlock"

run_hook() {
        : > "$tmp/calls"
        DESTDIR="$tmp/dest" FAKEROOT="$1" CALLS="$tmp/calls" \
                TRUSTED_PLATFORM_HOOK_FUNCTIONS="$tmp/hook-functions" dash "$hook" 2> "$tmp/stderr"
}

run_hook "$tmp/root"
rc=$?
check "hook succeeds (exit $rc)" '[ $rc -eq 0 ]' || sed 's/^/# /' "$tmp/stderr"
check "copies the helper" 'grep -qx "copy_exec $libexecdir/trusted-platform-unlock" "$tmp/calls"'
check "helper is in the initramfs" '[ -x "$tmp/dest$libexecdir/trusted-platform-unlock" ]'
check "keyscript link" '[ "$(readlink "$tmp/dest$libexecdir/trusted-platform-keyscript")" = trusted-platform-unlock ]'
check "copies the device TCTI" 'grep -qx "copy_exec $tctilibdir/libtss2-tcti-device.so.0" "$tmp/calls"'
check "device TCTI is in the initramfs" '[ -e "$tmp/dest$tctilibdir/libtss2-tcti-device.so.0" ]'
if [ -e "$tctilibdir/libtss2-tcti-tabrmd.so.0" ]; then
        check "copies the tabrmd TCTI" 'grep -qx "copy_exec $tctilibdir/libtss2-tcti-tabrmd.so.0" "$tmp/calls"'
fi
check "adds the TPM drivers" 'grep -q "^manual_add_modules .*tpm_tis.*tpm_crb" "$tmp/calls"'
check "no warning" '[ ! -s "$tmp/stderr" ]' || sed 's/^/# /' "$tmp/stderr"

rm -rf "$tmp/dest"
mkdir -p "$tmp/dest" "$tmp/empty"
run_hook "$tmp/empty"
rc=$?
check "a missing helper fails the hook (exit $rc)" '[ $rc -ne 0 ]'

echo "1..$n"
exit $failed
