# SPDX-License-Identifier: Apache-2.0
# The disposable systemd test host (ARCHITECTURE.md, "system" tier), sourced
# by system tests:
#   th_start DIR BIN...     build/import the rootfs, boot a host (systemd as PID 1)
#                           with DIR at /berth-tests and each BIN in /usr/local/bin
#   th ARGS...              run a command inside it (as root)
#   th_reboot               restart it: systemd boots again, enabled units come back
#   th_stop                 remove it and the private dockerd (also on EXIT)
# A private dockerd runs it (own data root, socket and exec root; no bridge,
# no iptables), with --network none: the host has only its loopback and
# whatever a test creates inside, so nothing it does can reach the outside.

th_work=""
th_pid=""
th_name=""
th_made_run_docker=0

th_docker() { /usr/bin/docker -H "unix://$th_work/docker.sock" "$@"; }

th() { th_docker exec -i "$th_name" "$@"; }

th_wait_boot() {
  local state=""
  for _ in $(seq 1 300); do
    state=$(th_docker exec "$th_name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) return 0 ;; esac
    sleep 0.2
  done
  echo "test host: did not boot (state '$state')" >&2
  th_docker exec "$th_name" systemctl --failed --no-pager >&2 || true
  return 1
}

th_stop() {
  if [ -n "$th_name" ] && [ -S "$th_work/docker.sock" ]; then
    th_docker rm -f "$th_name" >/dev/null 2>&1 || true
  fi
  if [ -n "$th_pid" ] && kill -0 "$th_pid" 2>/dev/null; then
    kill "$th_pid"
    for _ in $(seq 1 100); do kill -0 "$th_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$th_pid" 2>/dev/null || true
  fi
  if [ -n "$th_work" ]; then
    # dockerd leaves overlay mounts behind when killed; unmount before removing.
    local mounts
    mounts=$(grep -o " $th_work/[^ ]*" /proc/self/mountinfo | sort -r || true)
    for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$th_work"
  fi
  # dockerd makes /run/docker/plugins, and containerd's shims /run/containerd/s, wherever they
  # run; remove them when they were not there before (rmdir: only once empty).
  if [ "$th_made_run_docker" = 1 ]; then
    rmdir /run/docker/plugins /run/docker /run/containerd/s /run/containerd 2>/dev/null || true
  fi
  th_pid="" th_name="" th_work=""
}

th_start() {
  local tests_dir=$1
  shift
  local mounts=() bin
  for bin in "$@"; do mounts+=(-v "$(realpath "$bin"):/usr/local/bin/$(basename "$bin"):ro"); done
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  local tarball
  tarball=$("$here/build_rootfs.sh" "${BERTH_TEST_HOST_CACHE:-/var/cache/berth/test-host}")
  [ -e /run/docker ] || [ -e /run/containerd ] || th_made_run_docker=1
  th_work=$(mktemp -d /var/tmp/berth-test-host-XXXXXX)
  trap th_stop EXIT
  # Nothing of this machine may change: no bridge, no firewall rules, no
  # forwarding switched on (dockerd's --ip-forward defaults to true and would
  # flip net.ipv4.ip_forward here), and its trust key kept out of /etc/docker.
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$th_work" >"$th_work/daemon.json"
  dockerd --config-file "$th_work/daemon.json" --data-root "$th_work/data" --exec-root "$th_work/exec" \
    --pidfile "$th_work/dockerd.pid" -H "unix://$th_work/docker.sock" --bridge=none --iptables=false \
    --ip6tables=false --ip-masq=false --ip-forward=false --userland-proxy=false >"$th_work/dockerd.log" 2>&1 &
  th_pid=$!
  for _ in $(seq 1 200); do th_docker version >/dev/null 2>&1 && break; sleep 0.1; done
  th_docker version >/dev/null || { tail -5 "$th_work/dockerd.log" >&2; return 1; }
  local image
  image="berth-test-host:$(basename "$tarball" .tar)"
  th_docker import "$tarball" "$image" >/dev/null
  th_name="berth-test-host-$$"
  # The flags systemd and a nested dockerd need here (--privileged fails on this kernel).
  th_docker run -d --name "$th_name" --hostname testhost --network none \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --sysctl net.ipv4.ip_forward=1 \
    "${mounts[@]}" -v "$(realpath "$tests_dir"):/berth-tests:ro" \
    "$image" /sbin/init >/dev/null
  th_wait_boot
}

th_reboot() {
  th_docker restart -t 30 "$th_name" >/dev/null
  th_wait_boot
}
