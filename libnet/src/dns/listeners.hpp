// SPDX-License-Identifier: Apache-2.0
// The DNS server's listen addresses and its TCP clients.
#pragma once

#include "berth/core/unique_fd.hpp"
#include "berth/net/address.hpp"
#include "dns/udp_serving_thread.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

namespace berth::net::dns {

using Clock = std::chrono::steady_clock;

/// One listen address: a UDP socket served by a thread of its own, and a TCP
/// socket served by the server's loop. Never moved (kept in a std::list): a
/// move would close its UDP socket before stopping the thread blocked on it.
struct Listener {
  explicit Listener(IpAddress a) : address(std::move(a)) {}
  Listener(Listener&&) = delete;
  Listener& operator=(Listener&&) = delete;

  IpAddress address;
  core::UniqueFd udp, tcp;
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff{10};
  bool announced_waiting = false;
  // Declared after `udp`: stopped and joined before the socket closes.
  std::unique_ptr<UdpServingThread> udp_thread;
};

/// Binds the UDP socket (blocking, for its serving thread; with room for a
/// burst of queries) and the TCP socket (listening) of `l` on `port`.
/// Returns 0, or the errno of what failed (EADDRNOTAVAIL while the address
/// is not on its interface yet); on failure `l` keeps no socket.
[[nodiscard]] int bind_listener(Listener& l, std::uint16_t port);

/// The server's TCP clients: length-prefixed queries in, answers out; a
/// client silent for 10 s is closed. Runs on the server's loop thread only.
class TcpClients {
public:
  /// Answers one query of connection `id` into `reply` (left empty when the
  /// answer comes later, through `send`).
  using Answer = std::function<void(std::uint64_t id, std::span<const std::uint8_t> query, const IpAddress& client,
                                    std::vector<std::uint8_t>& reply)>;

  TcpClients(int epoll, Answer answer) : epoll_(epoll), answer_(std::move(answer)) {}

  /// Accepts every client waiting on a listen socket.
  void accept(int listen_fd);
  /// Reads what connection `id` sent, answers each whole query, writes what it can.
  void on_event(std::uint64_t id, std::uint32_t events);
  /// Queues an answer for connection `id`, if it is still open, and writes it.
  void send(std::uint64_t id, const std::vector<std::uint8_t>& reply);
  /// Closes the connections that have been silent too long.
  void expire(Clock::time_point now);

private:
  struct Conn {
    core::UniqueFd fd;
    std::vector<std::uint8_t> in, out;
    Clock::time_point last;
  };
  static void queue(Conn& c, const std::vector<std::uint8_t>& reply);
  static void flush(Conn& c);

  int epoll_;
  Answer answer_;
  std::map<std::uint64_t, Conn> conns_;
  std::uint64_t next_id_ = 0;
};

}  // namespace berth::net::dns
