// SPDX-License-Identifier: Apache-2.0
// What the DNS server's tests on a namespace's loopback share: UDP sockets,
// a zone of one network listening on one loopback address, waiting for the
// server to listen.
#pragma once

#include "berth/core/unique_fd.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include "berth_catch.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace berth::test {

using namespace std::chrono_literals;
using net::IpAddress;
using net::parse_address;
using net::Subnet;
namespace dns = net::dns;

inline sockaddr_in address_port(const char* address, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &a.sin_addr);
  return a;
}

/// A UDP socket bound to ADDRESS:PORT with a receive timeout.
inline core::UniqueFd bound(const char* address, std::uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  core::UniqueFd owned(fd);
  const sockaddr_in a = address_port(address, port);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  timeval tv{0, static_cast<suseconds_t>(timeout.count() * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return owned;
}

inline std::shared_ptr<const dns::Zone> zone_listening_on(const char* address) {
  dns::NetworkRecords n;
  n.name = "front";
  n.subnets = {Subnet::parse("127.0.0.0/8").value()};
  n.listen = {parse_address(address).value()};
  n.containers = {{"web", {}, {parse_address("127.1.0.2").value()}}};
  return std::make_shared<const dns::Zone>(std::vector<dns::NetworkRecords>{n});
}

inline void wait_listening(dns::Server& s, const char* address) {
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

inline std::optional<Received> receive(int fd) {
  std::array<std::uint8_t, 4096> buf{};
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0) return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
  return Received{{buf.begin(), buf.begin() + n}, text, from};
}

inline void send_to(int fd, const std::vector<std::uint8_t>& bytes, const sockaddr_in& a) {
  REQUIRE(::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a) ==
          static_cast<ssize_t>(bytes.size()));
}

}  // namespace berth::test
