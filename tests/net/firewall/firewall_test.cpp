// SPDX-License-Identifier: Apache-2.0
// The nftables firewall against the real kernel, read back with `nft`.
#include "berth/core/process.hpp"
#include "berth/net/firewall/firewall.hpp"

#include "berth_catch.hpp"

#include <fmt/format.h>

#include <atomic>
#include <thread>

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
/// The text of one set of `nft list` output, from "set NAME {" to its closing brace.
std::string set_block(const std::string& text, const std::string& name) {
  auto start = text.find("set " + name + " {");
  REQUIRE(start != std::string::npos);
  return text.substr(start, text.find("}", start) - start);
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
  // Interface names print as names in every set, whatever their length.
  CHECK_THAT(set_block(text, "bridges"), Catch::Contains("\"berth0\" comment \"berth\"") &&
                                             Catch::Contains("\"bint1\" comment \"intern\""));
  CHECK_THAT(set_block(text, "internal"), Catch::Contains("\"bint1\" comment \"intern\""));
  CHECK_THAT(set_block(text, "pairs"), Catch::Contains("\"berth0\" . \"berth0\" comment \"berth\""));
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

TEST_CASE("an address zone: replies and the zone itself in, the rest dropped, masquerade when leaving", "[firewall]") {
  auto fw = make_nft_firewall({.table = "dy1_docker"}).value();
  const FirewallZone zone{"dy1_",
                          {Subnet::parse("10.31.7.0/24").value(), Subnet::parse("10.42.0.0/16").value()},
                          {Subnet::parse("10.31.7.0/24").value(), Subnet::parse("10.42.0.0/16").value()}};
  REQUIRE(fw->add_zone(zone));
  const std::string text = nft_list("dy1_docker");
  INFO(text);
  CHECK_THAT(text, Catch::Contains("ip daddr 10.31.7.0/24 ct state established,related accept comment \"zone:dy1_ "));
  CHECK_THAT(text, Catch::Contains("ip saddr 10.42.0.0/16 ip daddr 10.31.7.0/24 accept comment \"zone:dy1_ "));
  CHECK_THAT(text, Catch::Contains("ip daddr 10.42.0.0/16 drop comment \"zone:dy1_ "));
  CHECK_THAT(text, Catch::Contains("ip saddr 10.31.7.0/24 ip daddr != 10.31.7.0/24 ip daddr != 10.42.0.0/16 masquerade"));
  CHECK(fw->verify().value().empty());
  REQUIRE(fw->add_zone(zone));  // again: nothing changes
  CHECK(nft_list("dy1_docker") == text);

  // A zone of another instance may not overlap; a bad name is refused.
  auto overlap = fw->add_zone({"dy2_", {Subnet::parse("10.42.9.0/24").value()}, {}});
  REQUIRE_FALSE(overlap);
  CHECK_THAT(overlap.error().message(), Catch::Contains("overlaps 10.42.0.0/16 of zone 'dy1_'"));
  CHECK_FALSE(fw->add_zone({"a b", {Subnet::parse("10.50.0.0/24").value()}, {}}));
  CHECK_FALSE(fw->add_zone({"empty", {}, {}}));

  // Someone flushes the forward chain: verify says so, repair restores it.
  REQUIRE(core::run_checked({.program = "nft", .args = {"flush", "chain", "inet", "dy1_docker", "forward"}}));
  auto diffs = fw->verify().value();
  REQUIRE_FALSE(diffs.empty());
  REQUIRE(fw->repair());
  CHECK(fw->verify().value().empty());
  CHECK_THAT(nft_list("dy1_docker"), Catch::Contains("ip daddr 10.42.0.0/16 drop comment \"zone:dy1_ "));

  // A fresh process adopting the zone finds the kernel in agreement.
  auto other = make_nft_firewall({.table = "dy1_docker"}).value();
  other->adopt({.zones = {zone}});
  CHECK(other->verify().value().empty());

  REQUIRE(fw->remove_zone("dy1_"));
  REQUIRE(fw->remove_zone("dy1_"));
  CHECK_THAT(nft_list("dy1_docker"), !Catch::Contains("zone:dy1_"));
  REQUIRE(fw->remove());
  CHECK_THAT(nft_list(), !Catch::Contains("dy1_docker"));
}

TEST_CASE("reading the table back holds while other owners change theirs", "[firewall]") {
  // verify() dumps rules and map elements. A dump longer than one read is
  // flagged interrupted by the kernel when any transaction (another owner's
  // included) commits in between; it must be read again, not fail and not
  // count anything twice.
  auto fw = make_nft_firewall({.table = "berth"}).value();
  for (int i = 0; i < 40; ++i)
    REQUIRE(fw->add_network(network(fmt::format("n{}", i), fmt::format("bn{}", i), fmt::format("10.{}.0.0/16", 100 + i))));
  std::vector<PublishedPort> ports;
  for (int i = 0; i < 3000; ++i) ports.push_back(port(fmt::format("c{}", i), 10000 + i, "10.100.0.2", 80));
  REQUIRE(fw->add_ports(ports));
  REQUIRE(fw->verify().value().empty());

  std::atomic<bool> done{false};
  std::atomic<int> churn_failures{0}, churned{0};
  std::thread churn([&] {  // another owner, changing its table all the time
    auto other = make_nft_firewall({.table = "dy9_docker"}).value();
    const FirewallZone zone{"dy9_", {Subnet::parse("10.9.0.0/24").value()}, {Subnet::parse("10.9.0.0/24").value()}};
    while (!done) {
      if (!other->add_zone(zone) || !other->remove_zone("dy9_")) ++churn_failures;
      ++churned;
    }
    (void)other->remove();
  });
  int failures = 0, differences = 0;
  for (int i = 0; i < 60; ++i) {
    auto diffs = fw->verify();
    if (!diffs) {
      if (failures++ == 0) FAIL_CHECK(diffs.error().message());
    } else if (!diffs->empty()) {
      for (const auto& d : *diffs) UNSCOPED_INFO(d);
      ++differences;
    }
  }
  done = true;
  churn.join();
  CHECK(churned > 10);  // the other owner really changed its table meanwhile
  CHECK(churn_failures == 0);
  CHECK(failures == 0);
  CHECK(differences == 0);
  REQUIRE(fw->remove());
}

TEST_CASE("removing a network takes its rules and elements and leaves the others", "[firewall]") {
  auto fw = make_nft_firewall({}).value();
  REQUIRE(fw->add_network(network("front", "bfront", "10.88.0.0/16")));
  REQUIRE(fw->add_network(network("back", "bback", "10.89.0.0/24", true)));
  REQUIRE(fw->add_network(network("side", "bside", "10.90.0.0/24")));
  REQUIRE(fw->connect("front", "side"));
  REQUIRE(fw->connect("back", "side"));
  REQUIRE(fw->verify().value().empty());

  REQUIRE(fw->remove_network("side"));
  auto text = nft_list("berth");
  INFO(text);
  CHECK_THAT(text, !Catch::Contains("bside"));
  CHECK_THAT(text, !Catch::Contains("net:side "));
  CHECK_THAT(text, !Catch::Contains("10.90.0.0/24"));
  CHECK_THAT(set_block(text, "bridges"), Catch::Contains("\"bfront\"") && Catch::Contains("\"bback\""));
  CHECK_THAT(set_block(text, "internal"), Catch::Contains("\"bback\""));
  CHECK_THAT(text, Catch::Contains("ip saddr 10.88.0.0/16 oifname != \"bfront\" masquerade comment \"net:front "));
  CHECK(fw->verify().value().empty());
  const auto state = fw->state();
  CHECK(state.networks.size() == 2);
  CHECK(state.connections.empty());  // side's connections went with it

  REQUIRE(fw->remove_network("side"));  // gone already: fine
  REQUIRE(fw->remove_network("back"));
  text = nft_list("berth");
  CHECK_THAT(set_block(text, "internal"), !Catch::Contains("elements"));
  CHECK(fw->verify().value().empty());
  // A network of the same name can come back with another bridge.
  REQUIRE(fw->add_network(network("side", "bside2", "10.90.0.0/24")));
  CHECK(fw->verify().value().empty());
  REQUIRE(fw->remove());
}
