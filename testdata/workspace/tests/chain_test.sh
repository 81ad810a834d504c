#!/bin/sh
# The last step of //chain holds both earlier lines, upper-cased, reversed.
set -eu
expected='STEP TWO
KILN CHAIN'
actual=$(cat chain/step4.txt)
if [ "$actual" != "$expected" ]; then
  echo "chain/step4.txt is wrong: $actual" >&2
  exit 1
fi
