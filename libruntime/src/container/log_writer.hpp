// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

namespace berth::runtime::container {

/// A container's output as the CRI log format has it (conmon's k8s-file,
/// what `podman logs` and `crictl logs` read): one record per line,
///   2026-12-01T23:26:52.201739460+00:00 stdout F hello
/// "F" ends a line; "P" is part of a line longer than the buffer, continued
/// by the next record of the same stream.
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
  void record(Stream s, char tag, std::string_view text);
  std::function<void(std::string_view)> sink_;
  std::function<timespec()> now_;
  std::size_t max_line_;
  std::array<std::string, 2> pending_;
};

/// "2026-12-01T23:26:52.201739460+00:00" (UTC).
[[nodiscard]] std::string log_time(const timespec& t);

}  // namespace berth::runtime::container
