#!/bin/sh
# The binary built from two libraries greets in both voices.
set -eu
out=$(cc/hello)
expected='hello, kiln
HELLO, KILN'
if [ "$out" != "$expected" ]; then
  echo "cc/hello printed: $out" >&2
  exit 1
fi
