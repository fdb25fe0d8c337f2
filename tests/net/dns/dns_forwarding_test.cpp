// SPDX-License-Identifier: Apache-2.0
// The DNS server's forwarding across reloads, with an upstream the test
// controls (it answers only when told), all on this namespace's loopback.
#include "berth/core/process.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include "berth_catch.hpp"
#include "dns_loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <optional>
#include <thread>
#include <variant>

using namespace berth;
using namespace berth::net;
using namespace std::chrono_literals;
using namespace berth::test;

namespace {

/// The upstream's answer to a forwarded query: the same question, one A record.
std::vector<std::uint8_t> answer_to(const std::vector<std::uint8_t>& query) {
  auto parsed = dns::parse(query);
  REQUIRE(std::holds_alternative<dns::Message>(parsed));
  auto m = std::get<dns::Message>(parsed);
  m.qr = m.ra = true;
  m.answers.push_back({m.questions.at(0).name, dns::type::A, dns::kClassIn, 60, parse_address("192.0.2.99").value()});
  return dns::serialize(m);
}

}  // namespace

TEST_CASE("a forwarded answer leaves from the address asked, and not at all once a reload took it away",
          "[dns][forwarding]") {
  REQUIRE(core::run_checked({.program = "ip", .args = {"link", "set", "lo", "up"}}));
  const auto upstream_fd = bound("127.0.0.99", 53, 3000ms);
  const auto client_fd = bound("127.0.0.1", 0, 700ms);
  const int upstream = upstream_fd.get(), client = client_fd.get();
  dns::ServerOptions options;
  options.upstreams = std::vector<IpAddress>{parse_address("127.0.0.99").value()};
  options.fallback_after = 5000ms;
  options.give_up_after = 10000ms;
  auto server = dns::Server::start(options, zone_listening_on("127.0.0.10")).value();
  wait_listening(*server, "127.0.0.10");

  dns::Message q;
  q.id = 0x4242;
  q.rd = true;
  q.questions.push_back({"www.example.test", dns::type::A, dns::kClassIn});
  auto ask_and_forward = [&] {
    send_to(client, dns::serialize(q), address_port("127.0.0.10", 53));
    auto forwarded = receive(upstream);
    REQUIRE(forwarded);
    return *forwarded;
  };

  SECTION("the address is gone when the answer comes: nothing is sent, from any address") {
    auto forwarded = ask_and_forward();
    // The reload closes the socket of 127.0.0.10 and opens one for 127.0.0.11,
    // which may well get the closed socket's descriptor number.
    server->update(zone_listening_on("127.0.0.11"));
    wait_listening(*server, "127.0.0.11");
    send_to(upstream, answer_to(forwarded.bytes), forwarded.source);
    auto got = receive(client);
    CHECK_FALSE(got);
    if (got) FAIL_CHECK("an answer came from " << got->from);
  }
  SECTION("the address came back before the answer: the answer comes from it") {
    auto forwarded = ask_and_forward();
    server->update(zone_listening_on("127.0.0.11"));
    wait_listening(*server, "127.0.0.11");
    server->update(zone_listening_on("127.0.0.10"));
    wait_listening(*server, "127.0.0.10");
    send_to(upstream, answer_to(forwarded.bytes), forwarded.source);
    auto got = receive(client);
    REQUIRE(got);
    CHECK(got->from == "127.0.0.10");
    auto answer = dns::parse(got->bytes);
    REQUIRE(std::holds_alternative<dns::Message>(answer));
    CHECK(std::get<dns::Message>(answer).id == 0x4242);
    CHECK(std::get<dns::Message>(answer).answers.size() == 1);
  }
  server->stop();
}
