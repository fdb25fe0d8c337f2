// SPDX-License-Identifier: Apache-2.0
#include "link/sysctl.hpp"

#include "berth/core/unique_fd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace berth::net {

core::Result<void> write_sysctl(std::string_view path, std::string_view value) {
  const std::string file = fmt::format("/proc/sys/{}", path);
  const std::string what = fmt::format("set sysctl '{}' to {}", path, value);
  core::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return core::errno_error(errno, what);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return core::errno_error(errno, what);
  return {};
}

bool sysctl_exists(std::string_view path) { return ::access(fmt::format("/proc/sys/{}", path).c_str(), F_OK) == 0; }

core::Result<SysctlDir> SysctlDir::open(std::string_view path) {
  const std::string dir = fmt::format("/proc/sys/{}", path);
  core::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return core::errno_error(errno, fmt::format("open sysctl directory '{}'", path));
  return SysctlDir(std::move(fd), std::string(path));
}

core::Result<void> SysctlDir::write(std::string_view relative, std::string_view value) const {
  const std::string rel(relative);
  const std::string what = fmt::format("set sysctl '{}/{}' to {}", path_, relative, value);
  core::UniqueFd fd(::openat(fd_.get(), rel.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return core::errno_error(errno, what);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return core::errno_error(errno, what);
  return {};
}

}  // namespace berth::net
