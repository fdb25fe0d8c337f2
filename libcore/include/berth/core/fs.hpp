// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace berth::core {

/// Replaces `path` with `data` so that a crash at any moment leaves either the
/// old or the new content, never a mix: write a temp file in the same
/// directory, fsync it, rename it over `path`, fsync the directory.
[[nodiscard]] Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                                             mode_t mode = 0644);

/// Writes `path` (created, or truncated) with `data` and no fsync: for files
/// that matter only while this boot lasts (a container's bundle, made again
/// or useless after a crash), where write_file_atomic's two fsyncs would be
/// most of the cost.
[[nodiscard]] Result<void> write_file(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644);

/// Reads a whole file. A missing file gives ENOENT ("No such file or directory").
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path);

/// Reads the regular file `path` of a tree that is not ours (an image's root
/// file system) as if `root` were "/": its symlinks and ".." never lead out
/// of it (openat2 RESOLVE_IN_ROOT). More than `max` bytes is an error.
[[nodiscard]] Result<std::string> read_file_in_root(const std::filesystem::path& root,
                                                    const std::filesystem::path& path, std::size_t max);

/// Creates `path` and its parents with `mode` (existing directories are kept).
[[nodiscard]] Result<void> make_directories(const std::filesystem::path& path, mode_t mode = 0755);

/// An exclusive advisory lock (flock) on a lock file, held until destruction.
/// The lock file is created if missing and never deleted (deleting it would let
/// two processes lock two different inodes). Move-only; not thread-safe.
class FileLock {
public:
  /// Blocks until the lock is held.
  [[nodiscard]] static Result<FileLock> acquire(const std::filesystem::path& path);
  /// Returns `Errc::conflict` at once when another holder has it.
  [[nodiscard]] static Result<FileLock> try_acquire(const std::filesystem::path& path);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing the descriptor releases the lock
};

}  // namespace berth::core
