// SPDX-License-Identifier: Apache-2.0
// berth's nftables ruleset as built, without a kernel: what each rule does
// (libnftnl's own rendering of its expressions), how rules are tagged, and
// the bytes of set elements.
#include "firewall/ruleset.hpp"

#include "berth_catch.hpp"

#include <set>

using namespace berth;
using namespace berth::net;

namespace {
std::string rendered(const nft::RuleSpec& spec) {
  nft::Rule r(nftnl_rule_alloc());
  spec.fill(r.get());
  return nft::render_exprs(r.get());
}
PublishedPort port(int host, std::string container, int cport, std::optional<std::string> host_addr = {}) {
  PublishedPort p;
  p.owner = "web";
  if (host_addr) p.host_address = parse_address(*host_addr).value();
  p.host_port = static_cast<std::uint16_t>(host);
  p.container_address = parse_address(container).value();
  p.container_port = static_cast<std::uint16_t>(cport);
  return p;
}
}  // namespace

TEST_CASE("the base rules: local traffic to the port maps, isolation and internal networks", "[ruleset]") {
  const auto& rules = ruleset::base_rules();
  REQUIRE(rules.size() == 14);
  std::set<std::string> tags;
  for (const auto& r : rules) {
    CHECK_THAT(r.tag, Catch::StartsWith("berth "));
    CHECK(r.tag.size() == 6 + 16);  // "berth " + 64-bit hash
    tags.insert(r.tag);
  }
  CHECK(tags.size() == rules.size());  // no two rules look alike
  CHECK(rules[0].chain == "prerouting");
  CHECK_THAT(rendered(rules[0]), Catch::Contains("[ daddr type => reg 1") && Catch::Contains("jump -> portmap"));
  // l4proto . daddr . dport looked up in pm4, its data the DNAT's address and port
  CHECK_THAT(rendered(rules[2]), Catch::Contains("set pm4 dreg 1") && Catch::Contains("[ dnat ip addr_min reg 8"));
  // The forward chain ends with: unsolicited traffic into a bridge is dropped.
  CHECK(rules.back().chain == "forward");
  CHECK_THAT(rendered(rules.back()), Catch::EndsWith("[ reg 0 drop  ]"));
  // Every chain a rule names exists.
  std::set<std::string> chains;
  for (const auto& c : ruleset::chains()) chains.insert(c.name);
  for (const auto& r : rules) CHECK(chains.count(r.chain) == 1);
}

TEST_CASE("a network's rules: masquerade per subnet, none when internal", "[ruleset]") {
  FirewallNetwork n{"front", "bfront", {Subnet::parse("10.88.0.0/16").value(), Subnet::parse("fd00:88::/64").value()}};
  auto rules = ruleset::network_rules(n);
  REQUIRE(rules.size() == 4);  // hairpin + egress, for each family
  for (const auto& r : rules) {
    CHECK(r.chain == "masq");
    CHECK(ruleset::is_network_rule(r.tag, "front"));
    CHECK_FALSE(ruleset::is_network_rule(r.tag, "fron"));
  }
  // Hairpin: DNATed (ct status) from the subnet; egress: from the subnet, out of another interface.
  CHECK_THAT(rendered(rules[0]), Catch::Contains("[ load status => reg 1") && Catch::Contains("0x0000580a"));
  CHECK_THAT(rendered(rules[1]), Catch::Contains("[ load oifname => reg 1") && Catch::Contains("[ neq reg 1"));
  // The tag follows the rule: another bridge, another hash.
  FirewallNetwork moved = n;
  moved.bridge = "bfront2";
  CHECK(ruleset::network_rules(moved)[1].tag != rules[1].tag);
  CHECK(ruleset::network_rules(moved)[0].tag == rules[0].tag);  // the hairpin rule names no bridge
  n.internal = true;
  CHECK(ruleset::network_rules(n).empty());
}

TEST_CASE("a zone's rules: replies, the zone itself, drop, then masquerade", "[ruleset]") {
  const FirewallZone zone{"dy1_",
                          {Subnet::parse("10.31.7.0/24").value(), Subnet::parse("10.42.0.0/16").value()},
                          {Subnet::parse("10.31.7.0/24").value(), Subnet::parse("10.42.0.0/16").value()}};
  auto rules = ruleset::zone_rules(zone);
  REQUIRE(rules.size() == 10);  // 2 replies + 4 within + 2 drops + 2 masquerades
  for (std::size_t i = 0; i < 8; ++i) CHECK(rules[i].chain == "forward");
  CHECK(rules[8].chain == "masq");
  CHECK_THAT(rendered(rules[6]), Catch::EndsWith("[ reg 0 drop  ]"));
  for (const auto& r : rules) {
    CHECK(ruleset::is_zone_rule(r.tag, "dy1_"));
    CHECK(ruleset::is_any_zone_rule(r.tag));
  }
}

TEST_CASE("set elements: interface names and port maps as the kernel keys them", "[ruleset]") {
  CHECK(ruleset::ifname_key("berth0") == std::string("berth0\0\0\0\0\0\0\0\0\0\0", 16));
  CHECK(ruleset::ifname_key("a-name-longer-than-15").size() == 16);
  CHECK(ruleset::ifname_key("a-name-longer-than-15").substr(0, 15) == "a-name-longer-t");

  auto [any, e1] = ruleset::port_element(port(8080, "10.88.0.2", 80));
  CHECK(any == &ruleset::kPm4Any);
  CHECK(e1.key == std::string("\x06\0\0\0\x1f\x90\0\0", 8));  // tcp . 8080, each padded to 4 bytes
  CHECK(e1.data == std::string("\x0a\x58\0\x02\0\x50\0\0", 8));  // 10.88.0.2 . 80
  CHECK(e1.userdata == "web");
  auto [one, e2] = ruleset::port_element(port(53, "10.88.0.2", 53, "127.0.0.1"));
  CHECK(one == &ruleset::kPm4);
  CHECK(e2.key.size() == ruleset::kPm4.key_len);
  auto [six, e3] = ruleset::port_element(port(8080, "fd00::2", 80, "::1"));
  CHECK(six == &ruleset::kPm6);
  CHECK(e3.key.size() == ruleset::kPm6.key_len);
  CHECK(e3.data.size() == ruleset::kPm6.data_len);
}

TEST_CASE("the elements of a state: every bridge with itself, connections both ways", "[ruleset]") {
  ExpectedState s;
  s.set_network({"a", "ba", {Subnet::parse("10.1.0.0/24").value()}, false});
  s.set_network({"b", "bb", {Subnet::parse("10.2.0.0/24").value()}, true});
  s.set_connected("a", "b", true);
  s.add_port(port(8080, "10.1.0.2", 80));
  std::map<std::string, std::size_t> count;
  for (const auto& [set, elems] : ruleset::elements(s)) count[set->name] = elems.size();
  CHECK(count.size() == ruleset::sets().size());
  CHECK(count["bridges"] == 2);
  CHECK(count["internal"] == 1);
  CHECK(count["pairs"] == 4);
  CHECK(count["pm4any"] == 1);
  CHECK(count["pm6"] == 0);
  nft::Batch batch("berth");
  ruleset::rebuild(batch, s);
  CHECK_FALSE(batch.empty());
  // Interface-name sets tell nft their byte order, so it prints names.
  CHECK(ruleset::kBridges.key_host_order);
  CHECK(ruleset::kInternal.key_host_order);
}

TEST_CASE("a table's remover leaves the socket's release to a child, except inside a systemd unit", "[firewall]") {
  CHECK(release_after_exit({{"PATH", "/usr/bin"}}));
  CHECK_FALSE(release_after_exit({{"INVOCATION_ID", "0f3c"}, {"PATH", "/usr/bin"}}));
}
