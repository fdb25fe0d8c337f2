#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build tree into a temporary prefix, builds examples/consumer
# against it with find_package(berth REQUIRED), and runs it.
set -euo pipefail
build_dir=$1
consumer_src=$2
work=$(mktemp -d /tmp/berth-consumer-test-XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$consumer_src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/consumer")
echo "$out"
[ "$out" = "subnet 10.88.0.0/16: gateway 10.88.0.1, first container 10.88.0.2" ]
