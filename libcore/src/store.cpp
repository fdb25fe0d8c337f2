// SPDX-License-Identifier: Apache-2.0
#include "berth/core/store.hpp"

#include "berth/core/names.hpp"
#include "berth/core/unique_fd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::core {
namespace {

/// write_file_atomic writes "<name>.tmp.<pid>.<random>" and renames it.
constexpr std::string_view kTemporaryMark = ".tmp.";

FileStamp stamp(const struct stat& st) {
  return {st.st_ino, st.st_size, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace

Result<void> RecordStore::check_name(std::string_view name) const {
  if (!is_plain_name(name, 255) || name.find(kTemporaryMark) != std::string_view::npos)
    return make_error(Errc::invalid_argument,
                      fmt::format("record name '{}' in '{}' is not a plain file name", name, dir_.string()));
  return {};
}

Result<void> RecordStore::create() const { return make_directories(dir_, modes_.directory); }

Result<FileLock> RecordStore::lock(std::string_view lock_name) const {
  // Not a record, so a hidden name (".lock") is fine; only a path is not.
  if (lock_name.empty() || lock_name.find('/') != std::string_view::npos || lock_name == "." || lock_name == "..")
    return make_error(Errc::invalid_argument, fmt::format("lock name '{}' is not a file name", lock_name));
  BERTH_TRY(create(), "lock");
  return FileLock::acquire(path_of(lock_name));
}

Result<void> RecordStore::put(std::string_view name, std::string_view text) const {
  BERTH_TRY(check_name(name), "");
  BERTH_TRY(create(), "");
  return write_file_atomic(path_of(name), text, modes_.record);
}

Result<std::optional<std::string>> RecordStore::get(std::string_view name) const {
  BERTH_TRY(check_name(name), "");
  auto text = read_file(path_of(name));
  if (!text) {
    if (text.error().code == std::errc::no_such_file_or_directory) return std::optional<std::string>{};
    return std::move(text).error();
  }
  return std::optional<std::string>(std::move(*text));
}

Result<std::vector<std::string>> RecordStore::list(std::string_view suffix) const {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return names;
    return make_error(ec, fmt::format("list '{}'", dir_.string()));
  }
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.find(kTemporaryMark) != std::string::npos || !name.ends_with(suffix)) continue;
    std::error_code fec;
    if (!entry.is_regular_file(fec)) continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<void> RecordStore::remove(std::string_view name) const {
  BERTH_TRY(check_name(name), "");
  const auto p = path_of(name);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return errno_error(errno, fmt::format("remove '{}'", p.string()));
  return {};
}

void RecordStore::remove_leftovers(std::string_view name) const {
  const std::string prefix = std::string(name) + std::string(kTemporaryMark);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (entry.path().filename().string().starts_with(prefix)) std::filesystem::remove(entry.path(), ec);
}

void RecordStore::remove_all_leftovers() const {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (entry.path().filename().string().find(kTemporaryMark) != std::string::npos)
      std::filesystem::remove(entry.path(), ec);
}

Result<FileStamp> stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, fmt::format("stat '{}'", path.string()));
  return stamp(st);
}

Result<FileStamp> Journal::reset(std::string_view text, mode_t mode) const {
  BERTH_TRY(write_file_atomic(file_, text, mode), "");
  return stamp_of(file_);
}

Result<void> Journal::append(off_t offset, std::string_view text) const {
  const std::string what = fmt::format("append to '{}'", file_.string());
  UniqueFd fd(::open(file_.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, what);
  // A line cut short by a writer that died is dropped before appending.
  if (::ftruncate(fd.get(), offset) != 0) return errno_error(errno, what);
  auto undo = [&](int err) {
    (void)::ftruncate(fd.get(), offset);
    return errno_error(err, what);
  };
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pwrite(fd.get(), text.data() + done, text.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return undo(errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd.get()) != 0) return undo(errno);
  return {};
}

Result<std::optional<Journal::Tail>> Journal::read_from(off_t offset) const {
  const std::string what = fmt::format("read '{}'", file_.string());
  UniqueFd fd(::open(file_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<Tail>{};
    return errno_error(errno, what);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(errno, what);
  Tail tail{st.st_ino, {}};
  if (st.st_size > offset) {
    tail.text.resize(static_cast<std::size_t>(st.st_size - offset));
    ssize_t n = ::pread(fd.get(), tail.text.data(), tail.text.size(), offset);
    if (n < 0) return errno_error(errno, what);
    tail.text.resize(static_cast<std::size_t>(n));
  }
  return std::optional<Tail>(std::move(tail));
}

}  // namespace berth::core
