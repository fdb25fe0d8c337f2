#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dockyard's lifecycle suite (system tier) in a fresh test host:
#   dockyard_lifecycle.sh DOCKYARD_BIN BERTH_FIREWALL_BIN systemd|no-systemd|iptables
# gen-env for three instances; create a, b, c concurrently; each runs a
# container that reaches an outside peer and resolves a name; isolation;
# stop/start without duplicate rules; a failing start says why; socket permissions; destroy a while a
# container runs, twice; b and c unaffected; reboot (systemd modes): b and c
# come back by themselves (--no-systemd: `dockyard start` after the reboot);
# destroy b and c; nothing of dockyard remains. Also: list with no instance, create --no-start.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
dockyard_bin=$1 firewall_bin=$2 mode=$3
source "$here/test_host.sh"

case "$mode" in
systemd) flags=(--sysbox-dir /root/sysbox) restart_how=systemctl ;;
no-systemd) flags=(--no-systemd --sysbox-dir /root/sysbox) restart_how=dockyard ;;
iptables) flags=(--firewall iptables) restart_how=dockyard ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
step() { printf '== %s: %s\n' "$mode" "$*"; }
# A failed phase also shows the end of the journal of dockyard's units (systemd modes).
phase() {
  th bash /berth-tests/dockyard_phases.sh "$@" && return 0
  echo "== $mode: phase '$*' failed; the test host's journal of dockyard's units ends:" >&2
  th journalctl --no-pager -q -o short-precise -n 80 -u 'dy*' -u dockyard-sysbox.service >&2 || true
  return 1
}

# This machine must come out as it went in (the test host has its own network namespace).
forwarding_before=$(cat /proc/sys/net/ipv4/ip_forward)
machine_unchanged() {
  local now
  now=$(cat /proc/sys/net/ipv4/ip_forward)
  [ "$now" = "$forwarding_before" ] || { echo "FAIL: this machine's net.ipv4.ip_forward went $forwarding_before -> $now" >&2; exit 1; }
}

step "boot the test host"
th_start "$here" "$dockyard_bin" "$firewall_bin"
phase outside
step "gen-env for three instances"
phase gen
step "create a, b and c concurrently (${flags[*]})"
phase create "${flags[@]}"
[ "$mode" = iptables ] || phase sysbox active
step "create --no-start leaves an instance off until start"
phase no-start "${flags[@]}"
step "containers run, reach the outside peer and resolve its name"
phase running a b c
step "isolation between instances"
phase isolated a b c
step "stop and start re-apply the rules without duplicates"
phase restart a "$restart_how"
step "a start that fails says why; the fixed instance starts"
phase broken-start a
if [ "$mode" != iptables ]; then
  step "the shared sysbox stops after the last instance and starts before the first"
  phase stop-all a b c
  phase sysbox inactive
  phase start-all a b c
  phase sysbox active
fi
step "socket permissions"
phase sockets
step "destroy a while its container runs, twice"
phase destroy a
step "b and c are unaffected"
phase running b c
if [ "$mode" != no-systemd ]; then
  step "reboot: b and c come back by themselves"
  th_reboot
  phase outside
  phase after-boot b c
  phase running b c
else
  step "reboot: without systemd nothing restarts b and c; dockyard start brings them back"
  th_reboot
  phase outside
  phase not-running b c
  phase start-all b c
  phase running b c
fi
step "destroy b and c: nothing of dockyard remains"
phase destroy b
phase destroy c
phase nothing-left
machine_unchanged
step "passed"
