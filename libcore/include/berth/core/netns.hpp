// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>

namespace berth::core {

/// Opens a network namespace file (/run/netns/NAME, /proc/PID/ns/net) and
/// checks that it is one.
[[nodiscard]] Result<UniqueFd> open_netns(const std::filesystem::path& path);

namespace detail {
/// Runs `fn` on a new thread that has entered the namespace `ns_fd`.
/// setns(CLONE_NEWNET) changes only the calling thread, so the namespace never
/// leaks into the caller's (or an Asio) thread; the thread ends with `fn`.
Result<void> run_on_netns_thread(int ns_fd, const std::function<void()>& fn);
}  // namespace detail

/// Runs `fn` inside the network namespace at `path` on a dedicated thread and
/// returns its result. Children started from `fn` (see core::run) are born in
/// that namespace; sockets created in `fn` stay bound to it.
template <class F>
auto run_in_netns(const std::filesystem::path& path, F&& fn) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  auto fd = open_netns(path);
  if (!fd) return fd.error();
  std::optional<R> out;
  auto entered = detail::run_on_netns_thread(fd->get(), [&] { out.emplace(fn()); });
  if (!entered) return entered.error();
  return std::move(*out);
}

/// A named network namespace: a new, empty namespace kept alive by a bind
/// mount at `path` (as `ip netns add` does under /run/netns). Not thread-safe.
class NetnsFile {
public:
  /// Creates a namespace at `path`; an existing file there is `already_exists`.
  [[nodiscard]] static Result<NetnsFile> create(const std::filesystem::path& path);
  /// Unmounts and deletes a namespace file; a missing one is not an error.
  [[nodiscard]] static Result<void> remove(const std::filesystem::path& path);

  NetnsFile(NetnsFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  NetnsFile& operator=(NetnsFile&& other) noexcept;
  NetnsFile(const NetnsFile&) = delete;
  NetnsFile& operator=(const NetnsFile&) = delete;
  /// Removes the namespace (errors are dropped; call `remove` to see them).
  ~NetnsFile();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Keeps the namespace after this object dies.
  std::filesystem::path release() noexcept { return std::exchange(path_, {}); }

private:
  explicit NetnsFile(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

}  // namespace berth::core
