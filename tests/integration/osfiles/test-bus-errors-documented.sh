#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every error name the daemon can send (src/shared/bus-error.h) is listed in the ERRORS section of
# org.trustedplatform.TrustedPlatform1(5), so a client author finds what each one means.
# usage: test-bus-errors-documented.sh BUS_ERROR_H MAN_SCD (TAP)
set -u
header=$1 page=$2
errors=$(sed -n 's/^#define BUS_ERROR_[A-Z_]* BUS_ERROR_PREFIX "\([A-Za-z]*\)".*/\1/p' "$header")
section=$(sed -n '/^# ERRORS/,/^# [A-Z]/p' "$page")
n=0 failed=0
[ -n "$errors" ] || { echo "not ok 1 - no error names found in $header"; echo "1..1"; exit 1; }
for e in $errors; do
        n=$((n + 1))
        if grep -q "TrustedPlatform1\.Error\.$e\*" <<<"$section"; then
                echo "ok $n - $e is documented"
        else
                echo "not ok $n - $e is missing from the ERRORS section of $(basename "$page")"; failed=1
        fi
done
echo "1..$n"
exit $failed
