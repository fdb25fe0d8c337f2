// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/workload.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

/// `berthctl run`'s flags as the user typed them, and the rules that turn
/// them into what berthd is asked to run: Docker's meaning of each flag,
/// checked here so that bad input is refused before anything is sent.
namespace berth::runtime::daemon {

struct RunFlags {
  std::string image;
  std::vector<std::string> command;
  std::string name, hostname, user, workdir, network, restart;
  std::optional<std::string> entrypoint, memory;
  std::optional<double> cpus;
  std::vector<std::string> env, env_files, publish, volumes, labels, cap_add, cap_drop;
  bool detach = false, auto_remove = false, read_only = false, interactive = false, tty = false;
  /// Docker's --health-cmd (run by /bin/sh -c), and berth's HTTP and TCP
  /// checks (--health-http URL, --health-tcp PORT): at most one of them.
  std::optional<std::string> health_cmd, health_http, health_interval, health_timeout, health_start_period;
  std::optional<int> health_tcp;
  std::optional<unsigned> health_retries;
  bool no_healthcheck = false;
};

/// Where `-e KEY` and a bare KEY in an env file find their value (the
/// client's environment); and how an env file is read.
struct RunFlagSources {
  std::function<std::optional<std::string>(const std::string&)> env;
  std::function<core::Result<std::string>(const std::string&)> read_file;
};

/// The spec berthd runs for `flags`; an error names the flag that is wrong.
/// `--rm` in the foreground is the client's to do once it has the exit
/// code (so the spec does not ask for it); detached it is the daemon's.
[[nodiscard]] core::Result<WorkloadSpec> spec_from_flags(const RunFlags& flags, const RunFlagSources& sources);

}  // namespace berth::runtime::daemon
