// SPDX-License-Identifier: Apache-2.0
// Links, addresses and routes made for real in a fresh namespace, read back
// through berth and cross-checked with `ip -j`.
#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"
#include "berth/net/link/links.hpp"
#include "berth/net/link/link_removal.hpp"

#include <boost/json.hpp>
#include "berth_catch.hpp"

#include <algorithm>
#include <unistd.h>

using namespace berth;
using namespace berth::net;
namespace json = boost::json;

namespace {

/// `ip -j ARGS...` (optionally `-n NETNS`) parsed as JSON.
json::array ip_json(std::vector<std::string> args, const std::string& netns = {}) {
  std::vector<std::string> full = {"-j"};
  if (!netns.empty()) full.insert(full.end(), {"-n", netns});
  full.insert(full.end(), args.begin(), args.end());
  auto r = core::run_checked({.program = "ip", .args = full});
  REQUIRE(r);
  return json::parse(r->out).as_array();
}

json::object ip_link(const std::string& name, const std::string& netns = {}) {
  auto a = ip_json({"-d", "link", "show", "dev", name}, netns);
  REQUIRE(a.size() == 1);
  return a[0].as_object();
}

bool has_address(const json::array& addrs, const std::string& ifname, const std::string& local, int prefix) {
  for (const auto& link : addrs) {
    if (link.at("ifname").as_string() != ifname) continue;
    for (const auto& info : link.at("addr_info").as_array())
      if (info.at("local").as_string() == local && info.at("prefixlen").as_int64() == prefix) return true;
  }
  return false;
}

Links open_links() { return Links::open().value(); }

}  // namespace

TEST_CASE("a bridge is created, configured and deleted", "[link]") {
  auto links = open_links();
  REQUIRE(links.create_bridge("berth0", {.mtu = 1400, .mac = "02:42:ac:11:00:01", .up = true}));
  auto info = links.get_link("berth0").value();
  CHECK(info.kind == "bridge");
  CHECK(info.mtu == 1400);
  CHECK(info.mac == "02:42:ac:11:00:01");
  CHECK(info.up);
  auto ip = ip_link("berth0");
  CHECK(ip.at("linkinfo").at("info_kind").as_string() == "bridge");
  CHECK(ip.at("mtu").as_int64() == 1400);
  CHECK(ip.at("address").as_string() == "02:42:ac:11:00:01");
  CHECK(ip.at("ifindex").as_int64() == info.index);


  // Kernel state outlives a Catch SECTION, so the steps run in sequence.
  REQUIRE(links.set_mtu("berth0", 1300));
  REQUIRE(links.set_mac("berth0", "02:00:00:00:00:09"));
  REQUIRE(links.set_down("berth0"));
  REQUIRE(links.rename("berth0", "berth1"));
  auto after = ip_link("berth1");
  CHECK(after.at("mtu").as_int64() == 1300);
  CHECK(after.at("address").as_string() == "02:00:00:00:00:09");
  auto flags = after.at("flags").as_array();
  CHECK(std::find(flags.begin(), flags.end(), json::value("UP")) == flags.end());
  CHECK_FALSE(links.find_link("berth0").value());
  CHECK(links.list_links().value().size() == 2);  // lo and berth1

  REQUIRE(links.remove("berth1"));
  CHECK_FALSE(links.find_link("berth1").value());
  CHECK(ip_json({"link", "show", "type", "bridge"}).empty());
}

TEST_CASE("a veth end created in another namespace gets its address and default route", "[link]") {
  auto links = open_links();
  auto ns = core::NetnsFile::create("/run/netns/ctr").value();
  REQUIRE(links.create_bridge("berth0", {.up = true}));
  REQUIRE(links.add_address("berth0", InterfaceAddress::parse("10.88.0.1/16").value()));
  REQUIRE(links.add_address("berth0", InterfaceAddress::parse("fd00:88::1/64").value()));
  REQUIRE(links.create_veth("vb-host", {.name = "eth0", .netns = ns.path()}, {.master = "berth0", .up = true}));

  auto host_end = links.get_link("vb-host").value();
  CHECK(host_end.kind == "veth");
  CHECK(host_end.up);
  CHECK(host_end.master_index == links.get_link("berth0").value().index);
  CHECK(ip_link("vb-host").at("master").as_string() == "berth0");
  CHECK_FALSE(links.find_link("eth0").value());  // the peer is not here

  auto ctr = Links::open_in(ns.path()).value();
  REQUIRE(ctr.set_up("lo"));
  REQUIRE(ctr.set_up("eth0"));
  REQUIRE(ctr.add_address("eth0", InterfaceAddress::parse("10.88.0.2/16").value()));
  REQUIRE(ctr.add_address("eth0", InterfaceAddress::parse("fd00:88::2/64").value()));
  REQUIRE(ctr.add_route({.gateway = parse_address("10.88.0.1").value(), .device = "eth0"}));
  REQUIRE(ctr.add_route({.gateway = parse_address("fd00:88::1").value(), .device = "eth0"}));

  auto addrs = ctr.list_addresses("eth0").value();
  auto has = [&](std::string_view text) {
    auto want = InterfaceAddress::parse(text).value();
    return std::any_of(addrs.begin(), addrs.end(), [&](const AddressInfo& a) { return a.address == want; });
  };
  CHECK(has("10.88.0.2/16"));
  CHECK(has("fd00:88::2/64"));
  auto ip_addrs = ip_json({"addr", "show"}, "ctr");
  CHECK(has_address(ip_addrs, "eth0", "10.88.0.2", 16));
  CHECK(has_address(ip_addrs, "eth0", "fd00:88::2", 64));

  auto routes = ctr.list_routes().value();
  auto default_v4 = std::find_if(routes.begin(), routes.end(), [](const Route& r) { return !r.destination && !r.v6; });
  REQUIRE(default_v4 != routes.end());
  CHECK(default_v4->gateway == parse_address("10.88.0.1").value());
  CHECK(default_v4->device == "eth0");
  auto ip_routes = ip_json({"route", "show", "default"}, "ctr");
  REQUIRE(ip_routes.size() == 1);
  CHECK(ip_routes[0].at("gateway").as_string() == "10.88.0.1");
  CHECK(ip_routes[0].at("dev").as_string() == "eth0");
  auto ip6_routes = ip_json({"-6", "route", "show", "default"}, "ctr");
  REQUIRE(ip6_routes.size() == 1);
  CHECK(ip6_routes[0].at("gateway").as_string() == "fd00:88::1");


  // Routes and addresses are removed again.
  REQUIRE(ctr.remove_route({.gateway = parse_address("10.88.0.1").value(), .device = "eth0"}));
  REQUIRE(ctr.remove_address("eth0", InterfaceAddress::parse("10.88.0.2/16").value()));
  CHECK(ip_json({"route", "show", "default"}, "ctr").empty());
  CHECK_FALSE(has_address(ip_json({"addr", "show"}, "ctr"), "eth0", "10.88.0.2", 16));

  // Deleting the host end removes the pair.
  REQUIRE(links.remove("vb-host"));
  CHECK_FALSE(ctr.find_link("eth0").value());
}

TEST_CASE("a veth end is moved into a namespace and a route to a subnet is added", "[link]") {
  auto links = open_links();
  auto ns = core::NetnsFile::create("/run/netns/moved").value();
  REQUIRE(links.create_veth("va", {.name = "vb"}));
  REQUIRE(links.move_to_netns("vb", ns.path()));
  CHECK_FALSE(links.find_link("vb").value());
  auto there = Links::open_in(ns.path()).value();
  REQUIRE(there.get_link("vb"));
  REQUIRE(there.set_up("vb"));
  REQUIRE(there.add_address("vb", InterfaceAddress::parse("192.0.2.2/24").value()));
  REQUIRE(there.add_route({.destination = Subnet::parse("198.51.100.0/24").value(),
                           .gateway = parse_address("192.0.2.1").value()}));
  auto r = ip_json({"route", "show", "198.51.100.0/24"}, "moved");
  REQUIRE(r.size() == 1);
  CHECK(r[0].at("gateway").as_string() == "192.0.2.1");
  CHECK(r[0].at("dev").as_string() == "vb");
}

TEST_CASE("a ping crosses the bridge between two namespaces", "[link]") {
  auto links = open_links();
  REQUIRE(links.create_bridge("br-ping", {.up = true}));
  std::vector<core::NetnsFile> spaces;
  for (int i = 0; i < 2; ++i) {
    auto ns = core::NetnsFile::create("/run/netns/p" + std::to_string(i)).value();
    REQUIRE(links.create_veth("vp" + std::to_string(i), {.name = "eth0", .netns = ns.path()},
                              {.master = "br-ping", .up = true}));
    auto in = Links::open_in(ns.path()).value();
    REQUIRE(in.set_up("eth0"));
    REQUIRE(in.add_address("eth0", InterfaceAddress::parse("10.77.0." + std::to_string(i + 2) + "/24").value()));
    spaces.push_back(std::move(ns));
  }
  auto ping = core::run_in_netns(spaces[0].path(), [] {
    return core::run({.program = "ping", .args = {"-c", "1", "-W", "2", "10.77.0.3"},
                      .timeout = std::chrono::seconds(10)});
  });
  REQUIRE(ping);
  INFO(ping->out << ping->err);
  CHECK(ping->exit_code == 0);
  CHECK_THAT(ping->out, Catch::Contains("1 received"));
}

TEST_CASE("a link removed with remove_link_detached is gone when the call returns", "[link]") {
  auto links = open_links();
  REQUIRE(links.create_bridge("br-rm", {.up = true}));
  auto ns = core::NetnsFile::create("/run/netns/berth-rm-peer").value();
  REQUIRE(links.create_veth("rm0", {.name = "eth0", .netns = ns.path()}, {.master = "br-rm", .up = true}));
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);  // stands for a runtime reading the caller's output

  auto removed = remove_link_detached("rm0");
  REQUIRE(removed);
  CHECK(*removed);
  CHECK_FALSE(links.find_link("rm0").value());  // gone from the namespace ...
  CHECK(ip_json({"link", "show", "master", "br-rm"}).empty());  // ... and from the bridge
  // The child that waits out the kernel holds none of our descriptors: once
  // we close our write end, the reader sees the end at once.
  ::close(pipe_fds[1]);
  char c;
  CHECK(::read(pipe_fds[0], &c, 1) == 0);
  ::close(pipe_fds[0]);

  auto again = remove_link_detached("rm0");
  REQUIRE(again);
  CHECK_FALSE(*again);
  auto bad = remove_link_detached("no/such");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::Contains("no/such"));
  REQUIRE(links.remove("br-rm"));
}

TEST_CASE("a link removed through a LinkReaper is gone when the call returns", "[link]") {
  auto links = open_links();
  REQUIRE(links.create_bridge("br-reap", {.up = true}));
  auto ns = core::NetnsFile::create("/run/netns/berth-reap-peer").value();
  {
    LinkReaper reaper;
    for (const char* name : {"reap0", "reap1"}) {
      REQUIRE(links.create_veth(name, {.name = std::string("e") + name, .netns = ns.path()}, {.master = "br-reap", .up = true}));
      auto removed = reaper.remove(name);
      REQUIRE(removed);
      CHECK(*removed);
      CHECK_FALSE(links.find_link(name).value());
    }
    CHECK(ip_json({"link", "show", "master", "br-reap"}).empty());
    // The same name can be used again at once.
    REQUIRE(links.create_veth("reap0", {.name = "ereap0", .netns = ns.path()}, {.master = "br-reap"}));
    CHECK(reaper.remove("reap0").value());
    CHECK_FALSE(reaper.remove("reap0").value());
  }  // the reaper joins the kernel's last waits here
  REQUIRE(links.remove("br-reap"));
}
