// SPDX-License-Identifier: Apache-2.0
// What every net::Backend promises its callers, checked the same way on each
// implementation (the native backend in a netns test, the fake of
// tests/mocks in a unit test), so the fake stays a faithful stand-in.
#pragma once

#include "berth/net/backend.hpp"

#include "berth_catch.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace berth::test {

/// `netns_for(id)` gives a network namespace for container `id`.
inline void check_backend_contract(net::Backend& b,
                                   const std::function<std::filesystem::path(const std::string&)>& netns_for) {
  REQUIRE(b.ensure_network());
  REQUIRE(b.ensure_network());  // idempotent

  const net::SetupRequest first{.container_id = "contract-a", .netns = netns_for("contract-a"), .hostname = "a"};
  auto a = b.setup(first);
  REQUIRE(a);
  CHECK(a->container_id == "contract-a");
  CHECK(a->ifname == "eth0");
  REQUIRE_FALSE(a->addresses.empty());
  REQUIRE_FALSE(a->gateways.empty());
  auto again = b.setup(first);  // a retried setup gets the same attachment
  REQUIRE(again);
  CHECK(*again == *a);
  auto other = b.setup({.container_id = "contract-b", .netns = netns_for("contract-b")});
  REQUIRE(other);
  CHECK(other->addresses.front().address != a->addresses.front().address);
  CHECK(b.check(first));
  CHECK(b.attachments().value().size() == 2);

  // Bad ids never reach the system.
  for (std::string bad : {"", "../x", "a/b", "a b"}) {
    INFO(bad);
    auto r = b.setup({.container_id = bad, .netns = netns_for("contract-a")});
    REQUIRE_FALSE(r);
    CHECK(r.error().is(core::Errc::invalid_argument));
    CHECK_FALSE(b.teardown({.container_id = bad}));
  }

  REQUIRE(b.teardown({.container_id = "contract-a", .netns = first.netns}));
  REQUIRE(b.teardown({.container_id = "contract-a", .netns = first.netns}));  // twice is fine
  REQUIRE(b.teardown({.container_id = "contract-never"}));                    // unknown is fine
  CHECK_FALSE(b.check(first));
  auto left = b.attachments().value();
  REQUIRE(left.size() == 1);
  CHECK(left.front().container_id == "contract-b");
  // The address is free again.
  auto back = b.setup({.container_id = "contract-c", .netns = netns_for("contract-c")});
  REQUIRE(back);
  // A network with containers on it is not removed.
  auto busy = b.remove_network();
  REQUIRE_FALSE(busy);
  CHECK(busy.error().is(core::Errc::conflict));
  REQUIRE(b.teardown({.container_id = "contract-b"}));
  REQUIRE(b.teardown({.container_id = "contract-c"}));
  CHECK(b.attachments().value().empty());
  REQUIRE(b.remove_network());
  REQUIRE(b.remove_network());  // gone already: fine
  // And it can be made again.
  REQUIRE(b.ensure_network());
  REQUIRE(b.remove_network());
}

}  // namespace berth::test
