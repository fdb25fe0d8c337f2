// SPDX-License-Identifier: Apache-2.0
#include "health_probe.hpp"

#include "berth/core/netns.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/net/sockaddr.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::runtime::daemon {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/// A connected TCP socket made in `netns`, or why not (within the deadline).
core::Result<core::UniqueFd> connect_in(const std::filesystem::path& netns, const net::IpAddress& address, int port,
                                        Clock::time_point deadline) {
  const std::string what = fmt::format("connect to {}:{}", address.to_string(), port);
  // The socket is born in the container's namespace and stays bound to it;
  // the rest happens on this thread, which never leaves its own.
  auto made = core::run_in_netns(netns, [&]() -> core::Result<core::UniqueFd> {
    core::UniqueFd fd(::socket(address.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return core::errno_error(errno, "socket");
    return fd;
  });
  if (!made) return std::move(made).error().wrap(what);
  const auto sa = net::to_sockaddr(address, static_cast<std::uint16_t>(port));
  if (::connect(made->get(), reinterpret_cast<const sockaddr*>(&sa.ss), sa.len) != 0 && errno != EINPROGRESS)
    return core::errno_error(errno, what);
  pollfd p{made->get(), POLLOUT, 0};
  int n;
  do n = ::poll(&p, 1, remaining_ms(deadline));
  while (n < 0 && errno == EINTR);
  if (n == 0) return core::make_error(core::Errc::timed_out, fmt::format("{}: timed out", what));
  int err = 0;
  socklen_t len = sizeof err;
  if (n < 0 || ::getsockopt(made->get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return core::errno_error(errno, what);
  if (err != 0) return core::errno_error(err, what);
  return std::move(*made);
}

ProbeResult failed(std::int64_t start, std::string why) {
  return {.start_ms = start, .end_ms = now_ms(), .exit_code = 1, .output = std::move(why)};
}

}  // namespace

ProbeResult probe_tcp(const std::filesystem::path& netns, const net::IpAddress& address, int port,
                      std::chrono::milliseconds timeout) {
  const auto start = now_ms();
  auto fd = connect_in(netns, address, port, Clock::now() + timeout);
  if (!fd) return failed(start, fd.error().message());
  return {.start_ms = start, .end_ms = now_ms(), .exit_code = 0,
          .output = fmt::format("connected to {}:{}", address.to_string(), port)};
}

std::optional<int> http_status(std::string_view head) {
  if (!head.starts_with("HTTP/1.") || head.size() < 12 || head[8] != ' ') return std::nullopt;
  int code = 0;
  auto [end, ec] = std::from_chars(head.data() + 9, head.data() + 12, code);
  if (ec != std::errc() || end != head.data() + 12 || code < 100 || code > 599) return std::nullopt;
  if (head.size() > 12 && head[12] != ' ' && head[12] != '\r') return std::nullopt;
  return code;
}

ProbeResult probe_http(const std::filesystem::path& netns, const net::IpAddress& container, const HealthUrl& url,
                       std::chrono::milliseconds timeout) {
  const auto start = now_ms();
  const auto deadline = Clock::now() + timeout;
  net::IpAddress address = container;
  if (!url.host.empty()) {
    auto a = net::parse_address(url.host);
    if (!a) return failed(start, a.error().message());
    address = *a;
  }
  auto fd = connect_in(netns, address, url.port, deadline);
  if (!fd) return failed(start, fd.error().message());
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: berth-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
      url.path, host, url.port);
  std::size_t sent = 0;
  std::string head;
  // Only the status line matters: read until it is whole, or 4 KiB, or the end.
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    pollfd p{fd->get(), static_cast<short>(sent < request.size() ? POLLOUT : POLLIN), 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return failed(start, fmt::format("GET {}: no answer within {} ms", url.path, timeout.count()));
    if (n < 0) return failed(start, fmt::format("GET {}: {}", url.path, std::strerror(errno)));
    if (sent < request.size()) {
      auto w = ::send(fd->get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        return failed(start, fmt::format("GET {}: {}", url.path, std::strerror(errno)));
      if (w > 0) sent += static_cast<std::size_t>(w);
      continue;
    }
    char buf[1024];
    auto r = ::recv(fd->get(), buf, sizeof buf, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r < 0) return failed(start, fmt::format("GET {}: {}", url.path, std::strerror(errno)));
    if (r == 0) break;
    head.append(buf, static_cast<std::size_t>(r));
  }
  auto code = http_status(head);
  if (!code) return failed(start, fmt::format("GET {}: the answer is not HTTP", url.path));
  const bool ok = *code >= 200 && *code < 400;
  return {.start_ms = start, .end_ms = now_ms(), .exit_code = ok ? 0 : 1,
          .output = fmt::format("GET {}: HTTP {}", url.path, *code)};
}

}  // namespace berth::runtime::daemon
