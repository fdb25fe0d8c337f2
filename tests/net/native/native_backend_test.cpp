// SPDX-License-Identifier: Apache-2.0
// The native backend end to end: real bridges, veths, nftables and traffic
// between namespaces of a small world (see tests/support/world.hpp).
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/net/ipam.hpp"
#include "berth/net/link/links.hpp"
#include "berth/net/native/native_backend.hpp"

#include "backend_contract.hpp"
#include "berth_catch.hpp"
#include "fake_firewall.hpp"
#include "temp_dir.hpp"
#include "world.hpp"

#include <fmt/format.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

using namespace berth;
using namespace berth::net;
using namespace std::chrono_literals;
using test::World;

namespace {

struct Fixture {
  test::TempDir state;
  World world;

  std::unique_ptr<Backend> backend(NetworkOptions n = {}, std::string table = "berth",
                                   std::shared_ptr<Firewall> fw = nullptr) {
    auto b = make_native_backend({.network = std::move(n), .state_dir = state.path / table,
                                  .firewall_table = table, .firewall = std::move(fw)});
    REQUIRE(b);
    return std::move(*b);
  }

  Attachment attach(Backend& b, const std::string& id, std::vector<std::string> ports = {}) {
    SetupRequest req{.container_id = id, .netns = world.container(id).path()};
    for (const auto& p : ports) req.ports.push_back(parse_port_mapping(p).value());
    auto a = b.setup(req);
    REQUIRE(a);
    return *a;
  }
};

std::string v4(const Attachment& a) { return a.addresses.at(0).address.to_string(); }
std::string v6(const Attachment& a) { return a.addresses.at(1).address.to_string(); }
std::filesystem::path ns(const std::string& name) { return "/run/netns/" + name; }

std::string nft(std::vector<std::string> args) {
  auto r = core::run_checked({.program = "nft", .args = std::move(args)});
  REQUIRE(r);
  return r->out;
}

/// The address a peer-address server reported, in canonical form (socat
/// writes IPv6 in full and in brackets).
std::string peer(std::string reply) {
  if (reply.size() > 2 && reply.front() == '[') reply = reply.substr(1, reply.size() - 2);
  auto ip = parse_address(reply);
  return ip ? ip->to_string() : reply;
}

NetworkOptions with_v6(NetworkOptions n = {}) {
  n.subnet6 = Subnet::parse("fd00:88::/64").value();
  return n;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "containers on one network reach each other", "[native]") {
  auto b = backend();
  auto a1 = attach(*b, "c1");
  auto a2 = attach(*b, "c2");
  CHECK(v4(a1) == "10.88.0.2");
  CHECK(v4(a2) == "10.88.0.3");
  CHECK(a1.gateways.at(0).to_string() == "10.88.0.1");
  // Each container's MAC is stable, locally administered and what the kernel shows.
  CHECK(a1.mac.starts_with("02:"));
  CHECK(a1.mac != a2.mac);
  auto in_c1 = Links::open_in(ns("c1")).value();
  CHECK(in_c1.get_link("eth0").value().mac == a1.mac);
  CHECK(World::ping(ns("c1"), v4(a2)));
  auto server = World::serve_peer_address(ns("c2"), "tcp", 80);
  CHECK(World::ask(ns("c1"), "tcp", v4(a2), 80) == v4(a1));  // no NAT on the bridge
}

TEST_CASE_METHOD(Fixture, "a container reaches the outside through masquerade", "[native]") {
  auto b = backend();
  attach(*b, "c1");
  auto server = World::serve_peer_address(world.outside(), "tcp", 7000);
  CHECK(World::ask(ns("c1"), "tcp", test::kOutsideV4, 7000) == test::kHostUplinkV4);
}

TEST_CASE_METHOD(Fixture, "a published port is reachable from outside, TCP and UDP, with the client's address",
                 "[native]") {
  auto b = backend();
  attach(*b, "web", {"8080:80/tcp", "5353:53/udp"});
  auto tcp = World::serve_peer_address(ns("web"), "tcp", 80);
  auto udp = World::serve_peer_address(ns("web"), "udp", 53);
  CHECK(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 8080) == test::kOutsideV4);
  CHECK(World::ask(world.outside(), "udp", test::kHostUplinkV4, 5353) == test::kOutsideV4);
  CHECK(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 8081, 500ms).empty());  // not published
}

TEST_CASE_METHOD(Fixture, "the host reaches a published port on localhost and on its own address", "[native]") {
  // A new namespace copies the host's global forwarding (on wherever Docker
  // runs): berth must leave it as it was, whatever that was.
  const std::string forwarding = core::read_file("/proc/sys/net/ipv4/conf/all/forwarding").value();
  const std::string localnet = core::read_file("/proc/sys/net/ipv4/conf/all/route_localnet").value();
  auto b = backend();
  attach(*b, "web", {"8080:80"});
  auto server = World::serve_peer_address(ns("web"), "tcp", 80);
  CHECK_FALSE(World::ask("", "tcp", "127.0.0.1", 8080).empty());
  CHECK_FALSE(World::ask("", "tcp", test::kHostUplinkV4, 8080).empty());
  // route_localnet is on for berth's bridge only.
  CHECK(core::read_file("/proc/sys/net/ipv4/conf/berth0/route_localnet").value() == "1\n");
  CHECK(core::read_file("/proc/sys/net/ipv4/conf/all/route_localnet").value() == localnet);
  CHECK(core::read_file("/proc/sys/net/ipv4/conf/all/forwarding").value() == forwarding);
}

TEST_CASE_METHOD(Fixture, "a container reaches its own published port through the host (hairpin)", "[native]") {
  auto b = backend();
  auto web = attach(*b, "web", {"8080:80"});
  auto other = attach(*b, "other");
  auto server = World::serve_peer_address(ns("web"), "tcp", 80);
  CHECK_FALSE(World::ask(ns("web"), "tcp", "10.88.0.1", 8080).empty());
  CHECK_FALSE(World::ask(ns("web"), "tcp", test::kHostUplinkV4, 8080).empty());
  CHECK_FALSE(World::ask(ns("other"), "tcp", test::kHostUplinkV4, 8080).empty());
}

TEST_CASE_METHOD(Fixture, "an internal network has no egress and no published ports", "[native]") {
  NetworkOptions n{.name = "private", .bridge = "berth-int", .subnet = Subnet::parse("10.90.0.0/24").value(),
                   .internal = true};
  auto b = backend(n);
  auto a1 = attach(*b, "i1");
  auto a2 = attach(*b, "i2");
  auto outside = World::serve_peer_address(world.outside(), "tcp", 7000);
  CHECK(World::ask(ns("i1"), "tcp", test::kOutsideV4, 7000, 700ms).empty());
  CHECK_FALSE(World::ping(ns("i1"), test::kOutsideV4));
  CHECK(World::ping(ns("i1"), v4(a2)));  // its own network works
  auto server = World::serve_peer_address(ns("i2"), "tcp", 80);
  CHECK(World::ask(ns("i1"), "tcp", v4(a2), 80) == v4(a1));
  auto pub = b->setup({.container_id = "i3", .netns = world.container("i3").path(),
                       .ports = {parse_port_mapping("9090:80").value()}});
  REQUIRE_FALSE(pub);
  CHECK_THAT(pub.error().message(), Catch::Contains("network 'private' is internal: it cannot publish ports"));
}

TEST_CASE_METHOD(Fixture, "two networks are isolated unless connected", "[native]") {
  auto fw = std::shared_ptr<Firewall>(make_nft_firewall({}).value());
  auto one = backend({}, "berth", fw);
  auto two = backend({.name = "two", .bridge = "berth2", .subnet = Subnet::parse("10.91.0.0/24").value()}, "berth", fw);
  auto a = attach(*one, "a");
  auto b2 = attach(*two, "b");
  CHECK_FALSE(World::ping(ns("a"), v4(b2)));
  CHECK_FALSE(World::ping(ns("b"), v4(a)));
  REQUIRE(fw->connect("berth", "two"));
  CHECK(World::ping(ns("a"), v4(b2)));
  REQUIRE(fw->disconnect("berth", "two"));
  CHECK_FALSE(World::ping(ns("a"), v4(b2)));
}

TEST_CASE_METHOD(Fixture, "IPv6: containers, egress and published ports", "[native][ipv6]") {
  auto b = backend(with_v6());
  auto web = attach(*b, "web", {"8080:80"});
  auto c2 = attach(*b, "c2");
  CHECK(v6(web) == "fd00:88::2");
  CHECK(World::ping(ns("c2"), v6(web)));
  auto server = World::serve_peer_address(ns("web"), "tcp", 80, true);
  CHECK(World::ask(ns("c2"), "tcp", v6(web), 80) != "");
  CHECK(peer(World::ask(world.outside(), "tcp", test::kHostUplinkV6, 8080)) == test::kOutsideV6);

  CHECK(World::ask("", "tcp", test::kHostUplinkV6, 8080) != "");
  CHECK(World::ask(ns("c2"), "tcp", test::kHostUplinkV6, 8080) != "");
  CHECK(World::ask(ns("c2"), "tcp", "fd00:88::1", 8080) != "");
  auto outside = World::serve_peer_address(world.outside(), "tcp", 7000, true);
  CHECK(peer(World::ask(ns("c2"), "tcp", test::kOutsideV6, 7000)) == test::kHostUplinkV6);
}

TEST_CASE_METHOD(Fixture, "bridge ports carry no IPv6 of their own and IPv4-only containers no link-local address",
                 "[native][ipv6]") {
  // What keeps each attach from costing O(containers) in the kernel: no
  // multicast snooping on the bridge, no IPv6 on its ports, no IPv6 chatter
  // from containers of IPv4-only networks.
  auto ip = [](const std::filesystem::path& where, std::vector<std::string> args) {
    auto r = World::run_in(where, {.program = "ip", .args = std::move(args)});
    REQUIRE(r);
    return r->out;
  };
  auto b = backend();
  auto c1 = attach(*b, "c1", {"8080:80"});
  CHECK_THAT(ip("", {"-d", "link", "show", "berth0"}), Catch::Contains("mcast_snooping 0"));
  CHECK(ip("", {"-6", "addr", "show", "dev", c1.host_veth}) == "");
  CHECK(ip(ns("c1"), {"-6", "addr", "show", "dev", "eth0"}) == "");
  CHECK(World::ping(ns("c1"), "10.88.0.1"));
  // The bridge keeps a MAC of its own while containers come and go.
  auto host = Links::open().value();
  const std::string bridge_mac = host.get_link("berth0").value().mac;
  // (Without a MAC of its own, the bridge would now carry c3's port's.)
  attach(*b, "c3");
  REQUIRE(b->teardown({.container_id = "c1"}));
  CHECK(host.get_link("berth0").value().mac == bridge_mac);
  REQUIRE(b->teardown({.container_id = "c3"}));

  auto b6 = backend(with_v6(NetworkOptions{.name = "six", .bridge = "six0", .subnet = Subnet::parse("10.89.0.0/16").value()}),
                    "berth");
  auto c2 = attach(*b6, "c2");
  CHECK(ip("", {"-6", "addr", "show", "dev", c2.host_veth}) == "");
  const std::string in_c2 = ip(ns("c2"), {"-6", "addr", "show", "dev", "eth0"});
  CHECK_THAT(in_c2, Catch::Contains("fd00:88::2/64"));
  CHECK_THAT(in_c2, Catch::Contains("fe80::"));
}

TEST_CASE_METHOD(Fixture, "two owners keep to their own tables", "[native][owners]") {
  auto mine = backend();
  auto theirs = backend({.name = "dy1", .bridge = "dy1_docker0", .subnet = Subnet::parse("10.95.0.0/24").value()},
                        "dy1_docker");
  auto a = attach(*mine, "a", {"8080:80"});
  auto b = attach(*theirs, "b", {"9090:80"});
  auto tables = nft({"list", "tables"});
  CHECK_THAT(tables, Catch::Contains("table inet berth") && Catch::Contains("table inet dy1_docker"));
  const std::string before = nft({"list", "table", "inet", "dy1_docker"});
  REQUIRE(mine->teardown({.container_id = "a"}));
  auto fw = make_nft_firewall({}).value();
  REQUIRE(fw->remove());  // removing an owner deletes its table, and only it
  CHECK_THAT(nft({"list", "tables"}), !Catch::Contains("table inet berth"));
  CHECK(nft({"list", "table", "inet", "dy1_docker"}) == before);
  auto server = World::serve_peer_address(ns("b"), "tcp", 80);
  CHECK(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 9090) == test::kOutsideV4);
}

TEST_CASE_METHOD(Fixture, "a foreign nftables table and iptables-nft rules stay untouched", "[native][owners]") {
  REQUIRE(core::run_checked({.program = "nft", .args = {"add table inet foreign; add chain inet foreign c { type "
                                                        "filter hook forward priority 10; }; add rule inet foreign c "
                                                        "ip saddr 198.51.100.7 counter drop"}}));
  REQUIRE(core::run_checked({.program = "iptables", .args = {"-A", "FORWARD", "-s", "198.51.100.8", "-j", "DROP"}}));
  const std::string foreign = nft({"list", "table", "inet", "foreign"});
  const std::string ipt = core::run_checked({.program = "iptables-save"}).value().out;
  {
    auto b = backend();
    attach(*b, "a", {"8080:80"});
    REQUIRE(b->teardown({.container_id = "a"}));
    REQUIRE(make_nft_firewall({}).value()->remove());
  }
  CHECK(nft({"list", "table", "inet", "foreign"}) == foreign);
  auto strip_comments = [](std::string s) {
    std::string out, line;
    std::istringstream in(s);
    while (std::getline(in, line))
      if (!line.starts_with("#")) out += line + "\n";
    return out;
  };
  CHECK(strip_comments(core::run_checked({.program = "iptables-save"}).value().out) == strip_comments(ipt));
}

TEST_CASE_METHOD(Fixture, "nft flush ruleset is repaired by the monitor and traffic flows again", "[native][repair]") {
  auto fw = std::shared_ptr<Firewall>(make_nft_firewall({}).value());
  auto b = backend({}, "berth", fw);
  attach(*b, "web", {"8080:80"});
  auto server = World::serve_peer_address(ns("web"), "tcp", 80);
  REQUIRE(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 8080) == test::kOutsideV4);
  std::atomic<int> repairs{0};
  REQUIRE(fw->start_monitor([&](const core::Result<std::vector<std::string>>& r) {
    if (r && !r->empty()) ++repairs;
  }));
  REQUIRE(core::run_checked({.program = "nft", .args = {"flush", "ruleset"}}));
  auto start = std::chrono::steady_clock::now();
  while (repairs == 0 && std::chrono::steady_clock::now() - start < 1s) std::this_thread::sleep_for(10ms);
  CHECK(repairs >= 1);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(fw->verify().value().empty());
  CHECK(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 8080) == test::kOutsideV4);
  SECTION("a deleted map element is put back as well") {
    REQUIRE(core::run_checked({.program = "nft", .args = {"flush", "map", "inet", "berth", "pm4any"}}));
    start = std::chrono::steady_clock::now();
    while (repairs < 2 && std::chrono::steady_clock::now() - start < 1s) std::this_thread::sleep_for(10ms);
    CHECK(fw->verify().value().empty());
  }
}

TEST_CASE_METHOD(Fixture, "setup and teardown are idempotent", "[native][idempotent]") {
  auto b = backend();
  SetupRequest req{.container_id = "c1", .netns = world.container("c1").path(),
                   .ports = {parse_port_mapping("8080:80").value()}};
  auto first = b->setup(req);
  REQUIRE(first);
  auto second = b->setup(req);
  REQUIRE(second);
  CHECK(*first == *second);
  REQUIRE(b->check(req));
  REQUIRE(b->teardown({.container_id = "c1"}));
  REQUIRE(b->teardown({.container_id = "c1"}));
  REQUIRE(b->teardown({.container_id = "never-seen"}));
  CHECK_FALSE(Links::open().value().find_link(first->host_veth).value());
  CHECK_THAT(nft({"list", "map", "inet", "berth", "pm4any"}), !Catch::Contains("8080"));
  CHECK_FALSE(b->check(req));
  // A new setup gets the lowest address again.
  CHECK(b->setup(req).value().addresses.at(0).address.to_string() == "10.88.0.2");
}

TEST_CASE_METHOD(Fixture, "teardown cleans up after a crash in the middle of setup", "[native][idempotent]") {
  {
    auto b = backend();
    attach(*b, "c0");  // the network exists
  }
  // What a setup killed after the veth was made but before the record was
  // written leaves behind: a lease and a veth, no record.
  auto ipam = Ipam::open("berth", Subnet::parse("10.88.0.0/16").value(), state.path / "berth" / "ipam").value();
  REQUIRE(ipam.allocate("crashed"));
  const std::string veth = host_veth_name("berth", "crashed");
  auto links = Links::open().value();
  REQUIRE(links.create_veth(veth, {.name = "eth0", .netns = world.container("crashed").path()}, {.master = "berth0"}));
  auto b = backend();
  REQUIRE(b->teardown({.container_id = "crashed"}));
  CHECK_FALSE(links.find_link(veth).value());
  for (const auto& l : ipam.list().value()) CHECK(l.owner != "crashed");
  SECTION("and a setup after the crash works too") {
    REQUIRE(ipam.allocate("crashed2"));
    REQUIRE(links.create_veth(host_veth_name("berth", "crashed2"), {.name = "x0"}, {.master = "berth0"}));
    auto a = b->setup({.container_id = "crashed2", .netns = world.container("crashed2").path()});
    REQUIRE(a);
    CHECK(World::ping(ns("crashed2"), "10.88.0.1"));
  }
}

TEST_CASE_METHOD(Fixture, "bad input gets one clear error and changes nothing", "[native][bad-input]") {
  auto b = backend();
  auto a = attach(*b, "web", {"8080:80"});
  auto links = Links::open().value();
  const auto links_before = links.list_links().value().size();
  const std::string ruleset_before = nft({"list", "ruleset"});
  auto leases_before = Ipam::open("berth", Subnet::parse("10.88.0.0/16").value(), state.path / "berth" / "ipam")
                           .value().list().value();
  auto attempt = [&](const std::string& id, std::vector<PortMapping> ports, std::filesystem::path netns = {}) {
    if (netns.empty()) netns = world.container(id).path();
    return b->setup({.container_id = id, .netns = netns, .ports = std::move(ports)});
  };
  auto port = [](int host, int container, Protocol p = Protocol::Tcp) {
    return PortMapping{.protocol = p, .host_port = host, .container_port = container};
  };

  auto taken = attempt("second", {port(8080, 80)});
  REQUIRE_FALSE(taken);
  CHECK(taken.error().message() == "attach container 'second' to network 'berth': publish 0.0.0.0:8080/tcp: the "
                                   "port is already published by 'web'");
  auto zero = attempt("zero", {port(0, 80)});
  REQUIRE_FALSE(zero);
  CHECK_THAT(zero.error().message(), Catch::EndsWith("publish *:0->80/tcp: host port 0 is out of range 1-65535"));
  auto big = attempt("big", {port(70000, 80)});
  REQUIRE_FALSE(big);
  CHECK_THAT(big.error().message(), Catch::EndsWith("host port 70000 is out of range 1-65535"));
  auto proto = parse_port_mapping("8081:80/icmp");
  REQUIRE_FALSE(proto);
  CHECK(proto.error().message() == "port mapping '8081:80/icmp': unknown protocol 'icmp' (expected tcp, udp or sctp)");
  auto gone = attempt("gone", {}, "/run/netns/no-such-container");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().message() == "attach container 'gone' to network 'berth': open network namespace "
                                  "'/run/netns/no-such-container': No such file or directory");
  auto overlap = make_native_backend({.network = {.name = "other", .bridge = "berth9",
                                                  .subnet = Subnet::parse("10.88.128.0/24").value()},
                                      .state_dir = state.path / "berth"});
  REQUIRE_FALSE(overlap);
  CHECK(overlap.error().message() ==
        "open network 'other': subnet 10.88.128.0/24 overlaps 10.88.0.0/16 of network 'berth'");

  // Nothing half-done: no new links, leases, rules or records.
  CHECK(links.list_links().value().size() == links_before);
  CHECK(nft({"list", "ruleset"}) == ruleset_before);
  CHECK(Ipam::open("berth", Subnet::parse("10.88.0.0/16").value(), state.path / "berth" / "ipam").value().list().value() ==
        leases_before);
  CHECK_FALSE(std::filesystem::exists(state.path / "berth" / "containers" / "berth" / "second.json"));
  CHECK_FALSE(std::filesystem::exists(state.path / "berth" / "networks" / "other.json"));
}

TEST_CASE_METHOD(Fixture, "the native backend keeps the Backend contract", "[native][backend]") {
  auto b = backend();
  std::set<std::string> made;
  test::check_backend_contract(*b, [&](const std::string& id) {
    if (made.insert(id).second) (void)world.container(id);
    return World::container_path(id);
  });
  // What the network was is gone: no veth, no bridge, no rules, no records.
  Links host = Links::open().value();
  for (const auto& l : host.list_links().value()) {
    CHECK_FALSE(l.name.starts_with("bv"));
    CHECK(l.name != "berth0");
  }
  CHECK_THAT(nft({"list", "table", "inet", "berth"}), !Catch::Contains("berth0") && !Catch::Contains("10.88.0.0/16"));
  CHECK_FALSE(std::filesystem::exists(state.path / "berth" / "networks" / "berth.json"));
  CHECK_FALSE(std::filesystem::exists(state.path / "berth" / "ipam" / "berth.json"));
}

TEST_CASE_METHOD(Fixture, "the backend asks its firewall for the network and each port, range expanded",
                 "[native][fake-firewall]") {
  auto fw = std::make_shared<test::FakeFirewall>();
  auto b = backend({}, "berth", fw);
  attach(*b, "web", {"8080-8081:80-81/tcp"});
  CHECK(fw->calls == std::vector<std::string>{"add_network berth", "add_ports web:8080->80 web:8081->81"});
  REQUIRE(b->teardown({.container_id = "web"}));
  CHECK(fw->calls.back() == "remove_ports web");
  CHECK(fw->state().ports.empty());
}

TEST_CASE_METHOD(Fixture, "a setup whose firewall fails leaves nothing behind", "[native][fake-firewall]") {
  auto fw = std::make_shared<test::FakeFirewall>();
  auto b = backend({}, "berth", fw);
  fw->fail("add_ports", core::make_error(core::Errc::conflict, "publish 0.0.0.0:8080/tcp: the port is taken"));
  SetupRequest req{.container_id = "web", .netns = world.container("web").path()};
  req.ports.push_back(parse_port_mapping("8080:80").value());
  auto r = b->setup(req);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "attach container 'web' to network 'berth': publish 0.0.0.0:8080/tcp: the port is taken");
  CHECK_FALSE(Links::open().value().find_link(host_veth_name("berth", "web")).value());
  CHECK(b->attachments().value().empty());
  auto leases = Ipam::open("berth", Subnet::parse("10.88.0.0/16").value(), state.path / "berth" / "ipam")
                    .value()
                    .list()
                    .value();
  CHECK(leases.empty());
  CHECK(Links::open_in(ns("web")).value().find_link("eth0").value() == std::nullopt);
}

TEST_CASE_METHOD(Fixture, "a teardown whose firewall fails goes on and says so", "[native][fake-firewall]") {
  auto fw = std::make_shared<test::FakeFirewall>();
  auto b = backend({}, "berth", fw);
  attach(*b, "web", {"8080:80"});
  fw->fail("remove_ports", core::make_error(core::Errc::protocol, "nf_tables did not answer"));
  auto r = b->teardown({.container_id = "web"});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "detach container 'web' from network 'berth': nf_tables did not answer");
  // Everything else went: the veth, the record, the address.
  CHECK_FALSE(Links::open().value().find_link(host_veth_name("berth", "web")).value());
  CHECK(b->attachments().value().empty());
  auto again = attach(*b, "other");
  CHECK(v4(again) == "10.88.0.2");
}
