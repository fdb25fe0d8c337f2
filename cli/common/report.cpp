// SPDX-License-Identifier: Apache-2.0
#include "report.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace berth::cli {

int report(std::string_view tool, const core::Error& error) {
  fmt::print(stderr, "{}: error: {}\n", tool, error.message());
  return error.exit_code != 0 ? error.exit_code : 1;
}

}  // namespace berth::cli
