// SPDX-License-Identifier: Apache-2.0
#include "dns/listeners.hpp"

#include "dns/loop_tags.hpp"
#include "berth/net/sockaddr.hpp"

#include <array>
#include <cerrno>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::net::dns {
namespace {

constexpr auto kTcpIdle = std::chrono::seconds(10);

}  // namespace

int bind_listener(Listener& l, std::uint16_t port) {
  const int family = l.address.is_v4() ? AF_INET : AF_INET6;
  SockAddr sa = to_sockaddr(l.address, port);
  // Blocking: its own thread waits in recvmmsg (UdpServingThread).
  core::UniqueFd udp(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  core::UniqueFd tcp(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!udp || !tcp) return errno;
  int one = 1;
  ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) {
    ::setsockopt(udp.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    ::setsockopt(tcp.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  // Room for a burst: 1 MiB holds about a thousand queries, 50 ms at
  // 20 000 qps while this server's CPU is taken away (a virtual machine's
  // neighbours), where the default 208 KiB holds about 10 ms. A query lost
  // costs its client a retry after a second or more; one queued costs
  // milliseconds. FORCE passes net.core.rmem_max where we may (root).
  const int room = 1 << 20;
  if (::setsockopt(udp.get(), SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0)
    ::setsockopt(udp.get(), SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0) return errno;
  if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0) return errno;
  if (::listen(tcp.get(), 128) != 0) return errno;
  l.udp = std::move(udp);
  l.tcp = std::move(tcp);
  return 0;
}

void TcpClients::accept(int listen_fd) {
  for (;;) {
    int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    const std::uint64_t id = ++next_id_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = loop::kTcpConn | id;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c, &ev);
    conns_.emplace(id, Conn{core::UniqueFd(c), {}, {}, Clock::now()});
  }
}

void TcpClients::on_event(std::uint64_t id, std::uint32_t events) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  c.last = Clock::now();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    std::array<std::uint8_t, 4096> buf;
    for (;;) {
      ssize_t r = ::read(c.fd.get(), buf.data(), buf.size());
      if (r > 0) {
        c.in.insert(c.in.end(), buf.begin(), buf.begin() + r);
        continue;
      }
      if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        flush(c);
        conns_.erase(it);
        return;
      }
      break;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    ::getpeername(c.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    auto client = from_sockaddr(peer);
    while (c.in.size() >= 2 && client) {
      std::size_t msg_len = static_cast<std::size_t>(c.in[0] << 8 | c.in[1]);
      if (c.in.size() < 2 + msg_len) break;
      std::vector<std::uint8_t> msg(c.in.begin() + 2, c.in.begin() + 2 + static_cast<std::ptrdiff_t>(msg_len));
      c.in.erase(c.in.begin(), c.in.begin() + 2 + static_cast<std::ptrdiff_t>(msg_len));
      std::vector<std::uint8_t> reply;
      answer_(id, msg, *client, reply);
      queue(c, reply);
    }
  }
  flush(c);
}

void TcpClients::send(std::uint64_t id, const std::vector<std::uint8_t>& reply) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  queue(it->second, reply);
  flush(it->second);
}

void TcpClients::expire(Clock::time_point now) {
  for (auto it = conns_.begin(); it != conns_.end();)
    it = now - it->second.last > kTcpIdle ? conns_.erase(it) : std::next(it);
}

void TcpClients::queue(Conn& c, const std::vector<std::uint8_t>& reply) {
  if (reply.empty()) return;
  c.out.push_back(static_cast<std::uint8_t>(reply.size() >> 8));
  c.out.push_back(static_cast<std::uint8_t>(reply.size()));
  c.out.insert(c.out.end(), reply.begin(), reply.end());
}

void TcpClients::flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t w = ::write(c.fd.get(), c.out.data(), c.out.size());
    if (w <= 0) break;
    c.out.erase(c.out.begin(), c.out.begin() + w);
  }
}

}  // namespace berth::net::dns
