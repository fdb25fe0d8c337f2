// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/backend.hpp"
#include "berth/net/firewall/firewall.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::net {

/// A bridge network of the native backend.
struct NetworkOptions {
  std::string name = "berth";
  std::string bridge = "berth0";
  Subnet subnet = *Subnet::parse("10.88.0.0/16");
  std::optional<IpAddress> gateway;  ///< default: the first address of `subnet`
  std::optional<Subnet> subnet6;     ///< set to give containers IPv6 too
  std::optional<IpAddress> gateway6;
  bool internal = false;  ///< containers reach only this network: no egress, no published ports
  unsigned mtu = 0;       ///< 0: the kernel's default
};

/// Applies BERTH_CONTAINER_SUBNET and BERTH_GATEWAY_IP from `environment`
/// (the process's, as a map: libraries never read it themselves).
[[nodiscard]] core::Result<NetworkOptions> apply_environment(NetworkOptions options,
                                                             const std::map<std::string, std::string>& environment);

struct NativeBackendOptions {
  NetworkOptions network;
  /// IPAM stores, network and container records (one directory per firewall owner).
  std::filesystem::path state_dir = "/var/lib/berth/net";
  /// The owner's nftables table, `inet <firewall_table>`.
  std::string firewall_table = "berth";
  /// The host's network namespace; empty: the caller's.
  std::filesystem::path host_netns;
  /// Interfaces that reach other hosts and must forward for published ports;
  /// empty: those of the default routes.
  std::vector<std::string> uplinks;
  /// A firewall shared by several networks of one process; null: one of its own.
  std::shared_ptr<Firewall> firewall;
};

/// The native backend: a Linux bridge, veth pairs, berth's IPAM and nftables
/// firewall; no CNI binaries. Not thread-safe.
[[nodiscard]] core::Result<std::unique_ptr<Backend>> make_native_backend(NativeBackendOptions options);

/// The host end of a container's veth on a network: "bv" + 13 hex digits of a
/// hash of both, so it fits IFNAMSIZ and is the same in every process.
[[nodiscard]] std::string host_veth_name(std::string_view network, std::string_view container_id);

}  // namespace berth::net
