// SPDX-License-Identifier: Apache-2.0
// A container's output in the CRI log format, as conmon writes it and
// `podman logs` reads it.
#include "container/log_writer.hpp"

#include "berth_catch.hpp"

using berth::runtime::container::log_time;
using berth::runtime::container::LogWriter;

namespace {
timespec at() { return {1796168842, 5}; }  // 2026-12-01T23:47:22Z
}  // namespace

TEST_CASE("log times are RFC 3339 with nanoseconds in UTC", "[container][log]") {
  CHECK(log_time({0, 0}) == "1970-01-01T00:00:00.000000000+00:00");
  CHECK(log_time({1796168842, 201739460}) == "2026-12-01T23:47:22.201739460+00:00");
}

TEST_CASE("output becomes one record per line, a stream at a time", "[container][log]") {
  std::string log;
  LogWriter w([&](std::string_view r) { log += r; }, at, 8);
  w.write(LogWriter::Stdout, "hel");
  CHECK(log.empty());  // a line waits for its end
  w.write(LogWriter::Stderr, "oops\n");
  w.write(LogWriter::Stdout, "lo\nwor");
  w.write(LogWriter::Stdout, "ld\n\n");
  w.write(LogWriter::Stdout, "0123456789abc");  // longer than 8: parts
  w.finish(LogWriter::Stdout);
  w.finish(LogWriter::Stderr);  // nothing waits
  const std::string t = "2026-12-01T23:47:22.000000005+00:00";
  CHECK(log == t + " stderr F oops\n" + t + " stdout F hello\n" + t + " stdout F world\n" + t + " stdout F \n" + t +
                   " stdout P 01234567\n" + t + " stdout F 89abc\n");
}
