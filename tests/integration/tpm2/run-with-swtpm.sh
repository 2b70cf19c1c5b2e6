#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one test program against a fresh swtpm of its own, until tests/harness/tp-run takes over:
#   run-with-swtpm.sh PROGRAM [ARGS...]
# Exports TRUSTED_PLATFORM_TCTI=swtpm:path=... and TRUSTED_PLATFORM_STATE_DIR=<tmp>/state (not created:
# the code under test creates it). swtpm is stopped by pid on every exit path.
set -u

dir=$(mktemp -d "${TMPDIR:-/tmp}/tp-tpm2.XXXXXX") || exit 1
swtpm_pid=

cleanup() {
        if [ -n "$swtpm_pid" ]; then
                kill "$swtpm_pid" 2>/dev/null
                wait "$swtpm_pid" 2>/dev/null
        fi
        rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -m 0700 "$dir/tpm"
swtpm socket --tpm2 --tpmstate dir="$dir/tpm" \
        --server type=unixio,path="$dir/swtpm.sock" --ctrl type=unixio,path="$dir/swtpm.sock.ctrl" \
        --flags not-need-init,startup-clear >"$dir/swtpm.log" 2>&1 &
swtpm_pid=$!

# Bounded wait for the data socket; fail (not skip) if swtpm does not come up.
for _ in $(seq 1 200); do
        [ -S "$dir/swtpm.sock" ] && break
        if ! kill -0 "$swtpm_pid" 2>/dev/null; then
                echo "swtpm exited early:" >&2
                cat "$dir/swtpm.log" >&2
                exit 1
        fi
        sleep 0.05
done
if [ ! -S "$dir/swtpm.sock" ]; then
        echo "swtpm did not create $dir/swtpm.sock in time" >&2
        exit 1
fi

TRUSTED_PLATFORM_TCTI="swtpm:path=$dir/swtpm.sock" TRUSTED_PLATFORM_STATE_DIR="$dir/state" "$@"
exit $?
