// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/instance/gen_env.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace berth::instance {

/// Where gen-env looks on the host.
struct ScanOptions {
  /// Other instances' env files (`create` keeps a copy here, named <prefix>.env).
  std::filesystem::path inventory_dir = "/etc/dockyard/instances";
  /// Directories whose *.service files count as taken unit names.
  std::vector<std::filesystem::path> unit_dirs = {"/etc/systemd/system", "/run/systemd/system",
                                                  "/lib/systemd/system", "/usr/lib/systemd/system"};
};

/// Reads the host: routes and addresses over netlink (this thread's network
/// namespace), interface names, unit files, the inventory's env files.
[[nodiscard]] core::Result<HostView> read_host_view(const ScanOptions& options = {});

/// The DOCKYARD_* overrides of an environment (a map of variables).
[[nodiscard]] GenEnvRequest request_from_environment(const std::map<std::string, std::string>& env);

}  // namespace berth::instance
