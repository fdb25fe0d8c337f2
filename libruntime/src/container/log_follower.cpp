// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/container/log_follower.hpp"

#include "berth/core/fs.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::runtime::container {

using core::Result;

namespace {

/// Parses whole lines of `text` into `out`; what follows the last newline stays in `text`.
Result<void> take_lines(std::string& text, std::vector<LogEntry>& out, const std::filesystem::path& file) {
  std::size_t start = 0;
  for (;;) {
    const auto nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    auto e = parse_log_line(std::string_view(text).substr(start, nl - start));
    if (!e) return std::move(e).error().wrap(fmt::format("read log '{}'", file.string()));
    out.push_back(std::move(*e));
    start = nl + 1;
  }
  text.erase(0, start);
  return {};
}

}  // namespace

Result<LogFollower> LogFollower::open(const std::filesystem::path& path, unsigned max_files,
                                      std::optional<std::size_t> tail, std::vector<LogEntry>& initial) {
  LogFollower f;
  f.path_ = path;
  // The current file first: whatever is rotated after this is read through
  // this descriptor, so nothing is read twice or missed.
  f.fd_ = core::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd_) return core::errno_error(errno, fmt::format("read log '{}'", path.string()));
  std::vector<LogEntry> all;
  for (unsigned n = max_files > 1 ? max_files - 1 : 0; n > 0; --n) {
    auto text = core::read_file(path.string() + "." + std::to_string(n));
    if (!text) continue;
    if (auto r = take_lines(*text, all, path.string() + "." + std::to_string(n)); !r) return r.error();
  }
  if (auto r = f.read_more(all); !r) return r.error();
  if (tail && all.size() > *tail) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(*tail));
  initial = std::move(all);
  return f;
}

Result<void> LogFollower::read_more(std::vector<LogEntry>& out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::errno_error(errno, fmt::format("read log '{}'", path_.string()));
    if (n == 0) break;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
  return take_lines(pending_, out, path_);
}

Result<std::vector<LogEntry>> LogFollower::poll() {
  std::vector<LogEntry> out;
  if (auto r = read_more(out); !r) return r.error();
  if (!out.empty()) return out;
  // Nothing new: has the file been rotated away from under this descriptor?
  struct stat now{}, mine{};
  if (::stat(path_.c_str(), &now) != 0 || ::fstat(fd_.get(), &mine) != 0) return out;
  if (now.st_ino == mine.st_ino && now.st_dev == mine.st_dev) return out;
  core::UniqueFd next(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!next) return out;  // between the rename and the new file: next time
  if (auto r = read_more(out); !r) return r.error();  // the old file's last lines
  pending_.clear();
  fd_ = std::move(next);
  if (auto r = read_more(out); !r) return r.error();
  return out;
}

}  // namespace berth::runtime::container
