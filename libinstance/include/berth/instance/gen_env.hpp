// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/instance/env.hpp"
#include "berth/net/address.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace berth::instance {

/// What gen-env must not collide with, read from the host (routes and
/// addresses over netlink, interfaces, systemd units, files) or injected by tests.
struct HostView {
  std::vector<net::Subnet> networks;        ///< routes and addresses of the host
  std::vector<std::string> interfaces;      ///< every interface name (bridges among them)
  std::vector<std::string> units;           ///< systemd unit names present
  std::vector<InstanceEnv> instances;       ///< other dockyard instances' env files
  std::function<bool(const std::filesystem::path&)> exists;  ///< the file system
};

/// Docker's own default address pools: 172.17.0.0/16 .. 172.31.0.0/16 and 192.168.0.0/16.
[[nodiscard]] const std::vector<net::Subnet>& docker_default_pools();

/// Values forced by the operator (DOCKYARD_* environment variables).
struct GenEnvRequest {
  std::optional<std::string> root, prefix, bridge_cidr, fixed_cidr, pool_base, pool_size;
  /// Let addresses overlap Docker's default pools (only when told).
  bool allow_docker_pools = false;
  /// --nocheck: skip the collision checks (the values are still validated).
  bool nocheck = false;
};

/// Chooses an instance's values so that nothing collides: the bridge /24 and
/// the pool base /16 come from 10.0.0.0/8 (65 536 and 256 candidates, not the
/// original's 16), avoiding the host's routes and addresses, other instances
/// and Docker's default pools; the prefix is the lowest free "dyN_" whose
/// bridge, unit, exec root, and root are all unused. An override that collides
/// is an error naming what it collides with; a root that already holds an
/// instance is an error.
[[nodiscard]] core::Result<InstanceEnv> generate_env(const HostView& host, const GenEnvRequest& request,
                                                     std::mt19937_64& rng);

/// Why `env` cannot be used on `host`, or nothing.
[[nodiscard]] core::Result<void> check_collisions(const InstanceEnv& env, const HostView& host,
                                                  bool allow_docker_pools);

/// Adds the instances of env files not created yet (`gen-env --avoid`) to
/// what `host` holds, so a new env avoids them too; an error names the file.
[[nodiscard]] core::Result<void> avoid_env_files(HostView& host, const std::vector<std::filesystem::path>& files);

}  // namespace berth::instance
