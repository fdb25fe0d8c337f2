// SPDX-License-Identifier: Apache-2.0
// The nftables firewall against the real kernel, read back with `nft`.
#include "berth/core/process.hpp"
#include "berth/net/firewall.hpp"

#include "berth_catch.hpp"

using namespace berth;
using namespace berth::net;

namespace {
std::string nft_list(const std::string& what = "ruleset") {
  std::vector<std::string> args = {"list"};
  if (what == "ruleset") args.push_back("ruleset");
  else args.insert(args.end(), {"table", "inet", what});
  auto r = core::run_checked({.program = "nft", .args = args});
  REQUIRE(r);
  return r->out;
}
FirewallNetwork network(std::string name, std::string bridge, std::string subnet, bool internal = false) {
  return FirewallNetwork{std::move(name), std::move(bridge), {Subnet::parse(subnet).value()}, internal};
}
PublishedPort port(std::string owner, int host, std::string container, int cport,
                   Protocol proto = Protocol::Tcp, std::optional<std::string> host_addr = {}) {
  PublishedPort p;
  p.owner = std::move(owner);
  p.protocol = proto;
  if (host_addr) p.host_address = parse_address(*host_addr).value();
  p.host_port = static_cast<std::uint16_t>(host);
  p.container_address = parse_address(container).value();
  p.container_port = static_cast<std::uint16_t>(cport);
  return p;
}
}  // namespace

TEST_CASE("the firewall builds its table with networks and port maps", "[firewall]") {
  auto fw = make_nft_firewall({}).value();
  CHECK(fw->table() == "inet berth");
  REQUIRE(fw->add_network(network("berth", "berth0", "10.88.0.0/16")));
  REQUIRE(fw->add_network(network("intern", "bint1", "10.89.0.0/24", true)));
  std::vector<PublishedPort> ports = {port("c1", 8080, "10.88.0.2", 80),
                                      port("c1", 5353, "10.88.0.2", 53, Protocol::Udp, "127.0.0.1")};
  REQUIRE(fw->add_ports(ports));
  auto text = nft_list("berth");
  INFO(text);
  CHECK_THAT(text, Catch::Contains("table inet berth"));
  CHECK_THAT(text, Catch::Contains("tcp . 8080 comment \"c1\" : 10.88.0.2 . 80"));
  CHECK_THAT(text, Catch::Contains("udp . 127.0.0.1 . 5353 comment \"c1\" : 10.88.0.2 . 53"));
  CHECK_THAT(text, Catch::Contains("ip saddr 10.88.0.0/16 oifname != \"berth0\" masquerade comment \"net:berth "));
  // Interface names print as names, whatever their length.
  CHECK_THAT(text, Catch::Contains("\"berth0\" comment \"berth\""));
  CHECK_THAT(text, Catch::Contains("\"bint1\" comment \"intern\""));
  CHECK_THAT(text, !Catch::Contains("10.89.0.0/24"));  // internal: no masquerade
  auto diffs = fw->verify().value();
  for (const auto& d : diffs) UNSCOPED_INFO(d);
  CHECK(diffs.empty());
}

TEST_CASE("verify names what someone changed in the table, and repair puts it back", "[firewall]") {
  auto fw = make_nft_firewall({}).value();
  REQUIRE(fw->add_network(network("berth", "berth0", "10.88.0.0/16")));
  std::vector<PublishedPort> ports = {port("c1", 8080, "10.88.0.2", 80)};
  REQUIRE(fw->add_ports(ports));
  REQUIRE(fw->verify().value().empty());

  // Someone else removes a published port and appends a rule of their own.
  REQUIRE(core::run_checked({.program = "nft", .args = {"delete element inet berth pm4any { tcp . 8080 }"}}));
  REQUIRE(core::run_checked({.program = "nft", .args = {"add rule inet berth forward counter accept"}}));
  auto diffs = fw->verify().value();
  std::string all;
  for (const auto& d : diffs) all += d + "\n";
  INFO(all);
  CHECK_THAT(all, Catch::Contains("set 'pm4any' holds 0 elements, 1 expected"));
  CHECK_THAT(all, Catch::Contains("chain 'forward' holds 7 rules, 6 expected"));

  REQUIRE(fw->repair());
  CHECK(fw->verify().value().empty());
  auto text = nft_list("berth");
  CHECK_THAT(text, Catch::Contains("tcp . 8080 comment \"c1\" : 10.88.0.2 . 80"));
  CHECK_THAT(text, !Catch::Contains("counter"));
}
