#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the tests' image from real files, with Debian's tools, as root:
#   make_test_image.sh DIR
# DIR/oci         an OCI layout (umoci), tag "latest", three layers:
#                 1. busybox-static and its applets, /etc/passwd and /etc/group with user app (101),
#                    /etc/motd, /var/cache/old
#                 2. /home/app/data owned by 101:101
#                 3. /etc/motd deleted (a whiteout)
#                 config: User app, Cmd sh -c 'id -u', Env FOO=bar, StopSignal SIGQUIT
# DIR/docker.tar  the same image as `docker save` writes it (skopeo), named busybox:test
# DIR/oci.tar     the same as an OCI archive (skopeo), named busybox:1
set -euo pipefail
d=$1
mkdir -p "$d"
umoci init --layout "$d/oci"
umoci new --image "$d/oci:latest"
# Each layer: unpack what the image holds so far, change it, repack (a repack
# is the difference from what was unpacked).
layer() {
  rm -rf "$d/bundle"
  umoci unpack --image "$d/oci:latest" "$d/bundle" >/dev/null
  r=$d/bundle/rootfs
  "$@"
  umoci repack --image "$d/oci:latest" "$d/bundle"
}
base() {
  mkdir -p "$r/bin" "$r/etc" "$r/var/cache" "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for applet in sh true false sleep cat id ls echo test; do ln -sf busybox "$r/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:101:101:app:/home/app:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\napp:x:101:\n' >"$r/etc/group"
  echo "welcome" >"$r/etc/motd"
  echo "old" >"$r/var/cache/old"
}
home() {
  mkdir -p "$r/home/app"
  echo "data" >"$r/home/app/data"
  chown -R 101:101 "$r/home/app"
}
forget() { rm "$r/etc/motd"; }
layer base
layer home
layer forget
umoci config --image "$d/oci:latest" --config.user app --config.cmd /bin/sh --config.cmd -c --config.cmd 'id -u' \
  --config.env FOO=bar --config.stopsignal SIGQUIT
umoci gc --layout "$d/oci"
rm -rf "$d/bundle"
skopeo copy --quiet "oci:$d/oci:latest" "docker-archive:$d/docker.tar:busybox:test"
skopeo copy --quiet "oci:$d/oci:latest" "oci-archive:$d/oci.tar:busybox:1"
