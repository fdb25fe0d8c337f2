// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/container/log.hpp"

#include "berth/core/fs.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace berth::runtime::container {

using core::Errc;
using core::make_error;

core::Result<LogEntry> parse_log_line(std::string_view line) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(line, ec);
  const auto* o = ec ? nullptr : doc.if_object();
  auto str = [&](const char* k) -> const boost::json::string* {
    const auto* v = o ? o->if_contains(k) : nullptr;
    return v ? v->if_string() : nullptr;
  };
  const auto *log = str("log"), *stream = str("stream"), *time = str("time");
  if (!log || !stream || !time) return make_error(Errc::corrupt, "log line is not a log record");
  LogEntry e{std::string(*time), std::string(*stream), std::string(*log), false};
  if (const auto* p = o->if_contains("partial"); p && p->is_bool()) e.partial = p->get_bool();
  return e;
}

core::Result<std::vector<LogEntry>> read_log(const std::filesystem::path& path, unsigned max_files) {
  std::vector<LogEntry> out;
  for (unsigned n = max_files == 0 ? 0 : max_files - 1;; --n) {
    std::filesystem::path p = path;
    if (n > 0) p += "." + std::to_string(n);
    auto text = core::read_file(p);
    if (!text) {
      if (n == 0) return std::move(text).error().wrap("read log");
    } else {
      std::string_view rest = *text;
      while (!rest.empty()) {
        const auto nl = rest.find('\n');
        if (nl == std::string_view::npos) break;  // being written
        auto e = parse_log_line(rest.substr(0, nl));
        if (!e) return std::move(e).error().wrap(fmt::format("read log '{}'", p.string()));
        out.push_back(std::move(*e));
        rest.remove_prefix(nl + 1);
      }
    }
    if (n == 0) break;
  }
  return out;
}

}  // namespace berth::runtime::container
