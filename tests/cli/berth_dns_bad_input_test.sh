#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berth-dns refuses bad options before it serves anything: one line on
# stderr naming what was wrong, a non-zero exit, nothing on stdout, and the
# records directory it was given left as it was (not created).
#   berth_dns_bad_input_test.sh BERTH_DNS
set -uo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
records=$work/records
failed=0
check() {  # EXPECTED-TEXT ARGS...
  local want=$1 out err rc
  shift
  out=$(timeout 5 "$bin" "$@" 2>"$work/err")
  rc=$?
  err=$(cat "$work/err")
  if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ -n "$out" ] || [ "$(wc -l < "$work/err")" != 1 ] ||
     [[ "$err" != "berth-dns: error: "*"$want"* ]] || [ -e "$records" ]; then
    echo "FAIL: berth-dns $* -> exit $rc, stdout '$out', stderr '$err' (wanted one line with '$want')"
    failed=1
  fi
}
check "--records is required" --port 5399
check "--port 0 is out of range" --records "$records" --port 0
check "--port 70000 is out of range" --records "$records" --port 70000
check "--upstream-fallback-ms 1 is out of range" --records "$records" --upstream-fallback-ms 1
check "--busy-poll-us 200000 is out of range" --records "$records" --busy-poll-us 200000
check "--busy-poll-us -1 is out of range" --records "$records" --busy-poll-us -1
check "'--busy-poll-us' is invalid" --records "$records" --busy-poll-us soon
check "--upstream: '1.2.3' is not an IP address" --records "$records" --upstream 1.2.3
check "unknown log level 'loud'" --records "$records" --log-level loud
check "unrecognised option '--bogus'" --records "$records" --bogus
check "watch records directory '$records'" --records "$records" --port 5399 --upstream 127.0.0.1
exit $failed
