// SPDX-License-Identifier: Apache-2.0
// What may join an owner's table, without a kernel.
#include "firewall/expected_state.hpp"

#include "berth_catch.hpp"

using namespace berth;
using namespace berth::net;

namespace {
FirewallNetwork network(std::string name, std::string bridge, std::string subnet, bool internal = false) {
  return FirewallNetwork{std::move(name), std::move(bridge), {Subnet::parse(subnet).value()}, internal};
}
PublishedPort port(std::string owner, int host, std::string container, int cport, Protocol proto = Protocol::Tcp,
                   std::optional<std::string> host_addr = {}) {
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

TEST_CASE("networks may not share a bridge or overlapping subnets", "[firewall][state]") {
  ExpectedState s;
  s.set_network(network("front", "bfront", "10.88.0.0/16"));
  CHECK(s.check_network(network("front", "bfront", "10.88.0.0/16")));  // itself again
  CHECK(s.check_network(network("back", "bback", "10.89.0.0/24")));
  auto bridge = s.check_network(network("back", "bfront", "10.89.0.0/24"));
  REQUIRE_FALSE(bridge);
  CHECK(bridge.error().message() == "bridge 'bfront' belongs to network 'front'");
  auto overlap = s.check_network(network("back", "bback", "10.88.7.0/24"));
  REQUIRE_FALSE(overlap);
  CHECK(overlap.error().message() == "subnet 10.88.7.0/24 overlaps 10.88.0.0/16 of network 'front'");
  CHECK(s.check_network(network("x", "", "10.1.0.0/24")).error().is(core::Errc::invalid_argument));
  CHECK(s.check_network(network("x", "a-bridge-name-too-long", "10.1.0.0/24")).error().is(core::Errc::invalid_argument));
}

TEST_CASE("zones are named plainly, hold a subnet, and do not overlap", "[firewall][state]") {
  ExpectedState s;
  s.set_zone({"dy1_", {Subnet::parse("10.31.7.0/24").value()}, {}});
  CHECK(s.check_zone({"dy1_", {Subnet::parse("10.31.7.0/24").value()}, {}}));
  CHECK(s.check_zone({"dy2_", {Subnet::parse("10.31.8.0/24").value()}, {}}));
  CHECK(s.check_zone({"dy2_", {Subnet::parse("10.31.0.0/16").value()}, {}}).error().message() ==
        "subnet 10.31.0.0/16 overlaps 10.31.7.0/24 of zone 'dy1_'");
  CHECK_FALSE(s.check_zone({"a b", {Subnet::parse("10.50.0.0/24").value()}, {}}));
  CHECK_FALSE(s.check_zone({"empty", {}, {}}));
}

TEST_CASE("a request to publish ports is checked whole", "[firewall][state]") {
  ExpectedState s;
  s.add_port(port("web", 8080, "10.88.0.2", 80));
  s.add_port(port("dns", 53, "10.88.0.3", 53, Protocol::Udp, "127.0.0.1"));

  SECTION("the same port again is nothing new") {
    std::vector<PublishedPort> again{port("web", 8080, "10.88.0.2", 80)};
    CHECK(s.check_ports(again).value().empty());
  }
  SECTION("another owner on the same port is refused, naming the holder") {
    std::vector<PublishedPort> req{port("api", 8080, "10.88.0.9", 80)};
    CHECK(s.check_ports(req).error().message() == "publish 0.0.0.0:8080/tcp: the port is already published by 'web'");
  }
  SECTION("every address collides with one address, not other protocols or families") {
    std::vector<PublishedPort> any{port("x", 53, "10.88.0.9", 53, Protocol::Udp)};
    CHECK(s.check_ports(any).error().is(core::Errc::conflict));
    std::vector<PublishedPort> other_addr{port("x", 53, "10.88.0.9", 53, Protocol::Udp, "192.0.2.1")};
    CHECK(s.check_ports(other_addr).value().size() == 1);
    std::vector<PublishedPort> tcp{port("x", 53, "10.88.0.9", 53)};
    CHECK(s.check_ports(tcp).value().size() == 1);
    std::vector<PublishedPort> v6{port("x", 8080, "fd00::2", 80)};
    CHECK(s.check_ports(v6).value().size() == 1);
  }
  SECTION("bad ports and a port asked for twice refuse the whole request") {
    std::vector<PublishedPort> zero{port("x", 9000, "10.88.0.9", 80), port("x", 0, "10.88.0.9", 80)};
    CHECK(s.check_ports(zero).error().message() == "publish 0.0.0.0:0/tcp: port 0 is not a port");
    std::vector<PublishedPort> family{port("x", 9000, "fd00::9", 80, Protocol::Tcp, "192.0.2.1")};
    CHECK_THAT(s.check_ports(family).error().message(), Catch::Contains("different IP families"));
    std::vector<PublishedPort> twice{port("x", 9000, "10.88.0.9", 80), port("y", 9000, "10.88.0.8", 81)};
    CHECK(s.check_ports(twice).error().message() == "publish 0.0.0.0:9000/tcp: the port is asked for twice");
  }
  SECTION("an owner's ports go together and free the port") {
    CHECK(s.erase_owner("web").size() == 1);
    CHECK(s.erase_owner("web").empty());
    std::vector<PublishedPort> req{port("api", 8080, "10.88.0.9", 80)};
    CHECK(s.check_ports(req).value().size() == 1);
  }
}

TEST_CASE("the expected state round-trips and a removed network loses its connections", "[firewall][state]") {
  ExpectedState s;
  s.set_network(network("a", "ba", "10.1.0.0/24"));
  s.set_network(network("b", "bb", "10.2.0.0/24"));
  s.set_network(network("c", "bc", "10.3.0.0/24"));
  s.set_connected("b", "a", true);
  s.set_connected("b", "c", true);
  s.add_port(port("web", 80, "10.1.0.2", 80));
  ExpectedState copy;
  copy.adopt(s.snapshot());
  CHECK(copy.snapshot().networks == s.snapshot().networks);
  CHECK(copy.connections() == std::set<ExpectedState::Pair>{{"a", "b"}, {"b", "c"}});
  CHECK(copy.snapshot().ports == s.snapshot().ports);
  s.erase_network("b");
  CHECK(s.connections().empty());
  CHECK(s.network("b") == nullptr);
  CHECK(s.network("a") != nullptr);
  s.clear();
  CHECK(s.snapshot().networks.empty());
}
