// SPDX-License-Identifier: Apache-2.0
#include "berth/net/link/link_removal.hpp"

#include "berth/core/detach.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/net/link/links.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::net {
namespace {

using Clock = std::chrono::steady_clock;

struct DelLinkRequest {
  nlmsghdr header;
  ifinfomsg link;
};

/// Sends the request and waits for the kernel's answer, which comes only
/// once the kernel has finished with the device; reports a failure (an
/// errno) on `report`. Async-signal-safe calls only (it runs in a forked child too).
void delete_link(const DelLinkRequest& request, int report) {
  auto fail = [&](int err) { (void)!::write(report, &err, sizeof err); };
  int sk = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sk < 0) return fail(errno);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sk, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    fail(errno);
    ::close(sk);
    return;
  }
  alignas(nlmsghdr) char buf[1024];
  ssize_t n = ::recv(sk, buf, sizeof buf, 0);
  ::close(sk);
  if (n < 0) return fail(errno);
  const auto* reply = reinterpret_cast<const nlmsghdr*>(buf);
  if (static_cast<std::size_t>(n) >= NLMSG_LENGTH(sizeof(nlmsgerr)) && reply->nlmsg_type == NLMSG_ERROR) {
    const auto* answer = static_cast<const nlmsgerr*>(NLMSG_DATA(reply));
    if (answer->error != 0) fail(-answer->error);
  }
}

/// True when `buf` holds the kernel's notice that link `index` was deleted.
bool announces_deletion(const char* buf, std::size_t len, int index) {
  for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
    if (h->nlmsg_type == RTM_DELLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg)) &&
        static_cast<const ifinfomsg*>(NLMSG_DATA(h))->ifi_index == index)
      return true;
  return false;
}

bool link_exists(unsigned index) {
  char name[IF_NAMESIZE];
  return ::if_indextoname(index, name) != nullptr;
}

/// One deletion in progress: the request, a socket that hears the kernel's
/// link notices, and the pipe on which the deleter reports a failure.
struct Deletion {
  std::string what;
  unsigned index = 0;
  DelLinkRequest request{};
  core::UniqueFd events, report_read, report_write;
};

/// Everything but the request itself; nullopt when there is no such link.
core::Result<std::optional<Deletion>> prepare(std::string_view name) {
  Deletion d;
  d.what = fmt::format("delete link '{}'", name);
  if (auto v = validate_interface_name(name); !v) return std::move(v).error().wrap(d.what);
  // Listen for the kernel's notice before looking the link up, so it cannot be missed.
  d.events = core::UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!d.events) return core::errno_error(errno, d.what);
  sockaddr_nl groups{};
  groups.nl_family = AF_NETLINK;
  groups.nl_groups = RTMGRP_LINK;
  if (::bind(d.events.get(), reinterpret_cast<sockaddr*>(&groups), sizeof groups) != 0)
    return core::errno_error(errno, d.what);
  d.index = ::if_nametoindex(std::string(name).c_str());
  if (d.index == 0) {
    if (errno == ENODEV || errno == ENXIO) return std::optional<Deletion>();
    return core::errno_error(errno, d.what);
  }
  d.request.header.nlmsg_len = sizeof d.request;
  d.request.header.nlmsg_type = RTM_DELLINK;
  d.request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  d.request.header.nlmsg_seq = 1;
  d.request.link.ifi_family = AF_UNSPEC;
  d.request.link.ifi_index = static_cast<int>(d.index);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return core::errno_error(errno, d.what);
  d.report_read = core::UniqueFd(fds[0]);
  d.report_write = core::UniqueFd(fds[1]);
  return std::optional<Deletion>(std::move(d));
}

/// Waits until the link has left the namespace, the deleter reported a
/// failure, or `timeout` passed. The caller has closed its copy of the
/// report pipe's write end.
core::Result<bool> await_gone(Deletion& d, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  bool reporter_done = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      if (!link_exists(d.index)) return true;
      return core::make_error(core::Errc::timed_out, fmt::format("{}: still there after {} ms", d.what, timeout.count()));
    }
    pollfd fds[2] = {{d.events.get(), POLLIN, 0}, {reporter_done ? -1 : d.report_read.get(), POLLIN, 0}};
    // Wake up now and then to look for ourselves: a notice can be lost when
    // the socket's buffer overflows.
    int ready = ::poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 50)));
    if (ready < 0 && errno != EINTR) return core::errno_error(errno, d.what);
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      int err = 0;
      ssize_t n = ::read(d.report_read.get(), &err, sizeof err);
      if (n == static_cast<ssize_t>(sizeof err) && err != ENODEV) return core::errno_error(err, d.what);
      // ENODEV: someone else deleted it first. End of file: the kernel has
      // finished with the device and the deleter is gone.
      reporter_done = true;
      if (!link_exists(d.index)) return true;
    }
    if (fds[0].revents & POLLIN) {
      alignas(nlmsghdr) char buf[8192];
      ssize_t n = ::recv(d.events.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0 && announces_deletion(buf, static_cast<std::size_t>(n), static_cast<int>(d.index))) return true;
      if (n < 0 && errno == ENOBUFS && !link_exists(d.index)) return true;
    }
    if (ready == 0 && !link_exists(d.index)) return true;
  }
}

}  // namespace

core::Result<bool> remove_link_detached(std::string_view name, std::chrono::milliseconds timeout) {
  auto prepared = prepare(name);
  if (!prepared) return prepared.error();
  if (!*prepared) return false;
  Deletion& d = **prepared;
  const int keep = d.report_write.get();
  const DelLinkRequest& request = d.request;
  auto started = core::run_in_detached_child([keep, &request] {
    // None of the caller's descriptors (its stdout is a runtime's pipe).
    if (keep > 0) ::close_range(0, static_cast<unsigned>(keep - 1), 0);
    ::close_range(static_cast<unsigned>(keep + 1), UINT_MAX, 0);
    delete_link(request, keep);
  });
  if (!started) return std::move(started).error().wrap(d.what);
  d.report_write.reset();
  return await_gone(d, timeout);
}

LinkReaper::~LinkReaper() {
  for (auto& w : waiters_) w.thread.join();
}

core::Result<bool> LinkReaper::remove(std::string_view name, std::chrono::milliseconds timeout) {
  std::erase_if(waiters_, [](Waiter& w) {
    if (!w.done->load()) return false;
    w.thread.join();
    return true;
  });
  auto prepared = prepare(name);
  if (!prepared) return prepared.error();
  if (!*prepared) return false;
  Deletion& d = **prepared;
  // The thread is made in the caller's thread's namespace, so its socket is too.
  auto done = std::make_shared<std::atomic<bool>>(false);
  waiters_.push_back({std::thread([request = d.request, report = d.report_write.release(), done] {
                        delete_link(request, report);
                        ::close(report);
                        done->store(true);
                      }),
                      done});
  return await_gone(d, timeout);
}

}  // namespace berth::net
