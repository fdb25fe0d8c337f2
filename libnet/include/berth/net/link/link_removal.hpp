// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace berth::net {

// Deleting a veth takes the kernel ~20 ms, almost all of it after the
// device is already gone from its namespace, its bridge and every listing:
// the kernel then waits for RCU grace periods before it frees the device.
// Nobody can observe that wait, so berth does not make its caller sit
// through it: the request is sent from another thread or process, and the
// caller goes on once the kernel announces the deletion (RTM_DELLINK).

/// Deletes the link `name` of the calling thread's network namespace and
/// returns once the kernel has unregistered it, leaving the kernel's last
/// wait to a detached child process that holds none of the caller's
/// descriptors. For a process that exits right after, such as a CNI
/// plugin's DEL: a thread would keep it alive through that wait, and a
/// runtime reading its output would wait too. Returns false when there was
/// no such link. Safe in a multi-threaded process: the child makes only
/// async-signal-safe calls.
[[nodiscard]] core::Result<bool> remove_link_detached(std::string_view name,
                                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// The same for a long-running process: each deletion's last wait runs on a
/// thread of its own, joined by the destructor. Not thread-safe.
class LinkReaper {
public:
  LinkReaper() = default;
  LinkReaper(const LinkReaper&) = delete;
  LinkReaper& operator=(const LinkReaper&) = delete;
  ~LinkReaper();

  /// Deletes `name` in the calling thread's network namespace; returns once
  /// it is gone from there, false when there was no such link.
  [[nodiscard]] core::Result<bool> remove(std::string_view name,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

private:
  struct Waiter {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Waiter> waiters_;
};

}  // namespace berth::net
