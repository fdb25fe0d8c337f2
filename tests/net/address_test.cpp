// SPDX-License-Identifier: Apache-2.0
#include "berth/net/address.hpp"

#include "berth_catch.hpp"

using namespace berth::net;

namespace {
Subnet S(std::string_view text) { return Subnet::parse(text).value(); }
IpAddress A(std::string_view text) { return parse_address(text).value(); }
}  // namespace

TEST_CASE("Subnet parses and prints canonical CIDRs", "[address]") {
  struct Row {
    std::string_view in, out;
    unsigned prefix;
  };
  auto row = GENERATE(values<Row>({
      {"10.88.0.0/16", "10.88.0.0/16", 16},
      {"0.0.0.0/0", "0.0.0.0/0", 0},
      {"192.168.1.7/32", "192.168.1.7/32", 32},
      {"fd00:88::/64", "fd00:88::/64", 64},
      {"FD00:0088:0000::/48", "fd00:88::/48", 48},
      {"::/0", "::/0", 0},
      {"2001:db8::1/128", "2001:db8::1/128", 128},
  }));
  auto s = Subnet::parse(row.in);
  REQUIRE(s);
  CHECK(s->to_string() == row.out);
  CHECK(s->prefix_length() == row.prefix);
}

TEST_CASE("Subnet rejects malformed CIDRs with one line naming the text", "[address][bad-input]") {
  struct Row {
    std::string_view in, message;
  };
  auto row = GENERATE(values<Row>({
      {"10.88.0.0", "malformed CIDR '10.88.0.0': expected ADDRESS/PREFIX"},
      {"10.88.0/16", "malformed CIDR '10.88.0/16': '10.88.0' is not an IP address"},
      {"10.88.0.0/33", "malformed CIDR '10.88.0.0/33': prefix length 33 is longer than 32 bits"},
      {"fd00::/129", "malformed CIDR 'fd00::/129': prefix length 129 is longer than 128 bits"},
      {"10.88.0.0/", "malformed CIDR '10.88.0.0/': prefix length '' is not a number"},
      {"10.88.0.0/1x", "malformed CIDR '10.88.0.0/1x': prefix length '1x' is not a number"},
      {"10.88.0.0/-1", "malformed CIDR '10.88.0.0/-1': prefix length '-1' is not a number"},
      {"10.88.0.1/16", "malformed CIDR '10.88.0.1/16': host bits are set (did you mean '10.88.0.0/16'?)"},
      {"fe80::1%eth0/64", "malformed CIDR 'fe80::1%eth0/64': 'fe80::1%eth0' is not an IP address"},
      {"", "malformed CIDR '': expected ADDRESS/PREFIX"},
  }));
  auto s = Subnet::parse(row.in);
  REQUIRE_FALSE(s);
  CHECK(s.error().message() == row.message);
  CHECK(s.error().is(berth::core::Errc::invalid_argument));
}

TEST_CASE("Subnet size, nth and last work on both families", "[address]") {
  CHECK(S("10.88.0.0/16").size() == 65536);
  CHECK(S("10.0.0.0/32").size() == 1);
  CHECK(S("0.0.0.0/0").size() == (Uint128{1} << 32));
  CHECK(S("fd00::/64").size() == (Uint128{1} << 64));
  CHECK(S("::/0").size() == ~Uint128{0});  // saturated
  CHECK(S("10.88.0.0/16").nth(1) == A("10.88.0.1"));
  CHECK(S("10.88.0.0/16").nth(65535) == A("10.88.255.255"));
  CHECK_FALSE(S("10.88.0.0/16").nth(65536));
  CHECK(S("10.88.0.0/16").last() == A("10.88.255.255"));
  CHECK(S("fd00::/64").nth((Uint128{1} << 64) - 1) == A("fd00::ffff:ffff:ffff:ffff"));
  CHECK_FALSE(S("fd00::/64").nth(Uint128{1} << 64));
  CHECK(S("fd00::/120").nth(256) == std::nullopt);
  CHECK(S("255.255.255.0/24").nth(255) == A("255.255.255.255"));
  CHECK(S("::/0").nth(~Uint128{0}) == A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(S("10.88.0.0/16").offset_of(A("10.88.1.2")) == Uint128{258});
  CHECK_FALSE(S("10.88.0.0/16").offset_of(A("10.89.0.0")));
}

TEST_CASE("contains and overlaps respect family and prefix", "[address]") {
  struct Row {
    std::string_view a, b;
    bool a_contains_b, overlap;
  };
  auto row = GENERATE(values<Row>({
      {"10.0.0.0/8", "10.88.0.0/16", true, true},
      {"10.88.0.0/16", "10.0.0.0/8", false, true},
      {"10.88.0.0/16", "10.89.0.0/16", false, false},
      {"10.88.0.0/16", "10.88.0.0/16", true, true},
      {"172.16.0.0/12", "172.31.255.0/24", true, true},
      {"172.16.0.0/12", "172.32.0.0/16", false, false},
      {"0.0.0.0/0", "192.168.0.0/16", true, true},
      {"fd00::/8", "fd00:88::/64", true, true},
      {"fd00:88::/64", "fd00:89::/64", false, false},
      {"::/0", "10.0.0.0/8", false, false},  // different families never overlap
  }));
  CHECK(S(row.a).contains(S(row.b)) == row.a_contains_b);
  CHECK(S(row.a).overlaps(S(row.b)) == row.overlap);
  CHECK(S(row.b).overlaps(S(row.a)) == row.overlap);
}

TEST_CASE("addresses parse strictly and fold IPv4-mapped IPv6", "[address]") {
  CHECK(A("::ffff:10.0.0.1") == A("10.0.0.1"));
  CHECK(A("10.0.0.1").is_v4());
  CHECK_FALSE(parse_address("10.0.0.256"));
  CHECK_FALSE(parse_address(""));
  CHECK_FALSE(parse_address("fe80::1%lo"));
  CHECK(S("10.88.0.0/16").contains(A("10.88.200.3")));
  CHECK_FALSE(S("10.88.0.0/16").contains(A("fd00::1")));
  auto ia = InterfaceAddress::parse("10.88.0.1/16");
  REQUIRE(ia);
  CHECK(ia->subnet() == S("10.88.0.0/16"));
  CHECK(ia->to_string() == "10.88.0.1/16");
  CHECK(to_string(~Uint128{0}) == "340282366920938463463374607431768211455");
}

#include "berth/net/native/native_backend.hpp"

TEST_CASE("BERTH_CONTAINER_SUBNET and BERTH_GATEWAY_IP override the default network", "[native][env]") {
  auto n = apply_environment({}, {{"BERTH_CONTAINER_SUBNET", "10.77.0.0/24"}, {"BERTH_GATEWAY_IP", "10.77.0.254"}});
  REQUIRE(n);
  CHECK(n->subnet == S("10.77.0.0/24"));
  CHECK(n->gateway == A("10.77.0.254"));
  CHECK(apply_environment({}, {{"BERTH_CONTAINER_SUBNET", "10.77.0.0/24"}, {"BERTH_GATEWAY_IP", "10.78.0.1"}})
            .error()
            .message() == "BERTH_GATEWAY_IP 10.78.0.1 is outside the subnet 10.77.0.0/24");
  CHECK_THAT(apply_environment({}, {{"BERTH_CONTAINER_SUBNET", "10.77.0.1/24"}}).error().message(),
             Catch::StartsWith("BERTH_CONTAINER_SUBNET: malformed CIDR"));
  CHECK(apply_environment({}, {{"BERTH_CONTAINER_SUBNET", ""}, {"PATH", "/bin"}}).value().subnet == S("10.88.0.0/16"));
}
