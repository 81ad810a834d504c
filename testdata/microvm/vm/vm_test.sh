#!/bin/bash
# Runs in a microVM too: it sees the same guest kernel as the genrule did.
set -eu
built="$(cat vm/kernel.txt)"
here="$(uname -r)"
echo "kiln-microvm-test: genrule kernel ${built}, test kernel ${here}"
[ "$built" = "$here" ]
[ "$(cat vm/tree/sub/b.txt)" = b ]
[ "$(cat vm/link.txt)" = "$built" ]
