#!/bin/sh
# Fails on purpose: Bazel must report it FAILED, with this line in its log.
echo 'kiln-fail-marker: this test fails on purpose' >&2
exit 3
