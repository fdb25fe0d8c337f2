// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/instance/inventory.hpp"
#include "berth/instance/render.hpp"
#include "berth/runtime/docker/engine.hpp"
#include "berth/runtime/systemd/unit_manager.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

/// An instance's lifecycle: create, start, stop, status, verify, destroy.
/// Every operation is idempotent; create rolls back what it made when it
/// fails, and destroy removes whatever of the instance is left.
namespace berth::instance {

/// Where an instance's host-wide pieces go (tests and the benchmark may move them).
struct HostPaths {
  Inventory inventory;
  /// The host's systemd: unit files and verbs (tests pass a fake).
  std::shared_ptr<runtime::systemd::UnitManager> units =
      runtime::systemd::make_unit_manager(runtime::systemd::Scope::System);
  SysboxPaths sysbox;
  /// The --no-systemd sysbox reference count (`dockyard-refcount` + `.lock`).
  std::filesystem::path refcount_dir = "/run/sysbox";
  RenderOptions tools;  ///< paths of iptables and ip (the firewall mode is per instance)
  /// berth-firewall to copy into instances; empty: next to this program, or in PATH.
  std::filesystem::path firewall_program;
  std::chrono::seconds start_timeout{120};
  /// The Docker Engine API client of an instance's socket (tests pass fakes).
  runtime::docker::EngineFactory docker = runtime::docker::make_engine;
};

/// Told what is happening during long operations ("waiting for /dy1/docker.sock").
using Progress = std::function<void(std::string_view)>;

struct CreateOptions {
  InstanceOptions mode;
  bool start = true;
  /// Where the Docker binaries come from; empty: docker.io's directories.
  std::vector<std::filesystem::path> binary_dirs;
  /// sysbox-runc, sysbox-mgr and sysbox-fs; set means mode.sysbox.
  std::optional<std::filesystem::path> sysbox_dir;
};

[[nodiscard]] core::Result<void> create(const InstanceEnv& env, const CreateOptions& options, const HostPaths& host,
                                        const Progress& progress);
/// Starts dockerd (through its units, which it enables for boot too; or
/// detached with a pid file) and waits until the socket answers.
[[nodiscard]] core::Result<void> start(const InstanceRecord& instance, const HostPaths& host, const Progress& progress);
/// Stops dockerd; the firewall rules go with it.
[[nodiscard]] core::Result<void> stop(const InstanceRecord& instance, const HostPaths& host, const Progress& progress);

struct InstanceStatus {
  std::string state;  ///< "active", "inactive", "failed", "activating", ...
  std::optional<pid_t> pid;
  bool answers = false;  ///< the socket answers /_ping
};
[[nodiscard]] core::Result<InstanceStatus> status(const InstanceRecord& instance, const HostPaths& host);

/// Checks every resource of the instance's inventory (files, binaries, unit,
/// account, bridge, firewall, socket); returns what is wrong, empty if nothing.
[[nodiscard]] core::Result<std::vector<std::string>> verify(const InstanceRecord& instance, const HostPaths& host);

/// Removes containers, stops dockerd, removes the unit, firewall, bridge,
/// directories, user, group and inventory entry (and the shared sysbox
/// service after the last instance using it). What is already gone is fine.
[[nodiscard]] core::Result<void> destroy(const InstanceEnv& env, const HostPaths& host, const Progress& progress);

}  // namespace berth::instance
