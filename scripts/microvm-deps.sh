#!/usr/bin/env bash
# Installs what the microVM runner and its tests need, from Debian
# packages, when missing: QEMU (qemu-system-x86), e2fsprogs (mkfs.ext4,
# debugfs), busybox-static (the unit tests' tiny toolchain), and Debian's
# cloud kernel, unpacked from its package (apt-get download, never
# installed on the host) into KILN_MICROVM_KERNEL_DIR
# (default /var/cache/kiln/microvm-kernel). Cheap when all is there.
#
# Then build a guest image with:
#   make microvm-image        (or: kiln microvm image --kernel-dir=DIR)
set -euo pipefail

kernel_dir="${KILN_MICROVM_KERNEL_DIR:-/var/cache/kiln/microvm-kernel}"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
apt_get() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# command on PATH -> Debian package that provides it
declare -A packages=(
  [qemu-system-x86_64]=qemu-system-x86
  [mkfs.ext4]=e2fsprogs
  [debugfs]=e2fsprogs
  [busybox]=busybox-static
)
missing=()
for cmd in "${!packages[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/sbin/$cmd" ]; then
    missing+=("${packages[$cmd]}")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "microvm-deps: installing ${missing[*]}" >&2
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt_get update -q
  fi
  if ! apt_get install -y -q --no-install-recommends "${missing[@]}"; then
    apt_get update -q
    apt_get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if compgen -G "$kernel_dir/boot/vmlinuz-*" >/dev/null; then
  exit 0
fi
# linux-image-cloud-amd64 is a metapackage naming the current kernel.
kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
if [ -z "$kernel_pkg" ]; then
  apt_get update -q
  kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')"
fi
echo "microvm-deps: unpacking $kernel_pkg into $kernel_dir" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox user must be able to write here.
chmod 0777 "$tmp"
(cd "$tmp" && apt-get download -q "$kernel_pkg")
"${sudo[@]}" mkdir -p "$kernel_dir.new"
"${sudo[@]}" dpkg-deb -x "$tmp"/"$kernel_pkg"_*.deb "$kernel_dir.new"
"${sudo[@]}" rm -rf "$kernel_dir"
"${sudo[@]}" mv "$kernel_dir.new" "$kernel_dir"
