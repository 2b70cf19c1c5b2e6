#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The token plugin loaded into a process under valgrind (TAP): opening a PCR token, a PIN token with
# the right and a wrong PIN, and luksDump: no leaks, no invalid reads or writes. Runs under tp-run
# --swtpm and tp-token-plugins. $1: luks-plugin-tool.
set -u
tool=$1
dir=${TP_TEST_DIR:?run through tp-run}
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible)
n=0
check() {
        local want=$1 desc=$2
        shift 2
        n=$((n + 1))
        "${vg[@]}" "$@" >"$dir/out" 2>"$dir/err"
        local rc=$?
        if [ "$rc" = "$want" ]; then
                echo "ok $n - $desc"
        else
                echo "not ok $n - $desc (exit $rc, wanted $want)"
                sed 's/^/# /' "$dir/out" "$dir/err"
        fi
}

echo "1..4"
"$tool" enroll "$dir/pcr.img" >/dev/null || { echo "Bail out! enroll failed"; exit 1; }
"$tool" enroll "$dir/pin.img" 4711 >/dev/null || { echo "Bail out! enroll failed"; exit 1; }
check 0 "open a PCR token under valgrind" "$tool" open "$dir/pcr.img"
check 0 "open a PIN token with its PIN under valgrind" "$tool" open "$dir/pin.img" 4711
check 1 "refuse a wrong PIN under valgrind" "$tool" open "$dir/pin.img" 0000
check 0 "dump the token under valgrind" "$tool" dump "$dir/pcr.img"
