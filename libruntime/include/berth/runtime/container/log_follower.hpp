// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/runtime/container/log.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

/// `logs -f`: a container's log read to its end, then followed as its
/// monitor appends, across rotations (the file renamed to `.1` and a new one
/// begun: the old one is read to its end before the new one is opened), and
/// across restarts of the daemon (it only reads files). Not thread-safe.
namespace berth::runtime::container {

class LogFollower {
public:
  /// Opens the log at `path` (with its rotated files, `max_files` in all).
  /// `initial` receives what is there, its last `tail` entries only when set.
  [[nodiscard]] static core::Result<LogFollower> open(const std::filesystem::path& path, unsigned max_files,
                                                      std::optional<std::size_t> tail,
                                                      std::vector<LogEntry>& initial);
  /// The entries written since the last call; none when nothing new is there yet.
  [[nodiscard]] core::Result<std::vector<LogEntry>> poll();

  LogFollower(LogFollower&&) noexcept = default;
  LogFollower& operator=(LogFollower&&) noexcept = default;

private:
  LogFollower() = default;
  /// Reads what `fd_` has past `offset_`, whole lines only.
  [[nodiscard]] core::Result<void> read_more(std::vector<LogEntry>& out);
  std::filesystem::path path_;
  core::UniqueFd fd_;
  std::string pending_;  ///< a line not ended yet
};

}  // namespace berth::runtime::container
