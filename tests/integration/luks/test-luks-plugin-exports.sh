#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The token plugin exports the six cryptsetup_token_* symbols at CRYPTSETUP_TOKEN_1.0 and nothing else
# (TAP): it is loaded into cryptsetup, systemd-cryptsetup and udisks, where our static libraries must
# neither clash nor be called.
set -u
plugin=$1
echo "1..3"
all=$(nm -D --defined-only "$plugin" | awk '$2 != "A" {print $3}' | sort)
want=$(printf '%s\n' cryptsetup_token_buffer_free cryptsetup_token_dump cryptsetup_token_open \
        cryptsetup_token_open_pin cryptsetup_token_validate cryptsetup_token_version |
        sed 's/$/@@CRYPTSETUP_TOKEN_1.0/' | sort)
if [ -n "$all" ]; then
        echo "ok 1 - nm lists the plugin's symbols"
else
        echo "not ok 1 - nm found no exported symbols in $plugin"
fi
if [ "$all" = "$want" ]; then
        echo "ok 2 - exactly the six cryptsetup_token_* symbols, at CRYPTSETUP_TOKEN_1.0"
else
        echo "not ok 2 - exported: $(echo $all)"
fi
# No undefined reference to our own code either: everything of ours is linked in.
if nm -D --undefined-only "$plugin" | grep -Eq ' (luks|tpm2|log|json_parse_strict)_'; then
        echo "not ok 3 - the plugin expects symbols of ours from elsewhere"
else
        echo "ok 3 - no symbol of ours is left undefined"
fi
