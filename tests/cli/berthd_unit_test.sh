#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd's systemd unit, with ExecStart pointing at the built berthd, passes
# systemd-analyze verify without a word about it, and keeps what matters:
# Restart=always, only berthd killed on stop (KillMode=process), the env file.
#   berthd_unit_test.sh UNIT.in BERTHD
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|@BERTHD_PATH@|$2|" "$1" >"$dir/berthd.service"
out=$(systemd-analyze verify "$dir/berthd.service" 2>&1) || { echo "FAIL: systemd-analyze verify: $out"; exit 1; }
if grep -q "berthd.service" <<<"$out"; then echo "FAIL: systemd-analyze complains: $out"; exit 1; fi
for line in "Restart=always" "KillMode=process" "EnvironmentFile=-/etc/berth/berthd.env" "WantedBy=multi-user.target"; do
  grep -qx "$line" "$dir/berthd.service" || { echo "FAIL: the unit lacks $line"; exit 1; }
done
grep -q "^ExecStart=$2 --net-driver native" "$dir/berthd.service" || { echo "FAIL: ExecStart"; exit 1; }
echo ok
