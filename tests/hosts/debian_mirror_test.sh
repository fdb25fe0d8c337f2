#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test host's debootstrap finds the mirror whichever format apt's
# sources are in, and says so in one line when there is none.
#   debian_mirror_test.sh DEBIAN_MIRROR_SH
set -uo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
expect() {  # NAME WANTED-STDOUT WANTED-EXIT
  local out rc err
  out=$("$bin" "$work/etc" 2>"$work/err"); rc=$?
  err=$(cat "$work/err")
  if [ "$out" != "$2" ] || [ "$rc" != "$3" ]; then
    echo "FAIL: $1: got '$out' (exit $rc, stderr '$err'), want '$2' (exit $3)"; failed=1
  fi
  if [ "$3" != 0 ] && { [ "$(grep -c . "$work/err")" != 1 ] || [[ "$err" != *"no Debian bookworm mirror found"* ]]; }; then
    echo "FAIL: $1: wanted one line saying no mirror was found, got '$err'"; failed=1
  fi
}
reset() { rm -rf "$work/etc"; mkdir -p "$work/etc/sources.list.d"; }

reset
cat >"$work/etc/sources.list.d/debian.sources" <<'X'
Types: deb
# a comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
X
expect "deb822 (Debian 12 images)" "http://mirror.example/debian" 0

reset
cat >"$work/etc/sources.list.d/debian.sources" <<'X'
Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Enabled: no
Types: deb
URIs: http://off.example/debian
Suites: bookworm

Types: deb
URIs: http://on.example/debian
Suites: bookworm
X
expect "deb822, skipping deb-src and disabled entries" "http://on.example/debian" 0

reset
cat >"$work/etc/sources.list" <<'X'
# deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb http://security.debian.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://ftp.example/debian/ bookworm main contrib
deb http://ftp.example/debian/ bookworm-updates main
X
expect "one-line sources.list (the installer, debootstrap)" "http://ftp.example/debian" 0

reset
echo "deb http://list.example/debian bookworm main" >"$work/etc/sources.list.d/extra.list"
expect "one-line sources.list.d/*.list" "http://list.example/debian" 0

reset
echo "deb http://security.debian.org/debian-security bookworm-security main" >"$work/etc/sources.list"
expect "only a security archive" "" 1

reset
expect "no sources at all" "" 1
exit $failed
