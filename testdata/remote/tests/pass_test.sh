#!/bin/sh
# The binary and the last chain step, both built remotely, are right.
set -eu
out=$(cc/hello)
expected='hello, kiln
HELLO, KILN'
if [ "$out" != "$expected" ]; then
  echo "cc/hello printed: $out" >&2
  exit 1
fi
chain=$(cat chain/step3.txt)
expected='STEP TWO
KILN REMOTE'
if [ "$chain" != "$expected" ]; then
  echo "chain/step3.txt is wrong: $chain" >&2
  exit 1
fi
