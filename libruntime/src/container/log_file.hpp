// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace berth::runtime::container {

/// The file a container's log records go to, rotated by size as Docker's
/// json-file driver does: when the next record would take it past
/// `max_size`, `log` becomes `log.1` (`log.1` becomes `log.2`, ...), the
/// oldest beyond `max_files` goes, and a new `log` starts. A record is never
/// split across files. max_size 0: never rotated.
class LogFile {
public:
  LogFile(std::filesystem::path path, std::int64_t max_size, unsigned max_files);
  /// False when the file cannot be opened (the reason in errno).
  [[nodiscard]] bool open();
  /// Appends one record; a full disk loses it, never the writer.
  void write(std::string_view record);

private:
  void rotate();
  std::filesystem::path path_;
  std::int64_t max_size_;
  unsigned max_files_;
  std::int64_t size_ = 0;
  core::UniqueFd fd_;
};

}  // namespace berth::runtime::container
