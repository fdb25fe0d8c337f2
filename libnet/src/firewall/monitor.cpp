// SPDX-License-Identifier: Apache-2.0
// nf_tables announces every object change of a transaction to the
// NFNLGRP_NFTABLES group, then a NEWGEN message naming the process that
// committed it; a change we made ourselves is recognised by that pid.
#include "firewall/monitor.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::net {

bool scan_events(std::span<const char> messages, std::string_view table, std::uint32_t self_pid, bool& touched) {
  bool foreign_commit = false;
  // Messages are walked by hand: libmnl's mnl_nlmsg_ok compares the length
  // as a signed int, so a length of 0xffffffff passes and then never advances.
  std::size_t offset = 0;
  for (std::size_t step = 0; offset + sizeof(nlmsghdr) <= messages.size(); offset += step) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(messages.data() + offset);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > messages.size() - offset) break;
    step = std::min<std::size_t>(MNL_ALIGN(nlh->nlmsg_len), messages.size() - offset);
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) continue;
    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) continue;
    const int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
    const nlattr* first = nullptr;
    std::uint32_t pid = 0;
    // libmnl's mnl_attr_for_each macro does not compile as C++.
    auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
         mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
      if (!first) first = attr;
      if (type == NFT_MSG_NEWGEN && mnl_attr_get_type(attr) == NFTA_GEN_PROC_PID &&
          mnl_attr_get_payload_len(attr) >= sizeof(std::uint32_t))
        pid = ntohl(mnl_attr_get_u32(attr));
    }
    if (type == NFT_MSG_NEWGEN) {
      if (touched && pid != self_pid) foreign_commit = true;
      else touched = false;
      continue;
    }
    // Every object message names its table first (NFTA_*_TABLE is attribute 1).
    if (first && mnl_attr_get_type(first) == 1 && mnl_attr_get_payload_len(first) > 0) {
      auto* name = static_cast<const char*>(mnl_attr_get_payload(first));
      const std::string_view value(name, ::strnlen(name, mnl_attr_get_payload_len(first)));
      if (value == table) touched = true;
    }
  }
  return foreign_commit;
}

core::Result<std::unique_ptr<TableMonitor>> TableMonitor::start(nft::Socket events, std::string table,
                                                                std::function<void()> on_foreign_change) {
  core::UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) return core::errno_error(errno, "monitor: eventfd");
  auto m = std::unique_ptr<TableMonitor>(
      new TableMonitor(std::move(events), std::move(table), std::move(on_foreign_change), std::move(stop)));
  m->thread_ = std::thread([raw = m.get()] { raw->run(); });
  return m;
}

TableMonitor::TableMonitor(nft::Socket events, std::string table, std::function<void()> on_change,
                           core::UniqueFd stop)
    : events_(std::move(events)), table_(std::move(table)), on_change_(std::move(on_change)), stop_(std::move(stop)) {}

TableMonitor::~TableMonitor() {
  std::uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void TableMonitor::run() {
  std::vector<char> buf(1 << 16);
  bool touched = false;
  const auto self = static_cast<std::uint32_t>(::getpid());
  for (;;) {
    pollfd fds[2] = {{events_.fd(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    ssize_t len = ::recv(events_.fd(), buf.data(), buf.size(), 0);
    bool foreign_commit = false;
    if (len < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno != ENOBUFS) return;
      foreign_commit = true;  // events were lost: look anyway
    } else {
      foreign_commit = scan_events(std::span(buf.data(), static_cast<std::size_t>(len)), table_, self, touched);
    }
    if (!foreign_commit) continue;
    touched = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let a burst of commits settle
    on_change_();
  }
}

}  // namespace berth::net
