// SPDX-License-Identifier: Apache-2.0
#include "container/log_writer.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace berth::runtime::container {

std::string log_time(const timespec& t) {
  tm utc{};
  ::gmtime_r(&t.tv_sec, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long>(t.tv_nsec));
  return buf;
}

std::string valid_utf8(std::string_view text) {
  // Boost.JSON writes strings as they are and refuses invalid UTF-8 when it
  // reads them back; so the log holds valid UTF-8 only.
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) len = 1, cp = c;
    else if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF.
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
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

void LogWriter::record(Stream s, std::string_view text, bool partial, bool newline) {
  std::string log = valid_utf8(text);
  if (newline) log += '\n';
  boost::json::object o{{"log", log}, {"stream", s == Stdout ? "stdout" : "stderr"}, {"time", log_time(now_())}};
  if (partial) o["partial"] = true;
  std::string r = boost::json::serialize(o);
  r += '\n';
  sink_(r);
}

void LogWriter::write(Stream s, std::string_view data) {
  std::string& pending = pending_[s];
  while (!data.empty()) {
    const auto nl = data.find('\n');
    pending.append(data.substr(0, nl));
    // A line longer than the buffer goes out in parts, cut between characters.
    while (pending.size() > max_line_) {
      std::size_t cut = max_line_;
      while (cut + 3 > max_line_ && cut > 1 && (static_cast<unsigned char>(pending[cut]) & 0xC0) == 0x80) --cut;
      record(s, std::string_view(pending).substr(0, cut), true, false);
      pending.erase(0, cut);
    }
    if (nl == std::string_view::npos) break;  // the rest of the line comes later
    record(s, pending, false, true);
    pending.clear();
    data.remove_prefix(nl + 1);
  }
}

void LogWriter::finish(Stream s) {
  // The output's last line had no newline: it gets none here either.
  if (!pending_[s].empty()) record(s, pending_[s], false, false);
  pending_[s].clear();
}

}  // namespace berth::runtime::container
