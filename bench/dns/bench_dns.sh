#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/dns: berth-dns against dnsmasq and aardvark-dns (Debian's), serving
# the same 100 names, in one run. Each server is pinned to CPU 1 and dnsperf
# to CPU 0; on two cores the client saturates first, so the server's CPU time
# per answered query (from /proc/PID/stat) is reported beside queries per
# second, and p50/p99 latency at a fixed 20 000 qps (bench/dns/latency.cpp),
# measured by a client that waits as ordinary ones do and by one that polls
# (its own wake-ups not counted; see latency.cpp). The floor is
# bench/dns/reflector.cpp, which answers each query with itself and looks
# nothing up: its latency is what the machine alone costs, its CPU per query
# about the kernel's share of a server's (see reflector.cpp). Each
# latency line names the vCPUs' steal time while it ran (the host running
# something else on them).
# Runs inside a network namespace of its own (unshare -n). Needs root.
#   bench/dns/bench_dns.sh [BUILD_DIR] [SECONDS] [SERVERS] [ROUNDS]
# SERVERS: a comma-separated subset of berth-dns,berth-dns-poll,dnsmasq,aardvark-dns,floor (default:
# all; berth-dns-poll is berth-dns with --busy-poll-us 200).
# SECONDS: dnsperf's run in each round; 0 leaves dnsperf out (latency only).
# ROUNDS (default 3): the servers take turns this many times; medians are reported.
set -euo pipefail
build=$(realpath "${1:-build}")
seconds=${2:-10}
servers=${3:-berth-dns,berth-dns-poll,dnsmasq,aardvark-dns,floor}
rounds=${4:-3}
if [ "${BERTH_BENCH_INNER:-}" != 1 ]; then
  exec env BERTH_BENCH_INNER=1 unshare --net -- "$0" "$build" "$seconds" "$servers" "$rounds"
fi
wanted() { [[ ",$servers," == *",$1,"* ]]; }
work=$(mktemp -d /tmp/berth-bench-dns-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

source "$(dirname "$0")/world.sh"
bench_world "$work"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# Steal ticks of both CPUs (the 8th value of /proc/stat's cpuN lines).
steal_ticks() { awk '/^cpu[01] / {s += $9} END {print s}' /proc/stat; }
# Runs COMMAND..., prints its output followed by " steal_pct P": the share of
# both vCPUs' time the host gave to something else meanwhile.
with_steal() {
  local s0 t0 s1 t1 out
  s0=$(steal_ticks); t0=$(date +%s%N)
  out=$("$@")
  s1=$(steal_ticks); t1=$(date +%s%N)
  echo "$out steal_pct $(awk -v s=$((s1 - s0)) -v ns=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * s / hz / (2 * ns / 1e9) }')"
}

# One round for one server: dnsperf at full speed (answered, qps, CPU per
# query), then the latency probe at 20 000 qps, waiting and polling (p50,
# p99 each). Appends a line "NAME answered qps cpu_us p50 p99 p50 p99
# core_pct steal_pct steal_pct" to $work/rounds.
run_round() {  # NAME PORT PID
  local name=$1 port=$2 pid=$3 before after out completed qps cpu_us lat polled core_pct
  completed=0 qps=0 cpu_us=0
  if [ "$seconds" != 0 ]; then
    before=$(cpu_ticks "$pid")
    out=$(taskset -c 0 dnsperf -s 10.200.0.1 -p "$port" -a 10.200.0.2 -d "$work/queries" -l "$seconds" -c 4 -q 500 2>&1)
    after=$(cpu_ticks "$pid")
    completed=$(awk '/Queries completed:/ {print $3}' <<< "$out")
    qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' <<< "$out")
    cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$completed" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  fi
  before=$(cpu_ticks "$pid")
  lat=$(with_steal taskset -c 0 "$build/bench/dns_latency" 10.200.0.1 "$port" 10.200.0.2 20000 5 "${names[@]}")
  after=$(cpu_ticks "$pid")
  # The share of its core the server took at 20 000 qps (5 s).
  core_pct=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.0f", 100 * t / hz / 5 }')
  polled=$(with_steal taskset -c 0 "$build/bench/dns_latency" --poll 10.200.0.1 "$port" 10.200.0.2 20000 5 "${names[@]}")
  printf '  round %d  %-13s %9s answered %7s qps %6s us/query\n' "$round" "$name" "$completed" "$qps" "$cpu_us"
  printf '           waiting client: %s core_pct %s\n           polling client: %s\n' "$lat" "$core_pct" "$polled"
  echo "$name $completed $qps $cpu_us $(awk '{print $6, $8}' <<< "$lat") $(awk '{print $6, $8}' <<< "$polled") $core_pct" \
    "$(awk '{print $12}' <<< "$lat") $(awk '{print $12}' <<< "$polled")" >> "$work/rounds"
}

servers_started=()
if wanted berth-dns; then
  taskset -c 1 "$build/cli/berth-dns/berth-dns" --records "$work/records" --port 53 --upstream 10.200.0.1 \
    --log-level error &
  pids+=($!)
  servers_started+=("berth-dns 53 $!")
fi
if wanted berth-dns-poll; then
  taskset -c 1 "$build/cli/berth-dns/berth-dns" --records "$work/records" --port 5355 --upstream 10.200.0.1 \
    --busy-poll-us 200 --log-level error &
  pids+=($!)
  servers_started+=("berth-dns-poll 5355 $!")
fi
if wanted dnsmasq; then
  dnsmasq_pid=$(bench_start_dnsmasq "$work")
  pids+=("$dnsmasq_pid")
  servers_started+=("dnsmasq 5353 $dnsmasq_pid")
fi
if wanted floor; then
  taskset -c 1 "$build/bench/dns_reflector" 10.200.0.1 5400 &
  pids+=($!)
  servers_started+=("floor 5400 $!")
fi
if wanted aardvark-dns; then
  taskset -c 1 /usr/lib/podman/aardvark-dns --config "$work/aardvark" -p 5300 run > /dev/null 2>&1 &
  sleep 0.5
  aardvark_pid=$(pgrep -f "aardvark-dns --config $work/aardvark" | head -n 1)
  pids+=("$aardvark_pid")
  taskset -p -c 1 "$aardvark_pid" > /dev/null
  servers_started+=("aardvark-dns 5300 $aardvark_pid")
fi
for s in "${servers_started[@]}"; do
  read -r name port _ <<< "$s"
  if [ "$name" = floor ]; then bench_wait_ready "$port" ANY; else bench_wait_ready "$port"; fi
done

# The servers take turns, round after round, so that a slow spell of the
# machine (a virtual machine's neighbours) falls on all of them alike; the
# table shows each one's median over the rounds.
: > "$work/rounds"
for round in $(seq 1 "$rounds"); do
  for s in "${servers_started[@]}"; do
    read -r name port pid <<< "$s"
    run_round "$name" "$port" "$pid"
  done
done

awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return -1
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function count(list,   a) { return split(list, a, " ") }
  function latency(p50s, p99s) {
    return count(p99s) == 0 ? sprintf("%21s", "none") : sprintf("%6.1f %8.1f %5d", median(p50s), median(p99s), count(p99s))
  }
  { if (!($1 in seen)) { order[++k] = $1; seen[$1] = 1 }
    answered[$1] = answered[$1] " " $2; qps[$1] = qps[$1] " " $3; cpu[$1] = cpu[$1] " " $4
    p50[$1] = p50[$1] " " $5; p99[$1] = p99[$1] " " $6; pp50[$1] = pp50[$1] " " $7; pp99[$1] = pp99[$1] " " $8
    core[$1] = core[$1] " " $9
    # A round whose probe ran while the host took less than 1 % of the vCPUs
    # measures the servers, not the neighbours; those are also shown apart.
    if ($10 + 0 < 1) { qp50[$1] = qp50[$1] " " $5; qp99[$1] = qp99[$1] " " $6 }
    if ($11 + 0 < 1) { qpp50[$1] = qpp50[$1] " " $7; qpp99[$1] = qpp99[$1] " " $8 } }
  END {
    printf "%-14s %10s %9s %13s %37s\n", "", "", "", "", "at 20 000 qps, all rounds"
    printf "%-14s %10s %9s %13s %6s %15s %15s\n", "", "", "", "", "", "waiting client", "polling client"
    printf "%-14s %10s %9s %13s %6s %7s %7s %7s %7s\n", "server", "answered", "qps", "CPU us/query", "core", "p50 us", "p99 us",
           "p50 us", "p99 us"
    for (i = 1; i <= k; i++) {
      s = order[i]; c[s] = median(cpu[s])
      printf "%-14s %10d %9d %13.2f %5d%% %7.1f %7.1f %7.1f %7.1f\n", s, median(answered[s]), median(qps[s]), c[s],
             median(core[s]), median(p50[s]), median(p99[s]), median(pp50[s]), median(pp99[s])
    }
    # (No ratio without dnsperf: SECONDS 0 measures no CPU per query.)
    if (("berth-dns" in c) && ("dnsmasq" in c) && ("aardvark-dns" in c) && c["berth-dns"] > 0)
      printf "CPU per query: dnsmasq/berth-dns %.2fx, aardvark-dns/berth-dns %.2fx (target: berth-dns <= 3.5 us; p99 <= 100 us)\n",
             c["dnsmasq"] / c["berth-dns"], c["aardvark-dns"] / c["berth-dns"]
    printf "\nat 20 000 qps, quiet rounds only (steal < 1 %% while the probe ran; medians, and how many rounds)\n"
    printf "%-14s %21s   %21s\n", "", "waiting client", "polling client"
    printf "%-14s %6s %8s %5s   %6s %8s %5s\n", "server", "p50 us", "p99 us", "n", "p50 us", "p99 us", "n"
    for (i = 1; i <= k; i++) {
      s = order[i]
      printf "%-14s %s   %s\n", s, latency(qp50[s], qp99[s]), latency(qpp50[s], qpp99[s])
    }
  }' "$work/rounds"
