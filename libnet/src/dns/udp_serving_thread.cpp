// SPDX-License-Identifier: Apache-2.0
#include "dns/udp_serving_thread.hpp"

#include <cerrno>
#include <cstring>

namespace berth::net::dns {

UdpServingThread::UdpServingThread(int fd, Handler handler, std::chrono::microseconds busy_poll, OnDead on_dead)
    : fd_(fd), handler_(std::move(handler)), busy_poll_(busy_poll), on_dead_(std::move(on_dead)) {
  thread_ = std::thread([this] { run(); });
}

UdpServingThread::~UdpServingThread() { stop(); }

void UdpServingThread::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  // Shutting down the receive side wakes a blocked recvmmsg, and every
  // later one returns at once (Linux does this for unconnected UDP too,
  // though shutdown() itself reports ENOTCONN).
  ::shutdown(fd_, SHUT_RD);
  thread_.join();
}

int UdpServingThread::receive(mmsghdr* msgs) {
  using Clock = std::chrono::steady_clock;
  if (busy_poll_.count() > 0) {
    // A receive that does not sleep, again and again, until a query comes
    // or busy_poll_ has passed since the last one, or stop() is called (a
    // receive that does not wait may go on saying EAGAIN after shutdown).
    while (Clock::now() - last_query_ < busy_poll_ && !stopping_.load(std::memory_order_relaxed)) {
      const int n = ::recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n > 0) {
        last_query_ = Clock::now();
        return n;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return n;
    }
  }
  const int n = ::recvmmsg(fd_, msgs, kBatch, MSG_WAITFORONE, nullptr);
  if (n > 0 && busy_poll_.count() > 0) last_query_ = Clock::now();
  return n;
}

void UdpServingThread::run() {
  Batch& b = *batch_;
  while (!stopping_.load(std::memory_order_relaxed)) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      b.iovs[i] = {b.bufs[i].data(), kMaxQuery};
      b.msgs[i] = {};
      b.msgs[i].msg_hdr.msg_iov = &b.iovs[i];
      b.msgs[i].msg_hdr.msg_iovlen = 1;
      b.msgs[i].msg_hdr.msg_name = &b.addrs[i];
      b.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    const int n = receive(b.msgs.data());
    if (n <= 0) {
      // Only a socket that is no longer usable ends the thread; anything
      // else (a signal, memory pressure, an error queued by ICMP) is passing.
      if (n < 0 && (errno == EBADF || errno == ENOTSOCK || errno == EINVAL || errno == EFAULT)) {
        const int err = errno;
        if (!stopping_.load(std::memory_order_relaxed) && on_dead_) on_dead_(err);
        return;
      }
      continue;
    }
    std::size_t m = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      b.replies[i].clear();
      handler_(std::span<const std::uint8_t>(b.bufs[i].data(), b.msgs[i].msg_len), b.addrs[i],
               b.msgs[i].msg_hdr.msg_namelen, b.replies[i]);
      if (b.replies[i].empty()) continue;
      b.out[m++] = {b.replies[i].data(), b.replies[i].size(), &b.addrs[i], b.msgs[i].msg_hdr.msg_namelen};
    }
    if (m > 0) sender_.send(fd_, std::span(b.out.data(), m));
  }
}

}  // namespace berth::net::dns
