#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the test host's root file system once: a debootstrap of bookworm
# with systemd, docker.io and the libraries dockyard links against, as a
# tarball for `docker import`. Cached under $1 (default
# /var/cache/berth/test-host) and rebuilt only when this script changes.
# Prints the tarball's path.
set -euo pipefail

cache=${1:-/var/cache/berth/test-host}
packages=systemd,systemd-sysv,dbus,iproute2,nftables,iptables,docker.io,busybox-static,dnsmasq-base,procps,util-linux,passwd,libnl-3-200,libnl-route-3-200,libnl-genl-3-200,libnftnl11,libmnl0,libfmt9,libboost-json1.81.0,libboost-program-options1.81.0
stamp=$(sha256sum "$0" | cut -c1-16)
tarball="$cache/rootfs-$stamp.tar"
mkdir -p "$cache"
# Tests start in parallel: one builds, the others wait for it.
exec 9>"$cache/.lock"
flock 9
if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi
rm -f "$cache"/rootfs-*.tar  # older versions of this script
work=$(mktemp -d "$cache/build-XXXXXX")
trap 'rm -rf "$work"' EXIT
mirror=$("$(dirname "$0")/debian_mirror.sh") || exit 1
echo "test host: debootstrap of bookworm from $mirror (about a minute, once)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$work/rootfs" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || {
  echo "test host: debootstrap of bookworm from $mirror failed; its log ends:" >&2
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
r="$work/rootfs"
# The packaged docker and containerd must not start: only dockyard's instances run there.
rm -f "$r"/etc/systemd/system/*.wants/docker.service "$r"/etc/systemd/system/*.wants/docker.socket \
  "$r"/etc/systemd/system/*.wants/containerd.service
ln -sf /dev/null "$r/etc/systemd/system/docker.service"
ln -sf /dev/null "$r/etc/systemd/system/docker.socket"
ln -sf /dev/null "$r/etc/systemd/system/containerd.service"
# Nothing in a container may reconfigure the kernel or wait for hardware.
for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-networkd-wait-online.service getty@tty1.service e2scrub_reap.service \
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount; do
  ln -sf /dev/null "$r/etc/systemd/system/$unit"
done
echo testhost >"$r/etc/hostname"
: >"$r/etc/resolv.conf"
# A busybox image for the instances, imported with `docker import`.
mkdir -p "$r/opt/busybox/bin"
cp "$r/bin/busybox" "$r/opt/busybox/bin/busybox"
for applet in $(chroot "$r" /bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$r/opt/busybox/bin/$applet"
done
[ -f "$r/opt/busybox/bin/busybox" ] && [ ! -L "$r/opt/busybox/bin/busybox" ]
tar -C "$r/opt/busybox" -cf "$r/opt/busybox.tar" .
rm -rf "$r/opt/busybox"
tar -C "$r" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$tarball"
echo "$tarball"
