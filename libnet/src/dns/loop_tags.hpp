// SPDX-License-Identifier: Apache-2.0
// The DNS server's epoll loop: each registered descriptor carries a tag whose
// high bits say what it is (the low bits hold the descriptor or an id).
#pragma once

#include <cstdint>

#include <sys/epoll.h>

namespace berth::net::dns::loop {

inline constexpr std::uint64_t kWake = 1ull << 60, kTcpListen = 3ull << 60, kTcpConn = 4ull << 60,
                               kUpstream = 5ull << 60, kUpstreamTcp = 6ull << 60, kKindMask = 7ull << 60;

/// Registers `fd` with `epoll` under `tag` (its low 32 bits name the descriptor).
inline void add_fd(int epoll, int fd, std::uint64_t tag, std::uint32_t events = EPOLLIN) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag | static_cast<std::uint32_t>(fd);
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
}

}  // namespace berth::net::dns::loop
