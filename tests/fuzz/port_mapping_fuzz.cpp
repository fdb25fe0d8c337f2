// SPDX-License-Identifier: Apache-2.0
// `-p` port mappings are typed by users and read from API requests.
#include "berth/net/port_mapping.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = berth::net::parse_port_mapping(std::string_view(reinterpret_cast<const char*>(data), size));
  if (m && !berth::net::validate(*m)) __builtin_trap();  // parsed means valid
  return 0;
}
