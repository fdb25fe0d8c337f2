// SPDX-License-Identifier: Apache-2.0
// Pieces the lifecycle operations share (not part of the library's API).
#pragma once

#include "berth/instance/instance.hpp"

#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace berth::instance::detail {

/// Runs start or stop steps in order (the same ones systemd runs from the unit).
[[nodiscard]] core::Result<void> run_steps(const std::vector<Step>& steps);

/// The pid in a pid file, if the file holds one.
[[nodiscard]] std::optional<pid_t> read_pidfile(const std::filesystem::path& path);

enum class Daemon { Dockerd, Containerd };
/// The pid of the instance's dockerd or containerd, from its pid file, only if
/// that process really runs the instance's own binary: after a reboot the file
/// is stale and its pid may belong to anything.
[[nodiscard]] std::optional<pid_t> daemon_pid(const InstanceEnv& env, Daemon which);

/// Waits until a unix socket accepts connections (containerd's gRPC socket).
[[nodiscard]] core::Result<void> wait_for_listener(const std::filesystem::path& socket, std::chrono::seconds timeout,
                                                   const std::function<bool()>& still_starting);

/// Waits until the socket answers /_ping; gives up at the deadline or as soon
/// as `still_starting` says the daemon is gone (with its log's last line).
[[nodiscard]] core::Result<void> wait_for_socket(const InstanceEnv& env, const HostPaths& host,
                                                 std::chrono::seconds timeout,
                                                 const std::function<bool()>& still_starting,
                                                 const Progress& progress);

/// The paths of the unit file.
[[nodiscard]] std::filesystem::path unit_path(const InstanceEnv& env, const HostPaths& host);

// sysbox: shared daemons, installed once per host.
[[nodiscard]] core::Result<void> install_sysbox(const std::filesystem::path& source_dir, const InstanceEnv& env,
                                                bool systemd, const HostPaths& host);
/// --no-systemd reference counting: the first instance starts sysbox-mgr and sysbox-fs, the last stops them.
[[nodiscard]] core::Result<void> sysbox_acquire(const std::string& prefix, const HostPaths& host);
[[nodiscard]] core::Result<void> sysbox_release(const std::string& prefix, const HostPaths& host);
/// After the last sysbox instance is gone: the shared unit, binaries, state and logs.
[[nodiscard]] core::Result<void> remove_sysbox_if_unused(const HostPaths& host);

}  // namespace berth::instance::detail
