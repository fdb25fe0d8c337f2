#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berth's main job, from a build tree: builds a busybox image from Debian's
# busybox-static, starts berthd, loads the image, runs a web server that
# publishes a port and a second container that reaches it by name, shows
# `berthctl ps`, fetches the published port from the host, then stops and
# removes everything. berthd runs in a network and mount namespace of its
# own (only a loopback, no route out), its state in a temporary directory:
# the machine is left as it was. Run as root.
#   scripts/main-job.sh [BUILD_DIR]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
berthd=$build/cli/berthd/berthd
berthctl=$build/cli/berthctl/berthctl
for bin in "$berthd" "$berthctl" /bin/busybox umoci; do
  command -v "$bin" >/dev/null || { echo "main-job: error: '$bin' is missing (run scripts/install-deps.sh and build first)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "main-job: error: run it as root (berthd makes namespaces, links and mounts)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-main-job.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The image: one layer of busybox and its applets, a user, and a web page.
say() { printf '\n== %s\n' "$*"; }
say "building a busybox image from Debian's busybox-static"
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/var/www" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nwww:x:33:\n' >"$root/etc/group"
echo "hello from berth" >"$root/var/www/index.html"
umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:latest" >/dev/null
umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
cp -a "$root/." "$work/bundle/rootfs/"
umoci repack --image "$work/oci:latest" "$work/bundle" >/dev/null
umoci config --image "$work/oci:latest" --config.cmd /bin/sh >/dev/null
rm -rf "$work/bundle" "$root"

# Everything else inside namespaces of its own.
unshare --net --mount --propagation private -- bash -euo pipefail -c '
work=$1 berthd=$2 berthctl=$3
say() { printf "\n== %s\n" "$*"; }
ctl() { echo "\$ berthctl $*"; "$berthctl" -H "$work/berthd.sock" "$@"; }
busybox ip link set lo up
"$berthd" --base-dir "$work/base" --exec-root "$work/exec" --socket "$work/berthd.sock" 2>"$work/berthd.log" &
daemon=$!
cleanup() {
  names=$("$berthctl" -H "$work/berthd.sock" ps -a -q 2>/dev/null || true)
  [ -z "$names" ] || "$berthctl" -H "$work/berthd.sock" rm -f $names >/dev/null 2>&1 || true
  kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 200); do "$berthctl" -H "$work/berthd.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
say "berthd is up"
head -n 1 "$work/berthd.log"
say "loading the image"
ctl load -i "$work/oci" --name busybox:berth
say "a web server publishing port 8080, and a client that finds it by name"
ctl run -d --name web -p 8080:80 busybox:berth httpd -f -p 80 -h /var/www
ctl run --rm --name client busybox:berth wget -q -O - http://web/
say "the containers"
ctl ps
say "the published port, from the host"
echo "\$ wget -q -O - http://127.0.0.1:8080/"
busybox wget -q -O - http://127.0.0.1:8080/
say "stopping and removing everything"
ctl stop -t 1 web
ctl rm web
ctl ps -a
' main-job "$work" "$berthd" "$berthctl"
echo
echo "done: berthd, its containers, namespaces and files are gone"
