// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

/// Reading a container's log back: JSON lines as its monitor writes them
/// (Docker's json-file shape: {"log","stream","time"[,"partial"]}).
namespace berth::runtime::container {

struct LogEntry {
  std::string time;    ///< RFC 3339 with nanoseconds, UTC
  std::string stream;  ///< "stdout" or "stderr"
  std::string text;    ///< as written, with its newline (none on a part or an unended last line)
  bool partial = false;
};

/// One record; a line that is not one is `Errc::corrupt`.
[[nodiscard]] core::Result<LogEntry> parse_log_line(std::string_view line);

/// Every record of the log at `path` and of its rotated files (`path.N`
/// ... `path.1`, oldest first). A line cut short (the monitor writing it
/// right now) ends the reading.
[[nodiscard]] core::Result<std::vector<LogEntry>> read_log(const std::filesystem::path& path, unsigned max_files = 1);

}  // namespace berth::runtime::container
