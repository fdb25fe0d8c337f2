#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside the test host (see bench_dockyard.sh).
set -euo pipefail
rounds=$1
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
answers() { [ -S "$1" ] && docker -H "unix://$1" version >/dev/null 2>&1; }

# The floor: N dockerds from the same binaries, each on a bridge made by hand.
raw_round() {
  local n=$1 k t0 t1
  for k in $(seq 1 "$n"); do
    ip link add "raw$k" type bridge && ip address add "10.250.$k.1/24" dev "raw$k" && ip link set "raw$k" up
    mkdir -p "/bench/raw$k"
  done
  t0=$(now)
  for k in $(seq 1 "$n"); do
    dockerd --data-root "/bench/raw$k/data" --exec-root "/run/raw$k" --pidfile "/bench/raw$k/dockerd.pid" \
      -H "unix:///bench/raw$k/docker.sock" --bridge "raw$k" --iptables=false --ip6tables=false \
      >"/bench/raw$k.log" 2>&1 &
  done
  for k in $(seq 1 "$n"); do until answers "/bench/raw$k/docker.sock"; do sleep 0.02; done; done
  t1=$(now)
  for k in $(seq 1 "$n"); do kill "$(cat "/bench/raw$k/dockerd.pid")"; done
  wait
  for k in $(seq 1 "$n"); do ip link del "raw$k"; done
  grep -o ' /bench/[^ ]*\| /run/raw[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf /bench /run/raw*
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# dockyard: gen-env (not timed), then N creates at once; each returns when its socket answers.
dockyard_round() {
  local n=$1 k avoid=() t0 t1
  for k in $(seq 1 "$n"); do
    dockyard gen-env -o "/root/b$k.env" "${avoid[@]}" >/dev/null
    avoid+=(--avoid "/root/b$k.env")
  done
  t0=$(now)
  for k in $(seq 1 "$n"); do dockyard create --env "/root/b$k.env" >/dev/null & done
  wait
  t1=$(now)
  for k in $(seq 1 "$n"); do answers "$(sed -n 's/^DOCKYARD_ROOT=//p' "/root/b$k.env")/docker.sock"; done
  for k in $(seq 1 "$n"); do dockyard destroy --env "/root/b$k.env" >/dev/null; done
  rm -f /root/b*.env
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

printf '%-10s %-26s %-26s %s\n' instances "dockyard create->answer" "dockerd by hand->answer" ratio
for n in 1 8; do
  d=() r=()
  for _ in $(seq 1 "$rounds"); do
    r+=("$(raw_round "$n")")
    d+=("$(dockyard_round "$n")")
  done
  dm=$(printf '%s\n' "${d[@]}" | median) rm=$(printf '%s\n' "${r[@]}" | median)
  printf '%-10s %-26s %-26s %.2fx\n' "$n" "$(printf '%.2f s' "$dm")" "$(printf '%.2f s' "$rm")" "$(awk -v a="$dm" -v b="$rm" 'BEGIN { print a / b }')"
done
