// SPDX-License-Identifier: Apache-2.0
// berth's nftables ruleset for one owner's table, as nftables objects: its
// chains, named sets, rules (each tagged with a hash of itself) and set
// elements. Pure construction: nothing here talks to the kernel, so the
// ruleset is tested without one (tests/net/firewall/ruleset_test.cpp).
#pragma once

#include "berth/net/firewall/firewall.hpp"
#include "firewall/expected_state.hpp"
#include "firewall/nft.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::net::ruleset {

/// Interface names of the owner's bridges, of its internal networks, and the
/// pairs of bridges that may reach each other (every bridge with itself).
extern const nft::SetSpec kBridges, kInternal, kPairs;
/// Port maps: protocol . [host address .] port -> container address . port.
extern const nft::SetSpec kPm4, kPm4Any, kPm6, kPm6Any;
/// Every set, in the order they are created.
[[nodiscard]] std::span<const nft::SetSpec* const> sets();
/// The id that lets rules of the same batch refer to a set by number.
[[nodiscard]] std::uint32_t set_id(const nft::SetSpec& set);

[[nodiscard]] const std::vector<nft::ChainSpec>& chains();
/// The rules every owner's table has, in chain order.
[[nodiscard]] const std::vector<nft::RuleSpec>& base_rules();
/// Hairpin and egress masquerade of a network's subnets (none for an
/// internal network), tagged "net:<name>".
[[nodiscard]] std::vector<nft::RuleSpec> network_rules(const FirewallNetwork& network);
/// A zone's rules, appended to the forward and masq chains after the base
/// rules (which concern berth's own bridges only), tagged "zone:<name>".
[[nodiscard]] std::vector<nft::RuleSpec> zone_rules(const FirewallZone& zone);

[[nodiscard]] std::string network_tag(std::string_view name);
[[nodiscard]] bool is_network_rule(const std::string& comment, std::string_view name);
[[nodiscard]] std::string zone_tag(std::string_view name);
[[nodiscard]] bool is_zone_rule(const std::string& comment, std::string_view name);
[[nodiscard]] bool is_any_zone_rule(const std::string& comment);

/// An interface name as a set key: 16 bytes, NUL-padded.
[[nodiscard]] std::string ifname_key(std::string_view name);
/// The map and element of one published port.
[[nodiscard]] std::pair<const nft::SetSpec*, nft::Element> port_element(const PublishedPort& port);
/// Every set's elements for `state` (every set appears, empty ones too).
[[nodiscard]] std::vector<std::pair<const nft::SetSpec*, std::vector<nft::Element>>> elements(
    const ExpectedState& state);
/// Queues the whole table for `state` into `batch`, replacing whatever the
/// kernel holds under that name: one atomic transaction.
void rebuild(nft::Batch& batch, const ExpectedState& state);

}  // namespace berth::net::ruleset
