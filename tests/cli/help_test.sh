#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every command answers --help on stdout with its usage and exits 0, whatever
# else it requires (a required option must not be demanded first); so does
# each verb of a command that has verbs (dockyard, berthctl).
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
  # A command with verbs lists them under "commands:"; each answers --help too.
  for verb in $("$bin" --help 2>/dev/null | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
    check "$bin" "$verb" --help
  done
done
exit $failed
