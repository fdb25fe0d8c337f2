// SPDX-License-Identifier: Apache-2.0
#include "dns/udp_replies.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <netinet/in.h>
#include <netinet/udp.h>

namespace berth::net::dns {
namespace {

/// The kernel's limits for one GSO message (UDP_MAX_SEGMENTS, and the
/// largest UDP payload of one IP packet, with room for the IPv6 header).
constexpr std::size_t kMaxSegments = 64;
constexpr std::size_t kMaxGsoBytes = 65000;

}  // namespace

bool UdpReplySender::same_group(const UdpReply& a, const UdpReply& b) const {
  return a.size == b.size && a.to_len == b.to_len && std::memcmp(a.to, b.to, a.to_len) == 0;
}

void UdpReplySender::send(int fd, std::span<const UdpReply> replies) {
  if (replies.size() > kMaxBatch) replies = replies.first(kMaxBatch);
  const bool gso = !no_gso_.contains(fd);

  // Which group each answer joins (the first with the same client and
  // size that has room), then the groups laid out one after the other.
  std::array<std::size_t, kMaxBatch> group_of{};
  group_count_ = 0;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    std::size_t g = 0;
    if (gso)
      for (; g < group_count_; ++g) {
        const UdpReply& head = replies[groups_[g].first];
        if (same_group(head, replies[i]) && groups_[g].count < kMaxSegments &&
            (groups_[g].count + 1) * head.size <= kMaxGsoBytes)
          break;
      }
    if (!gso || g == group_count_) {
      g = group_count_++;
      groups_[g] = {i, 0};  // `first` holds the head's index until the layout below
    }
    group_of[i] = g;
    ++groups_[g].count;
  }
  std::size_t next = 0;
  for (std::size_t g = 0; g < group_count_; ++g) {
    groups_[g].first = next;
    next += groups_[g].count;
  }
  std::array<std::size_t, kMaxBatch> filled{};
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const std::size_t g = group_of[i];
    order_[groups_[g].first + filled[g]++] = i;
  }

  for (std::size_t g = 0; g < group_count_; ++g) {
    const Group& group = groups_[g];
    for (std::size_t k = 0; k < group.count; ++k) {
      const UdpReply& r = replies[order_[group.first + k]];
      iovs_[group.first + k] = {const_cast<std::uint8_t*>(r.data), r.size};
    }
    const UdpReply& head = replies[order_[group.first]];
    mmsghdr& m = msgs_[g];
    m = {};
    m.msg_hdr.msg_name = const_cast<sockaddr_storage*>(head.to);
    m.msg_hdr.msg_namelen = head.to_len;
    m.msg_hdr.msg_iov = &iovs_[group.first];
    m.msg_hdr.msg_iovlen = group.count;
    if (group.count > 1) {
      m.msg_hdr.msg_control = controls_[g].bytes;
      m.msg_hdr.msg_controllen = sizeof controls_[g].bytes;
      cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto segment = static_cast<std::uint16_t>(head.size);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
  }

  for (std::size_t k = 0; k < group_count_;) {
    int sent = ::sendmmsg(fd, &msgs_[k], static_cast<unsigned>(group_count_ - k), MSG_DONTWAIT);
    if (sent > 0) {
      k += static_cast<std::size_t>(sent);
      continue;
    }
    const int err = errno;
    if (sent < 0 && err == EINTR) continue;
    const bool refused_gso = groups_[k].count > 1 && (err == EIO || err == EINVAL || err == ENOPROTOOPT ||
                                                      err == EOPNOTSUPP);
    if (!refused_gso) {
      ++k;  // dropped, as a full socket buffer would drop it
      continue;
    }
    // This kernel or route cannot segment: everything left goes one by one.
    no_gso_.insert(fd);
    std::vector<UdpReply> rest;
    for (std::size_t g = k; g < group_count_; ++g)
      for (std::size_t j = 0; j < groups_[g].count; ++j) rest.push_back(replies[order_[groups_[g].first + j]]);
    send(fd, rest);
    return;
  }
}

}  // namespace berth::net::dns
