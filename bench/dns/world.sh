# SPDX-License-Identifier: Apache-2.0
# The world both DNS benchmarks share, sourced inside their own network
# namespace: the server at 10.200.0.1 and the client at 10.200.0.2 on the
# loopback, and the same 100 names (c0 .. c99 -> 10.200.1.N) in each server's
# format under $work: records/bench.json (berth-dns), hosts (dnsmasq),
# aardvark/bench (aardvark-dns), queries (dnsperf), and the array `names`.
#   bench_world WORK
#   bench_wait_ready PORT [ANY]  until the server on PORT answers c7 (with ANY:
#                                answers at all, as the floor's reflector does)
#   bench_start_dnsmasq WORK     dnsmasq on port 5353, pinned to CPU 1; prints its pid
bench_world() {
  local work=$1 containers="" i
  ip link set lo up
  ip addr add 10.200.0.1/24 dev lo
  ip addr add 10.200.0.2/24 dev lo
  mkdir -p "$work/records" "$work/aardvark"
  names=()
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
}

bench_wait_ready() {
  local expect='^c7\..*10\.200\.1\.8$'
  [ "${2:-}" = ANY ] && expect='status: NOERROR'
  for _ in $(seq 1 100); do
    dig +time=1 +tries=1 -b 10.200.0.2 -p "$1" @10.200.0.1 c7 A | grep -q "$expect" && return 0
    sleep 0.05
  done
  echo "bench/dns: error: the server on port $1 does not answer" >&2
  return 1
}

bench_start_dnsmasq() {
  taskset -c 1 dnsmasq --no-daemon --no-resolv --no-hosts --addn-hosts="$1/hosts" --listen-address=10.200.0.1 \
    --bind-interfaces --port 5353 --cache-size=1000 --pid-file= --log-facility=/dev/null > /dev/null 2>&1 &
  echo $!
}
