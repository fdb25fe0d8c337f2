// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/unique_fd.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

/// One thread that watches every running container's exit descriptor
/// (Containers::exit_fd) with epoll and runs timers (restart backoffs,
/// health checks), instead of a thread blocked in wait() per container.
/// Callbacks run on its thread and must be short (hand work to a pool).
namespace berth::runtime::daemon {

class ExitWatcher {
public:
  using Clock = std::chrono::steady_clock;
  explicit ExitWatcher(std::function<void(const std::string& id)> on_exit);
  ~ExitWatcher();
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

  /// Watches `fd` (readable once `id` has ended); replaces an earlier watch of `id`.
  void watch(const std::string& id, core::UniqueFd fd);
  void unwatch(const std::string& id);
  /// Runs `fn` on the watcher's thread at `when`.
  void at(Clock::time_point when, std::function<void()> fn);

private:
  void loop();
  void wake();
  std::function<void(const std::string&)> on_exit_;
  core::UniqueFd epoll_, wake_;
  std::mutex mutex_;
  std::map<std::string, core::UniqueFd> watched_;
  std::multimap<Clock::time_point, std::function<void()>> timers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::runtime::daemon
