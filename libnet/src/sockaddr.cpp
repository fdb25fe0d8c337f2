// SPDX-License-Identifier: Apache-2.0
#include "berth/net/sockaddr.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace berth::net {

SockAddr to_sockaddr(const IpAddress& a, std::uint16_t port) {
  SockAddr s;
  if (a.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    auto b = a.to_v4().to_bytes();
    std::memcpy(&in->sin_addr, b.data(), 4);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    auto b = a.to_v6().to_bytes();
    std::memcpy(&in6->sin6_addr, b.data(), 16);
    in6->sin6_scope_id = a.to_v6().scope_id();
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

std::optional<IpAddress> from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    boost::asio::ip::address_v4::bytes_type b{};
    std::memcpy(b.data(), &in->sin_addr, 4);
    return IpAddress(boost::asio::ip::address_v4(b));
  }
  if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    boost::asio::ip::address_v6::bytes_type b{};
    std::memcpy(b.data(), &in6->sin6_addr, 16);
    IpAddress a{boost::asio::ip::address_v6(b)};
    if (a.to_v6().is_v4_mapped()) return IpAddress(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()));
    return a;
  }
  return std::nullopt;
}

}  // namespace berth::net
