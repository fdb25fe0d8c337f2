// SPDX-License-Identifier: Apache-2.0
// What one owner's table should hold, and the rules for what may join it:
// no two networks share a bridge or overlapping subnets, no two zones
// overlap, and no two published ports collide. Knows nothing of nf_tables,
// so its checks are tested without a kernel.
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/firewall/firewall.hpp"

#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::net {

/// Not thread-safe: the firewall's lock guards it.
class ExpectedState {
public:
  using Pair = std::pair<std::string, std::string>;

  void adopt(const FirewallState& state);
  [[nodiscard]] FirewallState snapshot() const;
  void clear();

  [[nodiscard]] const std::map<std::string, FirewallNetwork>& networks() const noexcept { return networks_; }
  [[nodiscard]] const std::map<std::string, FirewallZone>& zones() const noexcept { return zones_; }
  /// Connected pairs of networks, each pair ordered.
  [[nodiscard]] const std::set<Pair>& connections() const noexcept { return connections_; }
  [[nodiscard]] const std::map<std::string, std::vector<PublishedPort>>& ports_by_owner() const noexcept {
    return by_owner_;
  }
  /// The network called `name`, or null.
  [[nodiscard]] const FirewallNetwork* network(std::string_view name) const;

  /// Refuses a network that is malformed or collides with another one.
  [[nodiscard]] core::Result<void> check_network(const FirewallNetwork& network) const;
  /// Refuses a zone that is malformed or overlaps another one.
  [[nodiscard]] core::Result<void> check_zone(const FirewallZone& zone) const;
  /// Checks a request to publish `ports` as a whole: refused when one is
  /// malformed, collides with a published one or with another of the
  /// request; otherwise the ports not published yet.
  [[nodiscard]] core::Result<std::vector<const PublishedPort*>> check_ports(std::span<const PublishedPort> ports) const;

  void set_network(const FirewallNetwork& network) { networks_[network.name] = network; }
  /// Forgets a network and its connections.
  void erase_network(std::string_view name);
  void set_zone(const FirewallZone& zone) { zones_[zone.name] = zone; }
  void erase_zone(std::string_view name) { zones_.erase(std::string(name)); }
  void set_connected(std::string_view a, std::string_view b, bool connected);
  void add_port(const PublishedPort& port);
  /// Forgets every port of `owner`; returns them.
  std::vector<PublishedPort> erase_owner(std::string_view owner);

  [[nodiscard]] static Pair ordered(std::string_view a, std::string_view b);

private:
  using PortKey = std::pair<Protocol, std::uint16_t>;
  [[nodiscard]] const PublishedPort* conflict(const PublishedPort& p) const;
  [[nodiscard]] bool already_have(const PublishedPort& p) const;

  std::map<std::string, FirewallNetwork> networks_;
  std::map<std::string, FirewallZone> zones_;
  std::set<Pair> connections_;
  std::map<PortKey, std::vector<PublishedPort>> ports_;  // by what they take on the host
  std::map<std::string, std::vector<PublishedPort>> by_owner_;
};

/// "0.0.0.0:8080/tcp", "[::1]:53/udp": a published port as a user writes it.
[[nodiscard]] std::string describe(const PublishedPort& port);

}  // namespace berth::net
