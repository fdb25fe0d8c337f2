// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>

#include <sys/socket.h>

namespace berth::net::dns {

/// One UDP answer to send.
struct UdpReply {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  const sockaddr_storage* to = nullptr;
  socklen_t to_len = 0;
};

/// Sends a batch of UDP answers in one sendmmsg, with as few trips through
/// the kernel's network stack as it can: answers of the same size to the
/// same client (a resolver or a load generator sending many queries at
/// once) go out as one UDP GSO message (UDP_SEGMENT), which the kernel
/// splits into the same separate datagrams, on the way out or at the
/// receiving socket. Most of a small UDP answer's cost is the kernel's, and
/// this pays it once per group instead of once per answer. A socket whose
/// route or kernel refuses GSO gets one datagram per answer from then on.
/// Not thread-safe.
class UdpReplySender {
public:
  static constexpr std::size_t kMaxBatch = 64;

  /// Sends `replies` (at most kMaxBatch) on `fd`; best effort, as UDP is.
  void send(int fd, std::span<const UdpReply> replies);

  /// How many messages the last send() handed to the kernel (a GSO group is one).
  [[nodiscard]] std::size_t messages_in_last_send() const { return group_count_; }

  /// Whether `fd` has fallen back to one datagram per answer.
  [[nodiscard]] bool gso_refused(int fd) const { return no_gso_.contains(fd); }

private:
  struct Group {
    std::size_t first = 0;  // index into order_
    std::size_t count = 0;
  };
  bool same_group(const UdpReply& a, const UdpReply& b) const;

  std::set<int> no_gso_;
  std::array<std::size_t, kMaxBatch> order_{};  // reply indices, grouped
  std::array<Group, kMaxBatch> groups_{};
  std::array<iovec, kMaxBatch> iovs_{};
  std::array<mmsghdr, kMaxBatch> msgs_{};
  struct alignas(cmsghdr) Control {
    std::uint8_t bytes[CMSG_SPACE(sizeof(std::uint16_t))];
  };
  std::array<Control, kMaxBatch> controls_{};
  std::size_t group_count_ = 0;
};

}  // namespace berth::net::dns
