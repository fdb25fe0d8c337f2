#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time from `dockyard create` to a socket that answers, for 1 instance and for
# 8 created concurrently, against the floor: the same dockerd binaries started
# by hand with the same bridge setup (no user, no unit, no firewall, no copy),
# in the same run, inside a disposable test host (tests/hosts/test_host.sh).
#   bench/dockyard/bench_dockyard.sh build/cli/dockyard/dockyard [ROUNDS]
# (berth-firewall is taken from the same build: ../berth-firewall/berth-firewall)
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "bench_dockyard: error: needs root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
dockyard_bin=$1 rounds=${2:-3}
firewall_bin=$(dirname "$dockyard_bin")/../berth-firewall/berth-firewall
source "$here/../../tests/hosts/test_host.sh"
th_start "$here" "$dockyard_bin" "$firewall_bin" >/dev/null
th bash /berth-tests/inner.sh "$rounds"
