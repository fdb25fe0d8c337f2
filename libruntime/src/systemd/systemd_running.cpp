// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/systemd/unit_manager.hpp"

#include <unistd.h>

namespace berth::runtime::systemd {

// systemd's own test (sd_booted): the directory exists only while systemd is PID 1.
bool systemd_running() { return ::access("/run/systemd/system", F_OK) == 0; }

}  // namespace berth::runtime::systemd
