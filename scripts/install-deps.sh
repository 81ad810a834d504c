#!/usr/bin/env bash
# Installs the tools Kiln's tests need, from Debian packages, if they are
# missing: Bazel (the end-to-end tests drive a real one), a JDK for it,
# protoc, redis-server (the Redis-backed stores are tested against a real
# server) and runsc (gVisor, the optional second sandbox). Does nothing
# when everything is there, so it is cheap to
# run before every `make test`.
set -euo pipefail

# command on PATH -> Debian package that provides it
declare -A packages=(
  [bazel]=bazel-bootstrap
  [java]=default-jdk-headless
  [protoc]=protobuf-compiler
  [redis-server]=redis-server
  [runsc]=runsc
)

missing=()
for cmd in "${!packages[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("${packages[$cmd]}")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
apt_get() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

echo "install-deps: installing ${missing[*]}" >&2
# Refresh the package lists only when they are absent or the install fails
# on stale ones: an update is slow and usually not needed.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt_get update -q
fi
if ! apt_get install -y -q --no-install-recommends "${missing[@]}"; then
  apt_get update -q
  apt_get install -y -q --no-install-recommends "${missing[@]}"
fi
