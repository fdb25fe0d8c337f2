// SPDX-License-Identifier: Apache-2.0
// Boost.Beast could speak HTTP here, but three requests with HTTP/1.0 and
// "read to the end" need only a status line and a header/body split; the
// parser is small, defensive and fuzzed (tests/fuzz/http_reply_fuzz.cpp).
#include "berth/instance/docker_api.hpp"

#include "berth/core/unique_fd.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace berth::instance {
namespace {

using Clock = std::chrono::steady_clock;

core::Result<void> wait_ready(int fd, short events, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return core::make_error(core::Errc::timed_out, what + ": no answer in time");
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return {};
    if (r < 0 && errno != EINTR) return core::errno_error(errno, what);
  }
}

/// The address of a unix socket path (which must fit sun_path).
core::Result<sockaddr_un> unix_address(const std::filesystem::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof addr.sun_path)
    return core::make_error(core::Errc::invalid_argument, path + ": socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

core::Result<HttpReply> parse_http_reply(std::string_view raw) {
  auto bad = [](std::string what) { return core::make_error(core::Errc::protocol, "docker API reply: " + what); };
  if (!raw.starts_with("HTTP/1.")) return bad("no HTTP status line");
  const auto line_end = raw.find("\r\n");
  if (line_end == std::string_view::npos) return bad("status line without end");
  const std::string_view line = raw.substr(0, line_end);
  const auto space = line.find(' ');
  if (space == std::string_view::npos || line.size() < space + 4) return bad("status line without a code");
  int status = 0;
  const char* first = line.data() + space + 1;
  auto [ptr, ec] = std::from_chars(first, first + 3, status);
  if (ec != std::errc{} || ptr != first + 3 || status < 100 || status > 599) return bad("status code is not a number");
  const auto headers_end = raw.find("\r\n\r\n", line_end);
  if (headers_end == std::string_view::npos) return bad("headers without end");
  return HttpReply{status, std::string(raw.substr(headers_end + 4))};
}

core::Result<std::vector<std::string>> parse_container_list(std::string_view body) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_array()) return core::make_error(core::Errc::protocol, "list containers: not a JSON array");
  std::vector<std::string> ids;
  for (const auto& c : doc.as_array()) {
    const auto* o = c.if_object();
    const auto* id = o ? o->if_contains("Id") : nullptr;
    if (id && id->is_string() && is_valid_id(id->as_string())) ids.emplace_back(id->as_string());
  }
  return ids;
}

core::Result<HttpReply> docker_request(const std::filesystem::path& socket, std::string_view method,
                                       std::string_view target, std::chrono::milliseconds timeout) {
  const std::string what = fmt::format("{} {} on '{}'", method, target, socket.string());
  const auto deadline = Clock::now() + timeout;
  auto addr = unix_address(socket);
  if (!addr) return std::move(addr).error().wrap(what);
  core::UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (!fd) return core::errno_error(errno, what);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0 && errno != EINPROGRESS)
    return core::errno_error(errno, what);
  const std::string request = fmt::format("{} {} HTTP/1.0\r\nHost: docker\r\n\r\n", method, target);
  std::size_t sent = 0;
  while (sent < request.size()) {
    BERTH_TRY(wait_ready(fd.get(), POLLOUT, deadline, what), "send");
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return core::errno_error(errno, what);
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    BERTH_TRY(wait_ready(fd.get(), POLLIN, deadline, what), "receive");
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return core::errno_error(errno, what);
    }
    raw.append(buf, static_cast<std::size_t>(n));
    if (raw.size() > (64u << 20)) return core::make_error(core::Errc::protocol, what + ": reply over 64 MiB");
  }
  auto reply = parse_http_reply(raw);
  if (!reply) return std::move(reply).error().wrap(what);
  return reply;
}

bool accepts_connections(const std::filesystem::path& socket) {
  auto addr = unix_address(socket);
  if (!addr) return false;
  core::UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0;
}

bool docker_answers(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
  auto r = docker_request(socket, "GET", "/_ping", timeout);
  return r && r->status == 200 && r->body == "OK";
}

core::Result<std::vector<std::string>> list_containers(const std::filesystem::path& socket) {
  auto r = docker_request(socket, "GET", "/containers/json?all=1", std::chrono::seconds(10));
  if (!r) return std::move(r).error();
  if (r->status != 200)
    return core::make_error(core::Errc::protocol, fmt::format("list containers: HTTP {}", r->status));
  return parse_container_list(r->body);
}

core::Result<void> remove_container(const std::filesystem::path& socket, std::string_view id) {
  if (!is_valid_id(id)) return core::make_error(core::Errc::invalid_argument, "container id is not hexadecimal");
  auto r = docker_request(socket, "DELETE", fmt::format("/containers/{}?force=1&v=1", id), std::chrono::seconds(60));
  if (!r) return std::move(r).error();
  if (r->status != 204 && r->status != 404)
    return core::make_error(core::Errc::protocol, fmt::format("remove container {}: HTTP {}", id, r->status));
  return {};
}

}  // namespace berth::instance
