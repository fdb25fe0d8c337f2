// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/process.hpp"

#include <chrono>
#include <filesystem>

#include <sys/types.h>

namespace berth::core {

/// Starts `cmd` as a daemon that outlives us: a double fork, its own session,
/// stdin from /dev/null, stdout and stderr appended to `log`, working
/// directory "/". Not our child, so nobody has to reap it. An exec failure
/// (missing program, no permission) comes back as an error. Returns its pid.
[[nodiscard]] Result<pid_t> spawn_detached(const Command& cmd, const std::filesystem::path& log);

/// True while a process with this pid exists (zombies count as gone).
[[nodiscard]] bool process_alive(pid_t pid);

/// Sends SIGTERM, waits up to `grace` for the process to end, then SIGKILL.
/// A process that is already gone is not an error.
[[nodiscard]] Result<void> terminate_process(pid_t pid, std::chrono::milliseconds grace);

}  // namespace berth::core
