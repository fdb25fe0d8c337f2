#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The steps of the dockyard lifecycle suite, run inside the test host by
# dockyard_lifecycle.sh (one phase per call, so the host can reboot between
# them). Instances: a, b, c (env files /root/{a,b,c}.env). Every check
# prints what it saw when it fails.
set -euo pipefail
phase=$1
shift

fail() { echo "FAIL: $*" >&2; exit 1; }
env_of() { echo "/root/$1.env"; }
val() { sed -n "s/^$2=//p" "$(env_of "$1")"; }
prefix() { val "$1" DOCKYARD_DOCKER_PREFIX; }
root() { val "$1" DOCKYARD_ROOT; }
dk() { local i=$1; shift; docker -H "unix://$(root "$i")/docker.sock" "$@"; }
# Runs FN for each instance concurrently; fails if any failed (output kept per instance).
each() {
  local fn=$1; shift
  local pids=() i rc=0
  for i in "$@"; do "$fn" "$i" >"/tmp/each-$fn-$i.log" 2>&1 & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  for i in "$@"; do sed "s/^/[$i] /" "/tmp/each-$fn-$i.log"; done
  return $rc
}

case "$phase" in
outside)  # a namespace playing the outside world: 192.0.2.2, with a DNS server for peer.test
  ip netns add outside
  ip link add peer0 type veth peer name eth0 netns outside
  ip address add 192.0.2.1/24 dev peer0
  ip link set peer0 up
  ip -n outside address add 192.0.2.2/24 dev eth0
  ip -n outside link set eth0 up
  ip -n outside link set lo up
  ip -n outside route add default via 192.0.2.1
  ip netns exec outside dnsmasq --user=root --port=53 --listen-address=192.0.2.2 --bind-interfaces --no-resolv \
    --no-hosts --address=/peer.test/192.0.2.2 --pid-file=/run/outside-dnsmasq.pid
  ;;
gen)  # no instance yet: list shows an empty table; gen-env for three instances, each avoiding the others
  out=$(dockyard list)
  [ "$out" = "$(printf '%-10s %-10s %-8s %-20s %s' PREFIX STATE ANSWERS BRIDGE ROOT)" ] || fail "list with no instance: '$out'"
  [ "$(dockyard list --json)" = "[]" ] || fail "list --json with no instance: $(dockyard list --json)"
  dockyard gen-env -o /root/a.env >/dev/null
  dockyard gen-env -o /root/b.env --avoid /root/a.env >/dev/null
  dockyard gen-env -o /root/c.env --avoid /root/a.env --avoid /root/b.env --json
  mkdir -p /root/sysbox
  for b in sysbox-mgr sysbox-fs sysbox-runc; do printf '#!/bin/sh\nexec sleep infinity\n' >/root/sysbox/$b; done
  chmod 755 /root/sysbox/*
  ;;
create)  # create a, b, c concurrently with the given flags
  create_one() { dockyard create --env "$(env_of "$1")" $FLAGS; }
  FLAGS="$*" each create_one a b c
  # The units as written pass systemd's own checks on a host that runs them.
  for unit in /etc/systemd/system/dy*_docker.service /etc/systemd/system/dockyard-sysbox.service; do
    [ -e "$unit" ] || continue
    out=$(systemd-analyze verify "$unit" 2>&1 || echo "exit $?")
    if grep -q "$(basename "$unit")\|^exit" <<<"$out"; then fail "systemd-analyze verify $unit: $out"; fi
  done
  ;;
no-start)  # create --no-start leaves the instance off (its units disabled) until dockyard start; then it goes
  flags=("$@")
  dockyard gen-env -o /root/d.env --avoid /root/a.env --avoid /root/b.env --avoid /root/c.env >/dev/null
  p=$(prefix d)
  dockyard create --env /root/d.env --no-start "${flags[@]}" >/dev/null
  if dockyard status "$p" >/dev/null; then fail "d runs after create --no-start"; fi
  if [ -d /run/systemd/system ] && [ -e "/etc/systemd/system/${p}docker.service" ]; then
    for u in "${p}docker.service" "${p}containerd.service"; do
      state=$(systemctl is-enabled "$u" || true)
      [ "$state" = disabled ] || fail "$u is '$state' after create --no-start (want disabled)"
    done
  fi
  dockyard create --env /root/d.env --no-start "${flags[@]}" >/dev/null || fail "a second create --no-start"
  dockyard start "$p" >/dev/null
  dockyard status "$p" >/dev/null || fail "d does not run after start"
  if [ -d /run/systemd/system ] && [ -e "/etc/systemd/system/${p}docker.service" ]; then
    for u in "${p}docker.service" "${p}containerd.service"; do
      state=$(systemctl is-enabled "$u" || true)
      [ "$state" = enabled ] || fail "$u is '$state' after start (want enabled)"
    done
  fi
  dockyard list --json | grep -q "\"prefix\":\"$p\"" || fail "d is not in list --json"
  dockyard destroy "$p" --yes >/dev/null
  if dockyard list | grep -q "^$p "; then fail "d still listed after destroy"; fi
  ;;
running)  # each instance answers, verifies, runs a container that reaches the outside and resolves a name
  check() {
    local i=$1
    dockyard status --env "$(env_of "$i")" || fail "$i: status"
    dockyard verify --env "$(env_of "$i")" || fail "$i: verify"
    dk "$i" image inspect busybox >/dev/null 2>&1 || dk "$i" import /opt/busybox.tar busybox >/dev/null
    dk "$i" rm -f web >/dev/null 2>&1 || true
    dk "$i" run -d --restart always --name web busybox sleep 3600 >/dev/null
    dk "$i" run --rm busybox ping -c 1 -W 3 192.0.2.2 >/dev/null || fail "$i: container cannot reach the outside peer"
    answer=$(dk "$i" run --rm --dns 192.0.2.2 busybox nslookup peer.test 2>&1 || true)
    [[ "$answer" == *"Address: 192.0.2.2"* ]] || fail "$i: no DNS answer for peer.test: $answer"
  }
  each check "$@"
  ;;
isolated)  # no container of one instance reaches another's; docker ps is separate
  for i in "$@"; do
    ip=$(dk "$i" inspect -f '{{.NetworkSettings.IPAddress}}' web)
    ids=$(dk "$i" ps -q --no-trunc)
    for j in "$@"; do
      [ "$i" = "$j" ] && continue
      if dk "$j" run --rm busybox ping -c 1 -W 1 "$ip" >/dev/null 2>&1; then fail "$j reaches $i's container $ip"; fi
      for id in $ids; do
        if dk "$j" ps -q --no-trunc | grep -q "$id"; then fail "$j lists $i's container"; fi
      done
    done
    dk "$i" run --rm busybox ping -c 1 -W 3 "$ip" >/dev/null || fail "$i: its own container $ip unreachable"
  done
  ;;
restart)  # stop and start re-apply the rules, without duplicates
  i=$1 how=$2
  p=$(prefix "$i")
  for round in 1 2; do
    if [ "$how" = systemctl ]; then systemctl stop "${p}docker"; systemctl start "${p}docker"; else
      dockyard stop "$p"; dockyard start "$p"; fi
  done
  n=$(nft list tables | grep -c "${p}docker" || true)
  r=$(iptables-save 2>/dev/null | grep -c -- "${p}docker0" || true)
  case "$(grep -o '"firewall":"[a-z]*"' "/etc/dockyard/instances/$p.json" | cut -d'"' -f4)" in
    nftables)
      [ "$n" = 1 ] || fail "$i: $n nft tables after restarts"
      z=$(nft list table inet "${p}docker" | grep -c "zone:${p} " || true)
      [ "$z" = 10 ] || { nft list table inet "${p}docker" >&2; fail "$i: $z zone rules after restarts (want 10)"; } ;;
    iptables) [ "$r" = 5 ] || { iptables-save >&2; fail "$i: $r iptables rules after restarts (want 5)"; } ;;
  esac
  dockyard verify "$p" || fail "$i: verify after restart"
  # The unit's stop leaves no process behind (berth-firewall's ExecStopPost included).
  if [ -d /run/systemd/system ]; then
    left=$(journalctl --no-pager -q -u "${p}docker.service" | grep -E "remains running after unit stopped|left-over process" || true)
    [ -z "$left" ] || fail "$i: the unit left processes behind: $left"
  fi
  dk "$i" run --rm busybox ping -c 1 -W 3 192.0.2.2 >/dev/null || fail "$i: no egress after restart"
  ;;
broken-start)  # a start that fails says why (dockerd's own words), exits non-zero, and a fixed instance starts again
  i=$1 p=$(prefix "$1")
  json=$(root "$i")/docker-runtime/etc/daemon.json
  dockyard stop "$p"
  cp "$json" /tmp/daemon.json.good
  echo '{ "broken": ' >"$json"
  if out=$(dockyard start "$p" 2>&1); then fail "$i: started with a broken daemon.json: $out"; fi
  [ "$(grep -c . <<<"$out")" = 1 ] || fail "$i: more than one error line: $out"
  [[ "$out" == *"unable to configure the Docker daemon"* ]] || fail "$i: the error does not say why: $out"
  cp /tmp/daemon.json.good "$json"
  dockyard start "$p" >/dev/null || fail "$i: no start after the fix"
  dockyard verify "$p" || fail "$i: verify after the fix"
  ;;
sysbox)  # the shared sysbox runs while any instance does
  want=$1
  if [ -d /run/systemd/system ] && [ -f /etc/systemd/system/dockyard-sysbox.service ]; then
    state=$(systemctl is-active dockyard-sysbox.service || true)
  else
    state=inactive  # --no-systemd: the first instance started the pair, with pid files
    mgr=$(cat /run/sysbox/dockyard-sysbox-mgr.pid 2>/dev/null || true)
    fs=$(cat /run/sysbox/dockyard-sysbox-fs.pid 2>/dev/null || true)
    if [ -n "$mgr" ] && [ -n "$fs" ] && kill -0 "$mgr" "$fs" 2>/dev/null; then state=active; fi
  fi
  [ "$state" = "$want" ] || fail "dockyard-sysbox is $state, want $want"
  ;;
stop-all)
  for i in "$@"; do dockyard stop "$(prefix "$i")"; done
  ;;
start-all)
  for i in "$@"; do dockyard start "$(prefix "$i")"; done
  ;;
sockets)  # 0660 root:<prefix>docker; a member of b's group cannot use a's socket
  for i in a b c; do
    p=$(prefix "$i")
    s=$(stat -c '%a %U %G' "$(root "$i")/docker.sock")
    [ "$s" = "660 root ${p}docker" ] || fail "$i: socket is '$s'"
  done
  id tester >/dev/null 2>&1 || useradd -M -G "$(prefix b)docker" tester
  runuser -u tester -- docker -H "unix://$(root b)/docker.sock" ps >/dev/null || fail "tester cannot use b's socket"
  if runuser -u tester -- docker -H "unix://$(root a)/docker.sock" ps >/dev/null 2>&1; then fail "tester uses a's socket"; fi
  userdel tester
  ;;
destroy)  # destroy while a container runs, twice; nothing of it remains
  i=$1
  p=$(prefix "$i") r=$(root "$i")
  dk "$i" ps -q | grep -q . || fail "$i: no running container before destroy"
  dockyard destroy --env "$(env_of "$i")" --yes
  dockyard destroy --env "$(env_of "$i")" --yes || fail "$i: second destroy"
  [ ! -e "/etc/systemd/system/${p}docker.service" ] || fail "$i: unit left"
  if ip link show "${p}docker0" >/dev/null 2>&1; then fail "$i: bridge left"; fi
  if nft list tables | grep -q "${p}docker"; then fail "$i: nft table left"; fi
  if iptables-save 2>/dev/null | grep -q -- "${p}docker0"; then fail "$i: iptables rules left"; fi
  [ ! -e "$r" ] || fail "$i: $r left"
  [ ! -e "/run/${p}docker" ] || fail "$i: /run/${p}docker left"
  if getent passwd "${p}docker" >/dev/null; then fail "$i: user left"; fi
  if getent group "${p}docker" >/dev/null; then fail "$i: group left"; fi
  if dockyard list | grep -q "^$p "; then fail "$i: still listed"; fi
  ;;
not-running)  # after a reboot, --no-systemd instances are down (their pid files are stale)
  for i in "$@"; do
    if dockyard status "$(prefix "$i")"; then fail "$i runs although nothing started it"; fi
  done
  ;;
after-boot)  # the survivors came back by themselves
  for i in "$@"; do
    p=$(prefix "$i")
    for _ in $(seq 1 600); do dockyard status "$p" >/dev/null 2>&1 && break; sleep 0.1; done
    dockyard status "$p" || fail "$i: did not come back after the reboot"
  done
  ;;
nothing-left)  # nothing of dockyard remains
  left=$(ls /etc/systemd/system | grep -E '^dy[0-9]+_|dockyard' || true)
  [ -z "$left" ] || fail "units left: $left"
  left=$(ip -o link show | grep -oE 'dy[0-9]+_docker0' || true)
  [ -z "$left" ] || fail "bridges left: $left"
  left=$(nft list tables | grep -E 'dy[0-9]+_' || true)
  [ -z "$left" ] || fail "tables left: $left"
  left=$(iptables-save 2>/dev/null | grep -E 'dy[0-9]+_' || true)
  [ -z "$left" ] || fail "iptables rules left: $left"
  left=$(ls -d /dy[0-9]* /run/dy[0-9]*_docker /usr/local/lib/dockyard /var/lib/dockyard-sysbox /var/log/dockyard-sysbox 2>/dev/null || true)
  [ -z "$left" ] || fail "directories left: $left"
  left=$(getent passwd | grep -E '^dy[0-9]+_' || true; getent group | grep -E '^dy[0-9]+_' || true)
  [ -z "$left" ] || fail "accounts left: $left"
  left=$(ls /etc/dockyard/instances/*.env 2>/dev/null || true)
  [ -z "$left" ] || fail "inventory left: $left"
  left=$(pgrep -a dockerd || true; pgrep -af 'sleep infinity' || true)
  [ -z "$left" ] || fail "processes left: $left"
  ;;
*) fail "unknown phase $phase" ;;
esac
