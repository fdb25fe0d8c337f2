// SPDX-License-Identifier: Apache-2.0
#include "berth/core/fs.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <random>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::core {
namespace {

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

std::string temp_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format(".tmp.{}.{:x}", ::getpid(), rng());
}

Result<FileLock> lock(const std::filesystem::path& path, bool wait, auto make) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error(errno, fmt::format("open lock file '{}'", path.string()));
  UniqueFd owned(fd);
  int op = LOCK_EX | (wait ? 0 : LOCK_NB);
  while (::flock(owned.get(), op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK)
      return make_error(Errc::conflict, fmt::format("lock '{}' is held by another process", path.string()));
    return errno_error(errno, fmt::format("lock '{}'", path.string()));
  }
  return make(std::move(owned));
}

}  // namespace

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  const std::string what = fmt::format("write '{}'", path.string());
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::filesystem::path tmp = path;
  tmp += temp_suffix();

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return errno_error(errno, what);
  UniqueFd file(fd);
  auto fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return std::move(e).wrap(what);
  };
  if (::fchmod(file.get(), mode) != 0) return fail(errno_error(errno, "chmod"));  // umask-independent
  if (auto r = write_all(file.get(), data); !r) return fail(r.error());
  if (::fsync(file.get()) != 0) return fail(errno_error(errno, "fsync"));
  file.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno_error(errno, "rename"));

  // The rename is durable only once the directory entry is on disk.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno_error(errno, fmt::format("{}: open directory", what));
  UniqueFd dir_fd(dfd);
  if (::fsync(dir_fd.get()) != 0) return errno_error(errno, fmt::format("{}: fsync directory", what));
  return {};
}

Result<void> write_file(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return errno_error(errno, fmt::format("write '{}'", path.string()));
  if (auto r = write_all(fd.get(), data); !r) return std::move(r).error().wrap(fmt::format("write '{}'", path.string()));
  return {};
}

namespace {

Result<std::string> read_fd(int fd, const std::string& name, std::size_t max) {
  UniqueFd file(fd);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, fmt::format("read '{}'", name));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max) return make_error(Errc::invalid_argument, fmt::format("read '{}': more than {} bytes", name, max));
  }
  return out;
}

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, fmt::format("read '{}'", path.string()));
  return read_fd(fd, path.string(), std::string::npos);
}

Result<std::string> read_file_in_root(const std::filesystem::path& root, const std::filesystem::path& path,
                                      std::size_t max) {
  const std::string name = (root / path.relative_path()).string();
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error(errno, fmt::format("read '{}'", name));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  // Symlinks and ".." resolve as if `root` were "/": never out of it.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  const std::string rel = path.relative_path().string();
  const long fd = ::syscall(SYS_openat2, dir.get(), rel.empty() ? "." : rel.c_str(), &how, sizeof how);
  if (fd < 0) return errno_error(errno, fmt::format("read '{}'", name));
  struct stat st{};
  if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(static_cast<int>(fd));
    return make_error(Errc::invalid_argument, fmt::format("read '{}': not a regular file", name));
  }
  return read_fd(static_cast<int>(fd), name, max);
}

Result<void> make_directories(const std::filesystem::path& path, mode_t mode) {
  std::filesystem::path current;
  for (const auto& part : path) {
    current /= part;
    if (::mkdir(current.c_str(), mode) != 0 && errno != EEXIST)
      return errno_error(errno, fmt::format("create directory '{}'", current.string()));
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, fmt::format("create directory '{}'", path.string()));
  if (!S_ISDIR(st.st_mode))
    return errno_error(ENOTDIR, fmt::format("create directory '{}'", path.string()));
  return {};
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& path) {
  return lock(path, true, [](UniqueFd fd) { return FileLock(std::move(fd)); });
}

Result<FileLock> FileLock::try_acquire(const std::filesystem::path& path) {
  return lock(path, false, [](UniqueFd fd) { return FileLock(std::move(fd)); });
}

}  // namespace berth::core
