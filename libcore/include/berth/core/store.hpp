// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/fs.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace berth::core {

/// A directory of records that must survive a crash (IPAM snapshots,
/// network and container records, dockyard's inventory). Each record is one
/// file replaced atomically (write_file_atomic: a crash at any moment leaves
/// the old or the new text, never a mix); lock files serialise the writers of
/// several processes. Record names are plain names (is_plain_name) without
/// ".tmp.", which marks the temporary file of a write in progress. Cheap to
/// copy (it holds a path). A read-modify-write holds `lock()` around it.
/// Not thread-safe.
class RecordStore {
public:
  struct Modes {
    mode_t directory = 0700;
    mode_t record = 0600;
  };

  explicit RecordStore(std::filesystem::path dir) : RecordStore(std::move(dir), Modes{}) {}
  RecordStore(std::filesystem::path dir, Modes modes) : dir_(std::move(dir)), modes_(modes) {}

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] std::filesystem::path path_of(std::string_view name) const { return dir_ / std::string(name); }

  /// Creates the directory (and its parents) when missing.
  [[nodiscard]] Result<void> create() const;
  /// Takes the flock of `<dir>/<lock_name>`, creating the directory first;
  /// held until the FileLock is destroyed.
  [[nodiscard]] Result<FileLock> lock(std::string_view lock_name = "lock") const;
  /// Writes a record atomically, creating the directory first.
  [[nodiscard]] Result<void> put(std::string_view name, std::string_view text) const;
  /// A record's text, or nullopt when there is none.
  [[nodiscard]] Result<std::optional<std::string>> get(std::string_view name) const;
  /// The names of the records ending with `suffix`, sorted. A missing
  /// directory holds none; temporary files of unfinished writes are not records.
  [[nodiscard]] Result<std::vector<std::string>> list(std::string_view suffix = {}) const;
  /// Deletes a record; a missing one is not an error.
  [[nodiscard]] Result<void> remove(std::string_view name) const;
  /// Deletes the temporary files of record `name` that writers who died left
  /// behind. Call it under the lock that serialises that record's writers.
  void remove_leftovers(std::string_view name) const;
  /// Deletes every temporary file in the directory: for an owner that
  /// knows no writer of its records can be alive (it has just taken the
  /// lock that makes it their only writer, after a crash).
  void remove_all_leftovers() const;

private:
  [[nodiscard]] Result<void> check_name(std::string_view name) const;

  std::filesystem::path dir_;
  Modes modes_;
};

/// A file's identity as last seen: a rename puts a new inode in its place,
/// and a change in place moves its size or its modification time.
struct FileStamp {
  ino_t inode = 0;
  off_t size = -1;
  std::int64_t mtime_ns = -1;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

/// The stamp of `path`; a missing file is ENOENT.
[[nodiscard]] Result<FileStamp> stamp_of(const std::filesystem::path& path);

/// An append-only file of lines beside a snapshot (the changes since it).
/// Each append is on disk (fdatasync) before it returns; a line that a crash
/// cut short has no newline, is never acknowledged, and the next append cuts
/// it off. The caller keeps the offset of the end of the last whole line it
/// has read and holds the store's lock. Not thread-safe.
class Journal {
public:
  explicit Journal(std::filesystem::path file) : file_(std::move(file)) {}
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return file_; }

  /// Starts the journal afresh with `text`, atomically replacing the old one.
  [[nodiscard]] Result<FileStamp> reset(std::string_view text, mode_t mode = 0644) const;
  /// Appends `text` (whole lines) at `offset`, first cutting off whatever
  /// follows it; on failure the file is cut back to `offset`.
  [[nodiscard]] Result<void> append(off_t offset, std::string_view text) const;

  struct Tail {
    ino_t inode = 0;
    std::string text;  ///< from the offset asked to the end of the file
  };
  /// What the journal holds from `offset` on, or nullopt when there is no journal.
  [[nodiscard]] Result<std::optional<Tail>> read_from(off_t offset) const;

private:
  std::filesystem::path file_;
};

}  // namespace berth::core
