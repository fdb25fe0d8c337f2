// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

namespace berth::runtime::container {

/// A container's output as JSON lines in the shape of Docker's json-file
/// log driver (what its users' tools read), one record per line of output:
///   {"log":"hello\n","stream":"stdout","time":"2026-12-01T23:26:52.201739460Z"}
/// A line longer than `max_line` (16 KiB) is split: its parts carry
/// "partial":true and no newline, the last part ends it (a last line
/// without a newline stays without one). Nothing is dropped;
/// bytes that are not UTF-8 become U+FFFD, as Docker's encoder does.
class LogWriter {
public:
  enum Stream { Stdout = 0, Stderr = 1 };
  /// `sink` takes whole records; `now` gives the time (tests pass their own).
  explicit LogWriter(std::function<void(std::string_view)> sink,
                     std::function<timespec()> now = nullptr, std::size_t max_line = 16384);
  /// Output as it came from the pipe: whole lines go out, the rest waits.
  void write(Stream s, std::string_view data);
  /// The stream ended: what waits goes out as the line's end.
  void finish(Stream s);

private:
  void record(Stream s, std::string_view text, bool partial, bool newline);
  std::function<void(std::string_view)> sink_;
  std::function<timespec()> now_;
  std::size_t max_line_;
  std::array<std::string, 2> pending_;
};

/// "2026-12-01T23:26:52.201739460Z" (UTC, nanoseconds).
[[nodiscard]] std::string log_time(const timespec& t);

/// `text` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
[[nodiscard]] std::string valid_utf8(std::string_view text);

}  // namespace berth::runtime::container
