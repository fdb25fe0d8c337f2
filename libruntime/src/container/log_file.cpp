// SPDX-License-Identifier: Apache-2.0
#include "container/log_file.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::runtime::container {

LogFile::LogFile(std::filesystem::path path, std::int64_t max_size, unsigned max_files)
    : path_(std::move(path)), max_size_(max_size), max_files_(max_files == 0 ? 1 : max_files) {}

bool LogFile::open() {
  fd_ = core::UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd_) return false;
  struct stat st {};
  size_ = ::fstat(fd_.get(), &st) == 0 ? st.st_size : 0;
  return true;
}

void LogFile::rotate() {
  auto numbered = [&](unsigned n) {
    std::filesystem::path p = path_;
    p += "." + std::to_string(n);
    return p;
  };
  if (max_files_ == 1) {
    // Nothing kept: the one file starts again.
    if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
    return;
  }
  ::unlink(numbered(max_files_ - 1).c_str());
  for (unsigned n = max_files_ - 1; n > 1; --n) ::rename(numbered(n - 1).c_str(), numbered(n).c_str());
  ::rename(path_.c_str(), numbered(1).c_str());
  core::UniqueFd fresh(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fresh) return;  // goes on in the renamed file rather than nowhere
  fd_ = std::move(fresh);
  size_ = 0;
}

void LogFile::write(std::string_view record) {
  if (!fd_) return;
  if (max_size_ > 0 && size_ > 0 && size_ + static_cast<std::int64_t>(record.size()) > max_size_) rotate();
  while (!record.empty()) {
    const ssize_t n = ::write(fd_.get(), record.data(), record.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    size_ += n;
    record.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace berth::runtime::container
