// SPDX-License-Identifier: Apache-2.0
// An env file (dockyard.env) may come from anyone who can write to disk.
#include "berth/instance/env.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto env = berth::instance::parse_env(text);
  if (env) {
    // Whatever parses is valid and renders back to the same values.
    if (!berth::instance::validate(*env)) __builtin_trap();
    auto again = berth::instance::parse_env(berth::instance::render_env(*env));
    if (!again || !(*again == *env)) __builtin_trap();
  }
  return 0;
}
