#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The pull benchmark's image, from real files: a Debian 12 root file system
# made by debootstrap (kept in CACHE, made once: it downloads from this
# machine's Debian mirror) as an OCI layout in OUT with three layers,
#   1. /usr   2. /etc and /var   3. the rest (/bin and /lib links, /root, ...)
# packed by umoci (gzip), the way image builders split a base image.
#   make_debian_image.sh CACHE OUT
set -euo pipefail
cache=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$cache/rootfs
if [ ! -e "$cache/rootfs.done" ]; then
  mirror=$("$here/../../tests/hosts/debian_mirror.sh")
  rm -rf "$rootfs"
  mkdir -p "$cache"
  echo "bench: debootstrap bookworm from $mirror into $rootfs (once)" >&2
  debootstrap --variant=minbase --include=python3,perl,gcc,g++,make,git,ca-certificates,curl \
    bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1
  touch "$cache/rootfs.done"
fi
rm -rf "$out" "$out.parts"
mkdir -p "$out.parts/etc-var" "$out.parts/rest"
umoci init --layout "$out"
umoci new --image "$out:latest"
umoci insert --image "$out:latest" "$rootfs/usr" /usr
cp -a "$rootfs/etc" "$rootfs/var" "$out.parts/etc-var/"
umoci insert --image "$out:latest" "$out.parts/etc-var" /
for e in "$rootfs"/* "$rootfs"/.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  case $(basename "$e") in usr | etc | var | proc | sys | dev) continue ;; esac
  cp -a "$e" "$out.parts/rest/"
done
mkdir -p "$out.parts/rest/proc" "$out.parts/rest/sys" "$out.parts/rest/dev"
umoci insert --image "$out:latest" "$out.parts/rest" /
umoci config --image "$out:latest" --config.cmd /bin/bash
umoci gc --layout "$out"
rm -rf "$out.parts"
