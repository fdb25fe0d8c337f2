// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "dns/udp_replies.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace berth::net::dns {

/// Serves one UDP listen socket from a thread of its own: a blocking
/// recvmmsg (MSG_WAITFORONE) takes whatever queries are queued, the handler
/// answers each, and the answers go out in one batch (UdpReplySender).
///
/// Why not the server's epoll loop: a socket registered with epoll has a
/// waiter on its wait queue all the time, so every answer sent on it runs a
/// wake-up (the kernel signals write space as each datagram leaves) and
/// every query runs epoll's callback before the wait returns. A thread that
/// blocks in recvmmsg is on the wait queue only while it sleeps: sending
/// wakes nobody, and epoll's bookkeeping is gone. Under dnsperf this took
/// about 10 % off the CPU time per query (bench/RESULTS.md).
class UdpServingThread {
public:
  /// Answers one query; leaves `reply` empty to send nothing (dropped, or
  /// forwarded and answered later by someone else).
  using Handler = std::function<void(std::span<const std::uint8_t> query, const sockaddr_storage& from,
                                     socklen_t from_len, std::vector<std::uint8_t>& reply)>;

  /// Told the errno when the socket can no longer be served and the thread ends.
  using OnDead = std::function<void(int err)>;

  /// Starts serving `fd`, a bound UDP socket in blocking mode that must stay
  /// open until stop() returns. With `busy_poll` above zero, the thread
  /// keeps receiving without blocking for that long after each query before
  /// it sleeps again (ServerOptions::busy_poll).
  UdpServingThread(int fd, Handler handler, std::chrono::microseconds busy_poll = {}, OnDead on_dead = {});
  ~UdpServingThread();
  UdpServingThread(const UdpServingThread&) = delete;
  UdpServingThread& operator=(const UdpServingThread&) = delete;

  /// Wakes the thread (shutdown of the socket's receive side) and joins it.
  void stop();

private:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kMaxQuery = 4096;
  void run();
  /// The next batch: spinning while within busy_poll_ of the last query, then blocking.
  int receive(mmsghdr* msgs);

  int fd_;
  Handler handler_;
  std::chrono::microseconds busy_poll_;
  OnDead on_dead_;
  std::chrono::steady_clock::time_point last_query_;
  std::atomic<bool> stopping_{false};
  // Receive buffers of one batch, off the stack (128 KiB).
  struct Batch {
    std::array<std::array<std::uint8_t, kMaxQuery>, kBatch> bufs;
    std::array<sockaddr_storage, kBatch> addrs;
    std::array<iovec, kBatch> iovs;
    std::array<mmsghdr, kBatch> msgs;
    std::array<UdpReply, kBatch> out;
    std::array<std::vector<std::uint8_t>, kBatch> replies;
  };
  std::unique_ptr<Batch> batch_ = std::make_unique<Batch>();
  UdpReplySender sender_;
  std::thread thread_;
};

}  // namespace berth::net::dns
