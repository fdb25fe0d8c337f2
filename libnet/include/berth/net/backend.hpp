// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"
#include "berth/net/port_mapping.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net {

/// Per-container choices.
struct SetupOptions {
  std::optional<IpAddress> ipv4;  ///< a requested static IPv4 address
  std::optional<IpAddress> ipv6;  ///< a requested static IPv6 address
  unsigned mtu = 0;               ///< 0: the network's MTU
};

/// Attach one container (its network namespace) to the network.
struct SetupRequest {
  std::string container_id;
  std::filesystem::path netns;  ///< /proc/PID/ns/net, /run/netns/NAME, ...
  std::string ifname = "eth0";  ///< the interface inside the container
  std::string hostname;
  std::vector<std::string> aliases;
  std::vector<PortMapping> ports;
  SetupOptions options;
};

/// Detach one container. The namespace may already be gone.
struct TeardownRequest {
  std::string container_id;
  std::filesystem::path netns;
  std::string ifname = "eth0";
};

/// What a container got.
struct Attachment {
  std::string container_id;
  std::string network;
  std::string ifname;     ///< inside the container
  std::string host_veth;  ///< the host end
  std::string mac;        ///< of `ifname`
  std::vector<InterfaceAddress> addresses;
  std::vector<IpAddress> gateways;
  std::filesystem::path netns;
  std::vector<PortMapping> ports;
  std::string hostname;
  std::vector<std::string> aliases;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

/// A way of attaching containers to a network. Implementations: native
/// (NativeBackend), CNI exec. Not thread-safe; one caller at a time.
class Backend {
public:
  virtual ~Backend() = default;
  /// "native" or "cni".
  [[nodiscard]] virtual std::string_view driver() const = 0;
  /// Host-wide setup of the network (bridge, firewall, ...); idempotent.
  [[nodiscard]] virtual core::Result<void> ensure_network() = 0;
  /// Attaches a container; idempotent: a second call returns the same attachment.
  /// A setup that fails leaves nothing behind.
  [[nodiscard]] virtual core::Result<Attachment> setup(const SetupRequest& request) = 0;
  /// Checks that a container's attachment is still in place.
  [[nodiscard]] virtual core::Result<void> check(const SetupRequest& request) = 0;
  /// Every container attached now (from the backend's records).
  [[nodiscard]] virtual core::Result<std::vector<Attachment>> attachments() = 0;
  /// Detaches a container; an unknown container succeeds. Goes on past
  /// failures and reports all of them.
  [[nodiscard]] virtual core::Result<void> teardown(const TeardownRequest& request) = 0;
  /// Removes the network host-wide (what ensure_network made); refused
  /// (`Errc::conflict`) while containers are attached. A network that is
  /// gone already is fine. Goes on past failures and reports all of them.
  [[nodiscard]] virtual core::Result<void> remove_network() = 0;
};

}  // namespace berth::net
