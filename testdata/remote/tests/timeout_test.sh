#!/bin/sh
# Never finishes in time: Bazel must report it TIMEOUT.
echo 'kiln-timeout-marker: going to sleep'
sleep 120
