// SPDX-License-Identifier: Apache-2.0
// A container's output as JSON lines in Docker's json-file shape, split
// and marked partial past 16 KiB, rotated by size, and read back.
#include "berth/core/fs.hpp"
#include "berth/runtime/container/log.hpp"
#include "container/log_file.hpp"
#include "container/log_writer.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

using namespace berth;
using namespace berth::runtime::container;

namespace {
timespec at() { return {1796168842, 5}; }  // 2026-12-01T23:47:22Z
}  // namespace

TEST_CASE("log times are RFC 3339 with nanoseconds in UTC", "[container][log]") {
  CHECK(log_time({0, 0}) == "1970-01-01T00:00:00.000000000Z");
  CHECK(log_time({1796168842, 201739460}) == "2026-12-01T23:47:22.201739460Z");
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
  w.write(LogWriter::Stdout, "\n\"q\"\t\x01");
  w.finish(LogWriter::Stdout);  // the last line had no newline
  w.finish(LogWriter::Stderr);  // nothing waits
  const std::string t = R"(,"time":"2026-12-01T23:47:22.000000005Z"})";
  CHECK(log == R"({"log":"oops\n","stream":"stderr")" + t + "\n" +  //
                   R"({"log":"hello\n","stream":"stdout")" + t + "\n" +
                   R"({"log":"world\n","stream":"stdout")" + t + "\n" +  //
                   R"({"log":"\n","stream":"stdout")" + t + "\n" +
                   R"({"log":"01234567","stream":"stdout","time":"2026-12-01T23:47:22.000000005Z","partial":true})" "\n" +
                   R"({"log":"89abc\n","stream":"stdout")" + t + "\n" +
                   R"({"log":"\"q\"\t\u0001","stream":"stdout")" + t + "\n");
}

TEST_CASE("a long line is split between characters and nothing is lost", "[container][log]") {
  std::string log;
  LogWriter w([&](std::string_view r) { log += r; }, at, 16384);
  std::string line;
  while (line.size() < 40000) line += "é€";  // 2- and 3-byte characters
  w.write(LogWriter::Stdout, line + "\n");
  test::TempDir dir;
  REQUIRE(core::write_file(dir.path / "log", log));
  auto entries = read_log(dir.path / "log").value();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].partial);
  CHECK(entries[1].partial);
  CHECK_FALSE(entries[2].partial);
  std::string back;
  for (const auto& e : entries) {
    CHECK(e.text.size() <= 16385);
    back += e.text;
  }
  CHECK(back == line + "\n");
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD, valid ones stay", "[container][log]") {
  CHECK(valid_utf8("plain é € 😀") == "plain é € 😀");
  CHECK(valid_utf8("a\xff" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(valid_utf8("\xc0\xaf") == "\xEF\xBF\xBD\xEF\xBF\xBD");    // overlong '/'
  CHECK(valid_utf8("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(valid_utf8("\xe2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");    // cut short
}

TEST_CASE("the log rotates by size, keeps its files, and reads back oldest first", "[container][log]") {
  test::TempDir dir;
  const auto path = dir.path / "log";
  LogFile file(path, 200, 3);
  REQUIRE(file.open());
  LogWriter w([&](std::string_view r) { file.write(r); }, at);
  for (int i = 0; i < 20; ++i) w.write(LogWriter::Stdout, "line " + std::to_string(i) + "\n");
  for (const char* p : {"log", "log.1", "log.2"}) {
    INFO(p);
    REQUIRE(std::filesystem::exists(dir.path / p));
    CHECK(std::filesystem::file_size(dir.path / p) <= 200);
  }
  CHECK_FALSE(std::filesystem::exists(dir.path / "log.3"));
  auto entries = read_log(path, 3).value();
  REQUIRE(entries.size() >= 6);
  CHECK(entries.back().text == "line 19\n");
  for (std::size_t i = 1; i < entries.size(); ++i)  // consecutive lines, the oldest gone
    CHECK(std::stoi(entries[i].text.substr(5)) == std::stoi(entries[i - 1].text.substr(5)) + 1);

  LogFile one(dir.path / "single", 100, 1);
  REQUIRE(one.open());
  for (int i = 0; i < 10; ++i) one.write("0123456789012345678901234567890123456789\n");
  CHECK(std::filesystem::file_size(dir.path / "single") <= 100);
  CHECK_FALSE(std::filesystem::exists(dir.path / "single.1"));
}

TEST_CASE("a log line that is not a record is refused, one being written is not read", "[container][log][bad-input]") {
  CHECK(parse_log_line(R"({"log":"x\n","stream":"stdout","time":"t"})").value().text == "x\n");
  for (const char* bad : {"", "{}", "not json", R"({"log":1,"stream":"stdout","time":"t"})", "[1]"}) {
    INFO(bad);
    CHECK(parse_log_line(bad).error().is(core::Errc::corrupt));
  }
  test::TempDir dir;
  REQUIRE(core::write_file(dir.path / "log", "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n{\"log\":\"b"));
  CHECK(read_log(dir.path / "log").value().size() == 1);
  CHECK(read_log(dir.path / "missing").error().message().starts_with("read log"));
}
