// SPDX-License-Identifier: Apache-2.0
// DNS packets come from any client on a network and from upstream servers.
#include "berth/net/dns/message.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::net;
  static const dns::Zone zone({dns::NetworkRecords{
      .name = "n",
      .subnets = {*Subnet::parse("10.88.0.0/16")},
      .containers = {{"web", {"www"}, {*parse_address("10.88.0.2"), *parse_address("fd00::2")}},
                     {"v4only", {}, {*parse_address("10.88.0.3")}},
                     {"many", {}, {*parse_address("10.88.1.1"), *parse_address("10.88.1.2"), *parse_address("10.88.1.3"),
                                   *parse_address("10.88.1.4"), *parse_address("10.88.1.5"), *parse_address("10.88.1.6"),
                                   *parse_address("10.88.1.7"), *parse_address("10.88.1.8"), *parse_address("10.88.1.9"),
                                   *parse_address("10.88.1.10"), *parse_address("10.88.1.11"),
                                   *parse_address("10.88.1.12"), *parse_address("10.88.1.13"),
                                   *parse_address("10.88.1.14"), *parse_address("10.88.1.15"),
                                   *parse_address("10.88.1.16"), *parse_address("10.88.1.17"),
                                   *parse_address("10.88.1.18"), *parse_address("10.88.1.19"),
                                   *parse_address("10.88.1.20"), *parse_address("10.88.1.21"),
                                   *parse_address("10.88.1.22"), *parse_address("10.88.1.23"),
                                   *parse_address("10.88.1.24"), *parse_address("10.88.1.25"),
                                   *parse_address("10.88.1.26"), *parse_address("10.88.1.27"),
                                   *parse_address("10.88.1.28"), *parse_address("10.88.1.29"),
                                   *parse_address("10.88.1.30"), *parse_address("10.88.1.31"),
                                   *parse_address("10.88.1.32")}}},
      .srv = {{"_http._tcp.web", {0, 0, 80, "web"}}},
      .txt = {{"web", {"v=1"}}}}});
  auto parsed = dns::parse(std::span(data, size));
  if (auto* m = std::get_if<dns::Message>(&parsed)) {
    // Whatever parses serializes, and parses again.
    auto wire = dns::serialize(*m);
    if (!std::holds_alternative<dns::Message>(dns::parse(wire))) __builtin_trap();
    if (auto reply = dns::answer(zone, *m, *parse_address("10.88.0.9"))) (void)dns::serialize(*reply, 512);
  }
  // The server's fast path: whenever it answers, the general path must have
  // written the very same bytes (for UDP's limit and for TCP's).
  const auto client = *parse_address("10.88.0.9");
  for (std::size_t limit : {std::size_t{0}, std::size_t{65535}}) {
    std::vector<std::uint8_t> fast;
    if (!dns::answer_address_query(zone, std::span(data, size), client, limit, fast)) continue;
    auto* m = std::get_if<dns::Message>(&parsed);
    if (!m) __builtin_trap();
    auto reply = dns::answer(zone, *m, client);
    if (!reply) __builtin_trap();
    auto general = dns::serialize(*reply, limit == 0 ? dns::udp_limit(*m) : limit);
    dns::echo_question_case(std::span(data, size), general);
    if (general != fast) __builtin_trap();
  }
  std::vector<std::uint8_t> copy(data, data + size);
  dns::echo_question_case(std::span(data, size), copy);
  (void)dns::peek_header(std::span(data, size));
  return 0;
}
