#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berth-cni driven by a real CNI runtime from Debian: podman 4.3 with its CNI
# network backend. Runs inside the netns sandbox (berth_netns_exec), with
# podman's configuration, storage and image all in a temporary directory.
#   podman_cni_test.sh BERTH_CNI
set -euo pipefail
berth_cni=$1
for tool in podman runc busybox socat nft; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
work=$(mktemp -d /tmp/berth-podman-XXXXXX)
cleanup() {
  podman rm -f -t 0 web >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf

mkdir -p "$work/bin" "$work/net.d" "$work/rootfs/bin" "$work/rootfs/etc"
ln -s "$berth_cni" "$work/bin/berth-cni"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for applet in sh ip nc cat echo sleep; do ln -s busybox "$work/rootfs/bin/$applet"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
cat > "$work/containers.conf" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$work/bin"]
network_config_dir = "$work/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
runtime = "runc"
CONF
cat > "$work/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$work/graph"
runroot = "$work/run"
CONF
cat > "$work/net.d/berthpod.conflist" <<CONF
{"cniVersion": "1.0.0", "name": "berthpod", "plugins": [
  {"type": "berth-cni", "bridge": "bpod0", "subnet": "10.71.0.0/24", "stateDir": "$work/state",
   "capabilities": {"portMappings": true}}]}
CONF
# This machine's hard limits are below podman's defaults.
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

podman import "$work/rootfs.tar" localhost/berth-busybox:test >/dev/null

out=$(podman run --rm "${limits[@]}" --network berthpod localhost/berth-busybox:test ip -4 addr show eth0)
echo "$out"
grep -q "inet 10.71.0.2/24" <<< "$out" || { echo "FAIL: the container did not get 10.71.0.2/24"; exit 1; }

podman run -d --name web "${limits[@]}" --network berthpod -p 8080:80 localhost/berth-busybox:test \
  sh -c 'while true; do echo hello-from-podman | nc -l -p 80; done' >/dev/null
reply=""
for _ in $(seq 1 150); do
  reply=$(socat -T 2 - TCP4:127.0.0.1:8080 </dev/null 2>/dev/null || true)
  [ -n "$reply" ] && break
  sleep 0.1
done
echo "published port answered: $reply"
[ "$reply" = "hello-from-podman" ] || { echo "FAIL: the published port did not answer"; exit 1; }
# (Read whole outputs first: with pipefail, `grep -q` closing the pipe early fails the producer.)
map=$(nft list map inet berth pm4any)
grep -q "tcp . 8080" <<< "$map" || { echo "FAIL: no port map in inet berth"; exit 1; }

podman rm -f -t 0 web >/dev/null
map=$(nft list map inet berth pm4any)
if grep -q "tcp . 8080" <<< "$map"; then echo "FAIL: DEL left the port map"; exit 1; fi
links=$(ip -o link show)
if grep -q " bv" <<< "$links"; then echo "FAIL: DEL left a veth"; exit 1; fi
echo "podman + berth-cni: ok"
