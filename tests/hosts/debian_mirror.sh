#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints the Debian mirror this machine's apt uses for bookworm's main
# archive, read from either format apt takes: deb822 files
# (/etc/apt/sources.list.d/*.sources, what Debian 12's images write) or
# one-line entries (/etc/apt/sources.list and sources.list.d/*.list, what
# Debian's installer and debootstrap write). Security and updates archives
# are skipped. When there is none, says so in one line and exits 1.
#   debian_mirror.sh [APT_ETC]      (default /etc/apt; tests pass another)
set -uo pipefail
etc=${1:-/etc/apt}

# One-line format: deb [options] URI SUITE COMPONENT...
from_lists() {
  local f
  for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
  done
}

# deb822: paragraphs of Types, URIs, Suites..., separated by blank lines.
from_sources() {
  local f
  for f in "$etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() { if (deb && uri != "" && suites ~ /(^| )bookworm( |$)/ && enabled) { print uri; found = 1; exit } }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); deb = 0; uri = ""; suites = ""; enabled = 1; next }
      BEGIN { enabled = 1 }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { suites = ""; for (i = 2; i <= NF; i++) suites = suites " " $i; sub(/^ /, "", suites) }
      tolower($1) == "enabled:" { enabled = ($2 != "no") }
      END { if (!found) flush() }
    ' "$f"
  done
}

mirror=$( { from_sources; from_lists; } | head -n 1)
if [ -z "$mirror" ]; then
  echo "test host: no Debian bookworm mirror found in $etc/sources.list or $etc/sources.list.d/ (debootstrap needs one)" >&2
  exit 1
fi
echo "${mirror%/}"
