// SPDX-License-Identifier: Apache-2.0
// DNS packets come from any client on a network and from upstream servers.
#include "berth/net/dns/message.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::net;
  static const dns::Zone zone({dns::NetworkRecords{
      .name = "n",
      .subnets = {*Subnet::parse("10.88.0.0/16")},
      .containers = {{"web", {"www"}, {*parse_address("10.88.0.2"), *parse_address("fd00::2")}}},
      .srv = {{"_http._tcp.web", {0, 0, 80, "web"}}},
      .txt = {{"web", {"v=1"}}}}});
  auto parsed = dns::parse(std::span(data, size));
  if (auto* m = std::get_if<dns::Message>(&parsed)) {
    // Whatever parses serializes, and parses again.
    auto wire = dns::serialize(*m);
    if (!std::holds_alternative<dns::Message>(dns::parse(wire))) __builtin_trap();
    if (auto reply = dns::answer(zone, *m, *parse_address("10.88.0.9"))) (void)dns::serialize(*reply, 512);
  }
  (void)dns::peek_header(std::span(data, size));
  return 0;
}
