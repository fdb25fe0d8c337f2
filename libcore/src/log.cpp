// SPDX-License-Identifier: Apache-2.0
#include "berth/core/log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

namespace berth::core::log {
namespace {

struct State {
  std::mutex mutex;
  std::shared_ptr<const Sink> sink;
  std::atomic<int> min_level{static_cast<int>(Level::Error) + 1};  // nothing enabled
};

State& state() {
  static State s;
  return s;
}

void append_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

}  // namespace

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

std::optional<Level> parse_level(std::string_view text) {
  for (Level l : {Level::Debug, Level::Info, Level::Warn, Level::Error})
    if (text == level_name(l)) return l;
  if (text == "warning") return Level::Warn;
  return std::nullopt;
}

std::string render_json(Level level, std::string_view msg, std::span<const Field> fields) {
  std::string out = "{\"level\":\"";
  out += level_name(level);
  out += "\",\"msg\":";
  append_string(out, msg);
  for (const Field& f : fields) {
    out += ',';
    append_string(out, f.key);
    out += ':';
    std::visit(
        [&out](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string>) append_string(out, v);
          else if constexpr (std::is_same_v<V, bool>) out += v ? "true" : "false";
          else out += std::to_string(v);
        },
        f.value);
  }
  out += '}';
  return out;
}

void install_sink(Sink sink, Level min_level) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.sink = std::make_shared<const Sink>(std::move(sink));
  s.min_level.store(static_cast<int>(min_level), std::memory_order_release);
}

void install_stderr_sink(Level min_level) {
  install_sink(
      [](Level level, std::string_view msg, std::span<const Field> fields) {
        std::string line = render_json(level, msg, fields);
        line += '\n';
        // One write per line, so lines from several threads never interleave.
        std::fwrite(line.data(), 1, line.size(), stderr);
      },
      min_level);
}

void reset_sink() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.sink.reset();
  s.min_level.store(static_cast<int>(Level::Error) + 1, std::memory_order_release);
}

bool enabled(Level level) noexcept {
  return static_cast<int>(level) >= state().min_level.load(std::memory_order_acquire);
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::shared_ptr<const Sink> sink;
  {
    State& s = state();
    std::lock_guard lock(s.mutex);
    sink = s.sink;
  }
  if (sink) (*sink)(level, msg, std::span<const Field>(fields.begin(), fields.size()));
}

}  // namespace berth::core::log
