// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"
#include "berth/net/port_mapping.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net {

/// A network as the firewall sees it.
struct FirewallNetwork {
  std::string name;
  std::string bridge;
  std::vector<Subnet> subnets;  ///< IPv4 and/or IPv6
  bool internal = false;        ///< no egress, no port maps, only its own bridge
  friend bool operator==(const FirewallNetwork&, const FirewallNetwork&) = default;
};

/// One published port (ranges are expanded before they reach the firewall).
struct PublishedPort {
  std::string owner;  ///< the container it belongs to
  Protocol protocol = Protocol::Tcp;
  std::optional<IpAddress> host_address;  ///< nullopt: every address of the host
  std::uint16_t host_port = 0;
  IpAddress container_address;
  std::uint16_t container_port = 0;
  friend bool operator==(const PublishedPort&, const PublishedPort&) = default;
};

/// Networks known only by their addresses, such as all the networks of one
/// dockerd (it makes their bridges itself, under names nobody knows in
/// advance). Traffic into `subnets` is accepted from the zone itself and as
/// replies to connections the zone opened, and dropped from anywhere else
/// (other zones, other hosts); traffic from `masquerade` leaving the zone is
/// masqueraded.
struct FirewallZone {
  std::string name;
  std::vector<Subnet> subnets;
  std::vector<Subnet> masquerade;
  friend bool operator==(const FirewallZone&, const FirewallZone&) = default;
};

/// Everything one owner's table should hold.
struct FirewallState {
  std::vector<FirewallNetwork> networks;
  std::vector<std::pair<std::string, std::string>> connections;  ///< pairs of connected networks
  std::vector<PublishedPort> ports;
  std::vector<FirewallZone> zones;
};

/// The packet filter of one owner: networks (egress masquerade, internal
/// networks, isolation between networks unless connected) and published ports.
/// Every change is one atomic transaction and touches nothing outside the
/// owner's table. Thread-safe (one internal lock; the monitor thread shares it).
class Firewall {
public:
  virtual ~Firewall() = default;

  /// The table it owns, e.g. "inet berth".
  [[nodiscard]] virtual std::string table() const = 0;

  /// Sets the expected state without touching the kernel (after a restart,
  /// before `verify`/`repair`).
  virtual void adopt(FirewallState state) = 0;
  [[nodiscard]] virtual FirewallState state() const = 0;

  /// Adds or updates a network; idempotent.
  [[nodiscard]] virtual core::Result<void> add_network(const FirewallNetwork& network) = 0;
  /// Removes a network and its rules; a missing one is not an error.
  [[nodiscard]] virtual core::Result<void> remove_network(std::string_view name) = 0;
  /// Lets two networks reach each other (isolation is the default).
  [[nodiscard]] virtual core::Result<void> connect(std::string_view a, std::string_view b) = 0;
  [[nodiscard]] virtual core::Result<void> disconnect(std::string_view a, std::string_view b) = 0;

  /// Adds or updates an address zone; idempotent.
  [[nodiscard]] virtual core::Result<void> add_zone(const FirewallZone& zone) = 0;
  /// Removes a zone and its rules; a missing one is not an error.
  [[nodiscard]] virtual core::Result<void> remove_zone(std::string_view name) = 0;
  /// Publishes ports in one transaction: all of them, or none when one
  /// collides with a port already published (same protocol and port on an
  /// overlapping host address). Cost does not depend on how many are published.
  [[nodiscard]] virtual core::Result<void> add_ports(std::span<const PublishedPort> ports) = 0;
  /// Withdraws every port of `owner`; an owner without ports is not an error.
  [[nodiscard]] virtual core::Result<void> remove_ports(std::string_view owner) = 0;

  /// Compares the kernel's table with the expected state; returns the
  /// differences (empty when they agree).
  [[nodiscard]] virtual core::Result<std::vector<std::string>> verify() = 0;
  /// Rebuilds the whole table from the expected state in one transaction.
  [[nodiscard]] virtual core::Result<void> repair() = 0;
  /// Deletes the owner's table (and forgets the state); a missing table is fine.
  [[nodiscard]] virtual core::Result<void> remove() = 0;

  /// Watches nf_tables events; when another process changes or deletes this
  /// table (`nft flush ruleset`), verifies and repairs it. `on_repair` is told
  /// what was repaired or what failed. Stops when the firewall is destroyed.
  [[nodiscard]] virtual core::Result<void> start_monitor(
      std::function<void(const core::Result<std::vector<std::string>>&)> on_repair = {}) = 0;
};

struct NftFirewallOptions {
  /// The owner: the table is `inet <table>`. Letters, digits, '-', '_' and '.'.
  std::string table = "berth";
  /// Network namespace to work in; empty: the caller's.
  std::filesystem::path netns;
};

/// The nftables implementation (libnftnl + libmnl).
[[nodiscard]] core::Result<std::unique_ptr<Firewall>> make_nft_firewall(const NftFirewallOptions& options);

/// Whether a process that deletes a table and exits right after should leave
/// the closing of its nf_tables socket to a detached child: closing it just
/// after a transaction that deleted something waits ~20 ms for the kernel to
/// free it, and whoever waits for the process (`dockyard stop`) waits too.
/// Not inside a systemd unit (INVOCATION_ID in `environment`: a dockyard
/// instance's ExecStopPost), where that child would be a process the stopped
/// unit left behind, which systemd reports.
[[nodiscard]] bool release_after_exit(const std::map<std::string, std::string>& environment);

/// Deletes the owner's table for a process about to exit, releasing its
/// descriptors as `release_after_exit(environment)` says.
[[nodiscard]] core::Result<void> remove_before_exit(Firewall& firewall,
                                                    const std::map<std::string, std::string>& environment);

}  // namespace berth::net
