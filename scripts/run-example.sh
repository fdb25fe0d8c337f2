#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what berth needs, builds it, and runs its main job. Until the
# daemon and dockyard exist, that is the two-netns example: a bridge and two
# network namespaces with addresses from berth's IPAM, and a ping between
# them, all inside namespaces the example creates and removes. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset default
cmake --build --preset default -j "$(nproc)"
exec build/examples/two-netns/berth-two-netns
