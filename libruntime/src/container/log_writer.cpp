// SPDX-License-Identifier: Apache-2.0
#include "container/log_writer.hpp"

#include <cstdio>

namespace berth::runtime::container {

std::string log_time(const timespec& t) {
  tm utc{};
  ::gmtime_r(&t.tv_sec, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld+00:00", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long>(t.tv_nsec));
  return buf;
}

LogWriter::LogWriter(std::function<void(std::string_view)> sink, std::function<timespec()> now, std::size_t max_line)
    : sink_(std::move(sink)), now_(std::move(now)), max_line_(max_line) {
  if (!now_)
    now_ = [] {
      timespec t{};
      ::clock_gettime(CLOCK_REALTIME, &t);
      return t;
    };
}

void LogWriter::record(Stream s, char tag, std::string_view text) {
  std::string r = log_time(now_());
  r += s == Stdout ? " stdout " : " stderr ";
  r += tag;
  r += ' ';
  r += text;
  r += '\n';
  sink_(r);
}

void LogWriter::write(Stream s, std::string_view data) {
  std::string& pending = pending_[s];
  while (!data.empty()) {
    const auto nl = data.find('\n');
    if (nl == std::string_view::npos) {
      pending.append(data);
      break;
    }
    pending.append(data.substr(0, nl));
    record(s, 'F', pending);
    pending.clear();
    data.remove_prefix(nl + 1);
  }
  // A line longer than the buffer goes out in parts.
  while (pending.size() >= max_line_) {
    record(s, 'P', std::string_view(pending).substr(0, max_line_));
    pending.erase(0, max_line_);
  }
}

void LogWriter::finish(Stream s) {
  if (!pending_[s].empty()) record(s, 'F', pending_[s]);
  pending_[s].clear();
}

}  // namespace berth::runtime::container
