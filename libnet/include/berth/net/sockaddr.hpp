// SPDX-License-Identifier: Apache-2.0
// An IP address and port as the socket calls take them (sockaddr_in or
// sockaddr_in6), and back: the DNS server's listeners and upstreams, and
// the daemon's health probes.
#pragma once

#include "berth/net/address.hpp"

#include <cstdint>
#include <optional>

#include <sys/socket.h>

namespace berth::net {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

[[nodiscard]] SockAddr to_sockaddr(const IpAddress& address, std::uint16_t port);
/// The address of an IPv4 or IPv6 peer (a v4-mapped IPv6 address as IPv4); nullopt for other families.
[[nodiscard]] std::optional<IpAddress> from_sockaddr(const sockaddr_storage& ss);

}  // namespace berth::net
