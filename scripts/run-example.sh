#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what berth needs, builds it, and runs its main job
# (scripts/main-job.sh): berthd in namespaces of its own, a web server
# container with a published port and a client that reaches it by name,
# driven by berthctl; everything removed at the end. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset default
cmake --build --preset default -j "$(nproc)"
exec scripts/main-job.sh build
