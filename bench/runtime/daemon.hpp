// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace berth::bench {

/// berthd + berthctl against podman and docker (daemon.cpp); the exit code.
int bench_daemon(int rounds, int containers);

}  // namespace berth::bench
