// SPDX-License-Identifier: Apache-2.0
// The DNS server's forwarding across reloads, with an upstream the test
// controls (it answers only when told), all on this namespace's loopback.
#include "berth/core/process.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include "berth_catch.hpp"

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

namespace {

/// A UDP socket bound to ADDRESS:PORT with a receive timeout.
core::UniqueFd bound(const char* address, std::uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  core::UniqueFd owned(fd);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &a.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{0, static_cast<suseconds_t>(timeout.count() * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return owned;
}

std::shared_ptr<const dns::Zone> zone_listening_on(const char* address) {
  dns::NetworkRecords n;
  n.name = "front";
  n.subnets = {Subnet::parse("127.0.0.0/8").value()};
  n.listen = {parse_address(address).value()};
  n.containers = {{"web", {}, {parse_address("127.1.0.2").value()}}};
  return std::make_shared<const dns::Zone>(std::vector<dns::NetworkRecords>{n});
}

void wait_listening(dns::Server& s, const char* address) {
  const auto want = parse_address(address).value();
  for (int i = 0; i < 200; ++i) {
    auto l = s.listening();
    if (l.size() == 1 && l[0] == want) return;
    std::this_thread::sleep_for(5ms);
  }
  FAIL("the server does not listen on " << address << " alone");
}

struct Received {
  std::vector<std::uint8_t> bytes;
  std::string from;
  sockaddr_in source{};
};

std::optional<Received> receive(int fd) {
  std::array<std::uint8_t, 4096> buf{};
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0) return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
  return Received{{buf.begin(), buf.begin() + n}, text, from};
}

void send_to(int fd, const std::vector<std::uint8_t>& bytes, const sockaddr_in& a) {
  REQUIRE(::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a) ==
          static_cast<ssize_t>(bytes.size()));
}

sockaddr_in address_port(const char* address, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &a.sin_addr);
  return a;
}

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
