#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/dns: berth-dns against dnsmasq and aardvark-dns (Debian's), serving
# the same 100 names, in one run. Each server is pinned to CPU 1 and dnsperf
# to CPU 0; on two cores the client saturates first, so the server's CPU time
# per answered query (from /proc/PID/stat) is reported beside queries per
# second, and p50/p99 latency at a fixed 20 000 qps (bench/dns/latency.cpp).
# Runs inside a network namespace of its own (unshare -n). Needs root.
#   bench/dns/bench_dns.sh [BUILD_DIR] [SECONDS] [SERVERS]
# SERVERS: a comma-separated subset of berth-dns,dnsmasq,aardvark-dns (default: all three).
set -euo pipefail
build=$(realpath "${1:-build}")
seconds=${2:-10}
servers=${3:-berth-dns,dnsmasq,aardvark-dns}
if [ "${BERTH_BENCH_INNER:-}" != 1 ]; then
  exec env BERTH_BENCH_INNER=1 unshare --net -- "$0" "$build" "$seconds" "$servers"
fi
wanted() { [[ ",$servers," == *",$1,"* ]]; }
work=$(mktemp -d /tmp/berth-bench-dns-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

ip link set lo up
ip addr add 10.200.0.1/24 dev lo
ip addr add 10.200.0.2/24 dev lo

# The same 100 names for everyone: c0 .. c99 -> 10.200.1.N
mkdir -p "$work/records" "$work/aardvark"
names=()
containers=""
: > "$work/hosts"
: > "$work/queries"
echo "10.200.0.1" > "$work/aardvark/bench"
for i in $(seq 0 99); do
  names+=("c$i")
  containers+="${containers:+,}{\"name\":\"c$i\",\"addresses\":[\"10.200.1.$((i + 1))\"]}"
  echo "10.200.1.$((i + 1)) c$i" >> "$work/hosts"
  echo "c$i A" >> "$work/queries"
  printf 'c%08d 10.200.1.%d  c%d\n' "$i" $((i + 1)) "$i" >> "$work/aardvark/bench"
done
echo "{\"name\":\"bench\",\"listen\":[\"10.200.0.1\"],\"subnets\":[\"10.200.0.0/24\"],\"containers\":[$containers]}" \
  > "$work/records/bench.json"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
split_ticks() { awk '{print "user " $14 " system " $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run_server() {  # NAME PORT PID
  local name=$1 port=$2 pid=$3
  for _ in $(seq 1 100); do
    dig +short +time=1 +tries=1 -b 10.200.0.2 -p "$port" @10.200.0.1 c7 A | grep -q 10.200.1.8 && break
    sleep 0.05
  done
  local before after out completed qps
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 0 dnsperf -s 10.200.0.1 -p "$port" -a 10.200.0.2 -d "$work/queries" -l "$seconds" -c 4 -q 500 2>&1)
  after=$(cpu_ticks "$pid")
  completed=$(awk '/Queries completed:/ {print $3}' <<< "$out")
  qps=$(awk '/Queries per second:/ {print $4}' <<< "$out")
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$completed" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  local lat
  lat=$(taskset -c 0 "$build/bench/dns_latency" 10.200.0.1 "$port" 10.200.0.2 20000 5 "${names[@]}")
  echo "  $name ticks after the run: $(split_ticks "$pid")" >&2
  printf '%-14s %12s %12.0f %14s   %s\n' "$name" "$completed" "$qps" "$cpu_us" "$lat"
  echo "$name $cpu_us" >> "$work/cpu"
}

printf '%-14s %12s %12s %14s   %s\n' "server" "answered" "qps" "CPU us/query" "latency at 20000 qps"

if wanted berth-dns; then
  taskset -c 1 "$build/cli/berth-dns/berth-dns" --records "$work/records" --port 53 --upstream 10.200.0.1 \
    --log-level error &
  pids+=($!)
  run_server berth-dns 53 "${pids[-1]}"
fi

if wanted dnsmasq; then
  taskset -c 1 dnsmasq --no-daemon --no-resolv --no-hosts --addn-hosts="$work/hosts" --listen-address=10.200.0.1 \
    --bind-interfaces --port 5353 --cache-size=1000 --pid-file= --log-facility=/dev/null &
  pids+=($!)
  run_server dnsmasq 5353 "${pids[-1]}"
fi

if wanted aardvark-dns; then
  taskset -c 1 /usr/lib/podman/aardvark-dns --config "$work/aardvark" -p 5300 run > /dev/null 2>&1 &
  sleep 0.5
  aardvark_pid=$(pgrep -f "aardvark-dns --config $work/aardvark" | head -n 1)
  pids+=("$aardvark_pid")
  taskset -p -c 1 "$aardvark_pid" > /dev/null
  run_server aardvark-dns 5300 "$aardvark_pid"
fi

[ "$servers" = berth-dns,dnsmasq,aardvark-dns ] || exit 0
awk '{cpu[$1] = $2} END {
  printf "CPU per query: dnsmasq/berth-dns %.2fx, aardvark-dns/berth-dns %.2fx (target: berth-dns <= 3.5 us)\n",
         cpu["dnsmasq"] / cpu["berth-dns"], cpu["aardvark-dns"] / cpu["berth-dns"] }' "$work/cpu"
