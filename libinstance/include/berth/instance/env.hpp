// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace berth::instance {

/// One dockyard instance's settings: the KEY=VALUE env file (dockyard.env).
///   DOCKYARD_ROOT=/dy1  DOCKYARD_DOCKER_PREFIX=dy1_  DOCKYARD_BRIDGE_CIDR=10.31.7.1/24
///   DOCKYARD_FIXED_CIDR=10.31.7.0/24  DOCKYARD_POOL_BASE=10.42.0.0/16  DOCKYARD_POOL_SIZE=24
struct InstanceEnv {
  std::filesystem::path root;
  std::string prefix;
  net::InterfaceAddress bridge_cidr;  ///< the bridge's address and prefix (a /24)
  net::Subnet fixed_cidr;             ///< where the default bridge's containers get addresses
  net::Subnet pool_base;              ///< default-address-pools base of user networks
  unsigned pool_size = 24;            ///< prefix length of each pool network

  // Names every resource of the instance takes from the prefix.
  [[nodiscard]] std::string bridge() const { return prefix + "docker0"; }
  [[nodiscard]] std::string unit() const { return prefix + "docker.service"; }
  [[nodiscard]] std::string containerd_unit() const { return prefix + "containerd.service"; }
  [[nodiscard]] std::string group() const { return prefix + "docker"; }
  [[nodiscard]] std::string table() const { return prefix + "docker"; }
  [[nodiscard]] std::filesystem::path exec_root() const { return "/run/" + prefix + "docker"; }
  friend bool operator==(const InstanceEnv&, const InstanceEnv&) = default;
};

/// A prefix: 2 to 8 lower-case letters and digits, starting with a letter,
/// ending with '_' ("dy1_"); so `<prefix>docker0` fits an interface name and
/// nothing in it can escape a unit file, a path or a shell.
[[nodiscard]] core::Result<void> validate_prefix(std::string_view prefix);
/// An absolute, normalized path of plain names (no "..", no spaces or shell characters).
[[nodiscard]] core::Result<void> validate_root(std::string_view root);
/// Checks the values together (fixed CIDR inside the bridge's subnet, pool size, ...).
[[nodiscard]] core::Result<void> validate(const InstanceEnv& env);

/// Parses an env file: KEY=VALUE lines, '#' comments and blank lines; values
/// may be double-quoted. Unknown keys, repeated keys, lines without '=' and
/// unsafe values are errors naming the line.
[[nodiscard]] core::Result<InstanceEnv> parse_env(std::string_view text);
/// Renders the env file (parse_env(render_env(e)) == e).
[[nodiscard]] std::string render_env(const InstanceEnv& env);

}  // namespace berth::instance
