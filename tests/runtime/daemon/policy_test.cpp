// SPDX-License-Identifier: Apache-2.0
// The daemon's --dns and --net-driver settings.
#include "berth/runtime/daemon/policy.hpp"

#include "berth_catch.hpp"

using namespace berth::runtime;

TEST_CASE("the --dns policy", "[policy]") {
  using M = DnsMode;
  using D = NetDriver;
  CHECK(use_embedded_dns(M::Auto, D::Native, {false}));
  CHECK(use_embedded_dns(M::Auto, D::Cni, {true, true}));
  CHECK_FALSE(use_embedded_dns(M::Auto, D::Cni, {true, false}));
  CHECK_FALSE(use_embedded_dns(M::Auto, D::Cni, {}));
  CHECK(use_embedded_dns(M::Embedded, D::Cni, {false}));
  CHECK_FALSE(use_embedded_dns(M::Cni, D::Native, {}));
  CHECK_FALSE(use_embedded_dns(M::Off, D::Native, {}));
  CHECK(parse_dns_mode("embedded").value() == M::Embedded);
  CHECK(parse_dns_mode("loud").error().message() == "unknown DNS mode 'loud' (expected auto, embedded, cni or off)");
}

TEST_CASE("the network driver is native or cni", "[policy]") {
  CHECK(parse_net_driver("native").value() == NetDriver::Native);
  CHECK(parse_net_driver("cni").value() == NetDriver::Cni);
  CHECK(parse_net_driver("bridge").error().message() == "unknown network driver 'bridge' (expected native or cni)");
}
