// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

/// A JSON-lines log facade. Libraries call it (at debug level only, by
/// convention); executables decide where lines go by installing a sink.
/// Until a sink is installed, nothing is written. Thread-safe.
namespace berth::core::log {

enum class Level { Debug, Info, Warn, Error };

/// One structured field of a log line.
struct Field {
  std::string_view key;
  std::variant<std::string, std::int64_t, bool> value;

  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  template <class I>
    requires std::is_integral_v<I> && (!std::is_same_v<I, bool>)
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}
};

/// Receives every line at or above the installed level.
using Sink = std::function<void(Level, std::string_view msg, std::span<const Field>)>;

/// Installs `sink` for lines at `min_level` and above; replaces any earlier sink.
void install_sink(Sink sink, Level min_level);
/// Installs the standard sink: one JSON object per line on stderr,
/// e.g. {"level":"info","msg":"network backend","driver":"native"}.
void install_stderr_sink(Level min_level);
/// Removes the sink; later lines are dropped.
void reset_sink();

/// Renders one line as the stderr sink writes it (without the newline).
[[nodiscard]] std::string render_json(Level level, std::string_view msg, std::span<const Field> fields);
/// Parses "debug", "info", "warn" or "error".
[[nodiscard]] std::optional<Level> parse_level(std::string_view text);
[[nodiscard]] std::string_view level_name(Level level);

/// True when a line at `level` would be written (lets callers skip costly fields).
[[nodiscard]] bool enabled(Level level) noexcept;

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void debug(std::string_view msg, std::initializer_list<Field> fields = {}) { write(Level::Debug, msg, fields); }
inline void info(std::string_view msg, std::initializer_list<Field> fields = {}) { write(Level::Info, msg, fields); }
inline void warn(std::string_view msg, std::initializer_list<Field> fields = {}) { write(Level::Warn, msg, fields); }
inline void error(std::string_view msg, std::initializer_list<Field> fields = {}) { write(Level::Error, msg, fields); }

}  // namespace berth::core::log
