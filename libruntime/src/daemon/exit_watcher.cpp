// SPDX-License-Identifier: Apache-2.0
#include "exit_watcher.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vector>

namespace berth::runtime::daemon {

ExitWatcher::ExitWatcher(std::function<void(const std::string&)> on_exit)
    : on_exit_(std::move(on_exit)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { loop(); });
}

ExitWatcher::~ExitWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  thread_.join();
}

void ExitWatcher::wake() {
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void ExitWatcher::watch(const std::string& id, core::UniqueFd fd) {
  if (!fd) return;
  std::lock_guard lock(mutex_);
  if (auto it = watched_.find(id); it != watched_.end()) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.get(), nullptr);
    watched_.erase(it);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev);
  watched_.emplace(id, std::move(fd));
}

void ExitWatcher::unwatch(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto it = watched_.find(id); it != watched_.end()) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.get(), nullptr);
    watched_.erase(it);
  }
}

void ExitWatcher::at(Clock::time_point when, std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    timers_.emplace(when, std::move(fn));
  }
  wake();
}

void ExitWatcher::loop() {
  std::vector<epoll_event> events(64);
  for (;;) {
    int timeout_ms = -1;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (!timers_.empty()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - Clock::now()).count();
        timeout_ms = static_cast<int>(std::max<std::int64_t>(0, std::min<std::int64_t>(left, 60'000)));
      }
    }
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
    std::vector<std::string> ended;
    std::vector<std::function<void()>> due;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      for (int i = 0; i < n; ++i) {
        int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wake_.get()) {
          std::uint64_t v;
          (void)!::read(wake_.get(), &v, sizeof v);
          continue;
        }
        for (auto it = watched_.begin(); it != watched_.end(); ++it) {
          if (it->second.get() != fd) continue;
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
          ended.push_back(it->first);
          watched_.erase(it);
          break;
        }
      }
      const auto now = Clock::now();
      while (!timers_.empty() && timers_.begin()->first <= now) {
        due.push_back(std::move(timers_.begin()->second));
        timers_.erase(timers_.begin());
      }
    }
    for (const auto& id : ended) on_exit_(id);
    for (auto& fn : due) fn();
  }
}

}  // namespace berth::runtime::daemon
