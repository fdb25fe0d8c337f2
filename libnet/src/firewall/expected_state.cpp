// SPDX-License-Identifier: Apache-2.0
#include "firewall/expected_state.hpp"

#include "berth/core/names.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace berth::net {
namespace {

using core::Errc;
using core::make_error;
using core::Result;

/// Two ports take the same thing on the host: protocol, port and family,
/// on the same address or where either listens on every address.
bool collides(const PublishedPort& a, const PublishedPort& b) {
  if (a.protocol != b.protocol || a.host_port != b.host_port) return false;
  if (a.container_address.is_v4() != b.container_address.is_v4()) return false;
  return !a.host_address || !b.host_address || *a.host_address == *b.host_address;
}

}  // namespace

std::string describe(const PublishedPort& p) {
  std::string host = p.host_address ? (p.host_address->is_v6() ? fmt::format("[{}]", p.host_address->to_string())
                                                                 : p.host_address->to_string())
                                    : std::string(p.container_address.is_v4() ? "0.0.0.0" : "[::]");
  return fmt::format("{}:{}/{}", host, p.host_port, protocol_name(p.protocol));
}

ExpectedState::Pair ExpectedState::ordered(std::string_view a, std::string_view b) {
  return a < b ? Pair{std::string(a), std::string(b)} : Pair{std::string(b), std::string(a)};
}

void ExpectedState::adopt(const FirewallState& state) {
  clear();
  for (const auto& n : state.networks) networks_[n.name] = n;
  for (const auto& [a, b] : state.connections) connections_.insert(ordered(a, b));
  for (const auto& p : state.ports) add_port(p);
  for (const auto& z : state.zones) zones_[z.name] = z;
}

FirewallState ExpectedState::snapshot() const {
  FirewallState s;
  for (const auto& [name, n] : networks_) s.networks.push_back(n);
  for (const auto& c : connections_) s.connections.push_back(c);
  for (const auto& [owner, list] : by_owner_) s.ports.insert(s.ports.end(), list.begin(), list.end());
  for (const auto& [name, z] : zones_) s.zones.push_back(z);
  return s;
}

void ExpectedState::clear() {
  networks_.clear();
  zones_.clear();
  connections_.clear();
  ports_.clear();
  by_owner_.clear();
}

const FirewallNetwork* ExpectedState::network(std::string_view name) const {
  auto it = networks_.find(std::string(name));
  return it == networks_.end() ? nullptr : &it->second;
}

Result<void> ExpectedState::check_network(const FirewallNetwork& n) const {
  if (n.bridge.empty() || n.bridge.size() > 15)
    return make_error(Errc::invalid_argument, fmt::format("bridge name '{}' is not valid", n.bridge));
  for (const auto& [name, other] : networks_) {
    if (name == n.name) continue;
    if (other.bridge == n.bridge)
      return make_error(Errc::conflict, fmt::format("bridge '{}' belongs to network '{}'", n.bridge, name));
    for (const Subnet& a : n.subnets)
      for (const Subnet& b : other.subnets)
        if (a.overlaps(b))
          return make_error(Errc::conflict, fmt::format("subnet {} overlaps {} of network '{}'", a.to_string(),
                                                        b.to_string(), name));
  }
  return {};
}

Result<void> ExpectedState::check_zone(const FirewallZone& z) const {
  if (!core::is_plain_name(z.name, 64))
    return make_error(Errc::invalid_argument, "a zone name is letters, digits, '-', '_' and '.'");
  if (z.subnets.empty()) return make_error(Errc::invalid_argument, "a zone needs at least one subnet");
  for (const auto& [name, other] : zones_) {
    if (name == z.name) continue;
    for (const Subnet& a : z.subnets)
      for (const Subnet& b : other.subnets)
        if (a.overlaps(b))
          return make_error(Errc::conflict, fmt::format("subnet {} overlaps {} of zone '{}'", a.to_string(),
                                                        b.to_string(), name));
  }
  return {};
}

Result<std::vector<const PublishedPort*>> ExpectedState::check_ports(std::span<const PublishedPort> ports) const {
  std::vector<const PublishedPort*> fresh;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const PublishedPort& p = ports[i];
    if (p.host_port == 0 || p.container_port == 0)
      return make_error(Errc::invalid_argument, fmt::format("publish {}: port 0 is not a port", describe(p)));
    if (p.host_address && p.host_address->is_v4() != p.container_address.is_v4())
      return make_error(Errc::invalid_argument,
                        fmt::format("publish {}: host and container addresses are of different IP families",
                                    describe(p)));
    if (auto holder = conflict(p))
      return make_error(Errc::conflict,
                        fmt::format("publish {}: the port is already published by '{}'", describe(p), holder->owner));
    for (std::size_t j = 0; j < i; ++j)
      if (collides(ports[j], p))
        return make_error(Errc::conflict, fmt::format("publish {}: the port is asked for twice", describe(p)));
    if (!already_have(p)) fresh.push_back(&p);
  }
  return fresh;
}

void ExpectedState::erase_network(std::string_view name) {
  networks_.erase(std::string(name));
  std::erase_if(connections_, [&](const auto& c) { return c.first == name || c.second == name; });
}

void ExpectedState::set_connected(std::string_view a, std::string_view b, bool connected) {
  if (connected) connections_.insert(ordered(a, b));
  else connections_.erase(ordered(a, b));
}

void ExpectedState::add_port(const PublishedPort& p) {
  ports_[{p.protocol, p.host_port}].push_back(p);
  by_owner_[p.owner].push_back(p);
}

std::vector<PublishedPort> ExpectedState::erase_owner(std::string_view owner) {
  auto it = by_owner_.find(std::string(owner));
  if (it == by_owner_.end()) return {};
  std::vector<PublishedPort> gone = std::move(it->second);
  by_owner_.erase(it);
  for (const auto& p : gone) std::erase(ports_[{p.protocol, p.host_port}], p);
  return gone;
}

const PublishedPort* ExpectedState::conflict(const PublishedPort& p) const {
  auto it = ports_.find({p.protocol, p.host_port});
  if (it == ports_.end()) return nullptr;
  for (const auto& q : it->second)
    if (collides(p, q) && !(q == p)) return &q;
  return nullptr;
}

bool ExpectedState::already_have(const PublishedPort& p) const {
  auto it = ports_.find({p.protocol, p.host_port});
  return it != ports_.end() && std::find(it->second.begin(), it->second.end(), p) != it->second.end();
}

}  // namespace berth::net
