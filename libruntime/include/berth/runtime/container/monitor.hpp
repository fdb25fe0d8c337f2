// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

/// The container monitor: the process that starts a container, holds its
/// stdout and stderr (written to a log of JSON lines as Docker's json-file
/// driver writes them, rotated by size), waits for its first process and
/// writes its exit status, so the container outlives whoever started it.
///
/// Why not Debian's conmon, which does the same for podman and CRI-O:
/// conmon holds a container between `runc create` and `runc start`, two
/// runtime processes per start, the second one ~9 ms of Go start-up alone on
/// this machine, and its own start-up on top. berth's create is Docker's (a
/// bundle and a record; nothing runs until start), so its monitor runs the
/// runtime once per start, `runc run --detach`, as a child subreaper that
/// inherits the container when the runtime exits. The target for a
/// container's start (the bare `runc run` + 15 ms) is out of conmon's reach
/// and within this one's (bench/runtime, bench/RESULTS.md).
///
/// It runs as its own program (berth-monitor): forking the caller, a daemon
/// with threads, could not safely run C++ in the child.
namespace berth::runtime::container {

struct MonitorOptions {
  std::string id;
  std::filesystem::path runtime;          ///< runc or crun
  std::vector<std::string> runtime_args;  ///< before the command: "--root", "/run/berth/runc"
  std::filesystem::path bundle;
  std::filesystem::path pid_file;      ///< the runtime writes the container's first process here
  std::filesystem::path monitor_pid;   ///< the monitor's own PID, for state after the caller has gone
  std::filesystem::path log;           ///< JSON lines, Docker's json-file shape (log_writer.hpp)
  std::int64_t log_max_size = 0;       ///< bytes before the log is rotated; 0: never
  unsigned log_max_files = 1;          ///< files kept, the current one included
  std::filesystem::path exit_file;     ///< the exit status, written once (atomically) when it ends
  int sync_fd = 3;  ///< "pid N\n" once it runs, or "error TEXT\n"; then closed
};

/// The monitor process's whole life: detaches (a new session, its starter
/// not its parent any more), runs the runtime, reports on the sync pipe,
/// then logs and waits until the container ends. Returns the monitor's exit
/// code (0 when the container ran, whatever its own status).
int run_monitor(const MonitorOptions& options);

/// Where berth-monitor is: `configured` when set; else next to this
/// program, in ../libexec/berth/ from it, in the install's libexec
/// directory, or in PATH. Empty when none has it.
[[nodiscard]] std::filesystem::path find_monitor(const std::filesystem::path& configured = {});

}  // namespace berth::runtime::container
