// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/process.hpp"

#include <chrono>
#include <filesystem>
#include <functional>

#include <sys/types.h>

namespace berth::core {

/// Starts `cmd` as a daemon that outlives us: a double fork, its own session,
/// stdin from /dev/null, stdout and stderr appended to `log`, working
/// directory "/". Not our child, so nobody has to reap it. An exec failure
/// (missing program, no permission) comes back as an error. Returns its pid.
[[nodiscard]] Result<pid_t> spawn_detached(const Command& cmd, const std::filesystem::path& log);

/// Runs `fn` in a detached grandchild (a double fork: nobody has to reap it)
/// and returns once the intermediate child is reaped; the grandchild ends
/// when `fn` returns. `fn` may make async-signal-safe calls only, since the
/// caller may have threads; it inherits every descriptor.
[[nodiscard]] Result<void> run_in_detached_child(const std::function<void()>& fn);

/// For a process about to exit: a detached child keeps a copy of every open
/// descriptor but stdin, stdout and stderr until this process has exited,
/// then closes them. Some releases make the closer wait for the kernel (an
/// nf_tables netlink socket closed right after a transaction that deleted
/// something waits for an RCU grace period, ~20 ms, while nf_tables frees
/// the deleted objects); this way neither our exit nor whoever waits for it
/// (a CNI runtime) waits too. Descriptors opened afterwards are ours alone.
[[nodiscard]] Result<void> release_descriptors_after_exit();

/// True while a process with this pid exists (zombies count as gone).
[[nodiscard]] bool process_alive(pid_t pid);

/// Sends SIGTERM, waits up to `grace` for the process to end, then SIGKILL.
/// A process that is already gone is not an error.
[[nodiscard]] Result<void> terminate_process(pid_t pid, std::chrono::milliseconds grace);

}  // namespace berth::core
