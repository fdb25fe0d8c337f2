// SPDX-License-Identifier: Apache-2.0
#include "progress.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace berth::cli {

std::function<void(std::string_view)> terminal_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  return [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
}

}  // namespace berth::cli
