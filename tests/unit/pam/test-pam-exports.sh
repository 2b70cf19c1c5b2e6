#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pam_trusted_platform.so exports pam_sm_* hooks and nothing else (TAP).
set -u
module=$1
echo "1..2"
syms=$(nm -D --defined-only "$module" | awk '{print $3}' | sed 's/@.*//' | sort -u)
if [ -z "$syms" ]; then
        echo "not ok 1 - nm found no exported symbols in $module"
else
        echo "ok 1 - nm lists the module's symbols"
fi
other=$(echo "$syms" | grep -v '^pam_sm_' | grep -v '^$')
if [ "$syms" = "pam_sm_acct_mgmt" ] && [ -z "$other" ]; then
        echo "ok 2 - only pam_sm_acct_mgmt is exported"
else
        echo "not ok 2 - exported: $(echo $syms)"
fi
