// SPDX-License-Identifier: Apache-2.0
// Bad input to the link layer: one clear error each, and nothing left behind.
#include "berth/core/netns.hpp"
#include "berth/net/link/links.hpp"

#include "berth_catch.hpp"

using namespace berth;
using namespace berth::net;

namespace {
std::size_t link_count(Links& links) { return links.list_links().value().size(); }
}  // namespace

TEST_CASE("an interface name longer than the kernel allows is refused", "[link][bad-input]") {
  auto links = Links::open().value();
  auto before = link_count(links);
  auto r = links.create_bridge("berth-bridge-too-long");
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "create bridge 'berth-bridge-too-long': interface name 'berth-bridge-too-long' is longer than 15 characters");
  auto v = links.create_veth("ok0", {.name = "peer-name-too-long"});
  REQUIRE_FALSE(v);
  CHECK_THAT(v.error().message(), Catch::Contains("'peer-name-too-long' is longer than 15 characters"));
  CHECK_FALSE(links.create_bridge("has space"));
  CHECK_FALSE(links.create_bridge("a/b"));
  CHECK_FALSE(links.create_bridge(""));
  CHECK(link_count(links) == before);
}

TEST_CASE("a namespace path that does not exist is refused before anything is made", "[link][bad-input]") {
  auto links = Links::open().value();
  auto before = link_count(links);
  auto r = links.create_veth("vx", {.name = "eth0", .netns = "/run/netns/absent"});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "create veth 'vx': open network namespace '/run/netns/absent': No such file or directory");
  CHECK(link_count(links) == before);
  auto o = Links::open_in("/run/netns/absent");
  REQUIRE_FALSE(o);
  CHECK(o.error().message() ==
        "open links in '/run/netns/absent': open network namespace '/run/netns/absent': No such file or directory");
}

TEST_CASE("kernel refusals name the object and keep the kernel's words", "[link][bad-input]") {
  auto links = Links::open().value();
  REQUIRE(links.create_bridge("berth0"));
  auto twice = links.create_bridge("berth0");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message() == "create bridge 'berth0': File exists");
  auto missing = links.remove("nope0");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() == "delete link 'nope0': No such device");
  CHECK(links.remove_if_present("nope0").value() == false);
  CHECK(links.set_up("nope0").error().message() == "set link 'nope0' up: No such device");
  auto unreachable = links.add_route({.gateway = parse_address("203.0.113.1").value(), .device = "berth0"});
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().message() == "add route default via 203.0.113.1 dev berth0: Network is unreachable");
  auto mac = links.set_mac("berth0", "zz:00:00:00:00:00");
  REQUIRE_FALSE(mac);
  CHECK(mac.error().message() == "set MAC on 'berth0': 'zz:00:00:00:00:00' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  auto master = links.create_veth("vy", {.name = "vz"}, {.master = "nobridge"});
  REQUIRE_FALSE(master);
  CHECK(master.error().message() == "create veth 'vy': find bridge 'nobridge': No such device");
  CHECK_FALSE(links.find_link("vy").value());
}
