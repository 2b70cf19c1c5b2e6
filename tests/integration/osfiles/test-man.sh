#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every built man page renders without a single warning from man/groff (what a user sees as broken
# formatting), and names itself as its file name says. usage: test-man.sh PAGE... (TAP)
set -u
n=0 failed=0
for page in "$@"; do
        base=$(basename "$page")
        name=${base%.*} sec=${base##*.}
        n=$((n + 1))
        err=$(man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
        if [ $? -eq 0 ] && [ -z "$err" ]; then
                echo "ok $n - man --warnings $base"
        else
                printf '# %s\n' "$err"; echo "not ok $n - man --warnings $base"; failed=1
        fi
        n=$((n + 1))
        if grep -q "^\.TH \"$name\" \"$sec\"" "$page"; then
                echo "ok $n - $base is titled $name($sec)"
        else
                grep '^\.TH' "$page" | sed 's/^/# /'; echo "not ok $n - $base is titled $name($sec)"; failed=1
        fi
done
echo "1..$n"
[ $n -gt 0 ] && exit $failed || exit 1
