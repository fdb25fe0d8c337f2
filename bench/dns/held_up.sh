#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/dns/held_up.sh: what a DNS server loses while it is held up. The
# server serves 100 names pinned to CPU 1; the latency probe (bench/dns/
# latency.cpp, its own receive buffer large) sends 20 000 qps from CPU 0 for
# SECONDS, and every 200 ms the server is stopped (SIGSTOP) for 40 ms, as a
# virtual machine's busy neighbours or a page-cache stall would. Reports how
# many queries each server answered; a lost query costs its client a retry
# after a second or more. Runs in a network namespace of its own. Needs root.
#   bench/dns/held_up.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=$(realpath "${1:-build}")
seconds=${2:-3}
if [ "${BERTH_BENCH_INNER:-}" != 1 ]; then
  exec env BERTH_BENCH_INNER=1 unshare --net -- "$0" "$build" "$seconds"
fi
work=$(mktemp -d /tmp/berth-bench-held-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/world.sh"
bench_world "$work"

hold_up() {  # PID: stop it 40 ms in every 200 ms for SECONDS
  local n=$((seconds * 5)) k
  for k in $(seq 1 "$n"); do sleep 0.16; kill -STOP "$1"; sleep 0.04; kill -CONT "$1"; done
}
run() {  # NAME PORT PID
  bench_wait_ready "$2"
  hold_up "$3" &
  local holder=$!
  local out
  out=$(taskset -c 0 "$build/bench/dns_latency" 10.200.0.1 "$2" 10.200.0.2 20000 "$seconds" "${names[@]}")
  wait "$holder"
  printf '%-10s %s\n' "$1" "$out"
}
taskset -c 1 "$build/cli/berth-dns/berth-dns" --records "$work/records" --port 53 --log-level error &
pids+=($!)
run berth-dns 53 $!
dnsmasq_pid=$(bench_start_dnsmasq "$work")
pids+=("$dnsmasq_pid")
run dnsmasq 5353 "$dnsmasq_pid"
