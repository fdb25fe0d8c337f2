// SPDX-License-Identifier: Apache-2.0
#include "berth/core/netns.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace berth::core {
namespace {

/// Runs `body` on a fresh thread and returns what it returned.
Result<void> on_thread(const std::function<Result<void>()>& body) {
  Result<void> r;
  std::thread t([&] { r = body(); });
  t.join();
  return r;
}

}  // namespace

Result<UniqueFd> open_netns(const std::filesystem::path& path) {
  const std::string what = fmt::format("open network namespace '{}'", path.string());
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, what);
  UniqueFd owned(fd);
  struct statfs fs{};
  if (::fstatfs(owned.get(), &fs) != 0) return errno_error(errno, what);
  // A namespace file is either nsfs itself or a bind mount of it.
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC && static_cast<unsigned long>(fs.f_type) != PROC_SUPER_MAGIC)
    return make_error(Errc::invalid_argument, fmt::format("{}: not a namespace file", what));
  return owned;
}

namespace detail {
Result<void> run_on_netns_thread(int ns_fd, const std::function<void()>& fn) {
  return on_thread([&]() -> Result<void> {
    if (::setns(ns_fd, CLONE_NEWNET) != 0) return errno_error(errno, "enter network namespace");
    fn();
    return {};
  });
}
}  // namespace detail

Result<NetnsFile> NetnsFile::create(const std::filesystem::path& path) {
  const std::string what = fmt::format("create network namespace '{}'", path.string());
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) {
    if (errno == EEXIST) return make_error(Errc::already_exists, fmt::format("{}: already exists", what));
    return errno_error(errno, what);
  }
  ::close(fd);
  auto made = on_thread([&]() -> Result<void> {
    if (::unshare(CLONE_NEWNET) != 0) return errno_error(errno, "unshare");
    std::string self = fmt::format("/proc/self/task/{}/ns/net", ::syscall(SYS_gettid));
    if (::mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return errno_error(errno, "bind mount");
    return {};
  });
  if (!made) {
    ::unlink(path.c_str());
    return std::move(made).error().wrap(what);
  }
  return NetnsFile(path);
}

Result<void> NetnsFile::remove(const std::filesystem::path& path) {
  const std::string what = fmt::format("remove network namespace '{}'", path.string());
  // MNT_DETACH: a process still inside keeps the namespace alive, but the name goes.
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return errno_error(errno, what);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error(errno, what);
  return {};
}

NetnsFile& NetnsFile::operator=(NetnsFile&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)remove(path_);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

NetnsFile::~NetnsFile() {
  if (!path_.empty()) (void)remove(path_);
}

}  // namespace berth::core
