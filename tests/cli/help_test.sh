#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every command answers --help on stdout with its usage and exits 0, whatever
# else it requires (a required option must not be demanded first).
#   help_test.sh BIN...
set -uo pipefail
failed=0
check() {
  local out rc
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  local stdout
  stdout=$("$@" 2>/dev/null)
  if [ "$rc" != 0 ] || [[ "$stdout" != usage:* ]] || [ -n "$out" ]; then
    echo "FAIL: '$*' exit $rc, stdout '${stdout:0:80}', stderr '$out'"
    failed=1
  fi
}
for bin in "$@"; do
  check "$bin" --help
  check "$bin" -h
done
exit $failed
