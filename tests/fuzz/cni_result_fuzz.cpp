// SPDX-License-Identifier: Apache-2.0
// A CNI plugin's stdout (result or error JSON) is another program's output.
#include "berth/net/cni/cni.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = berth::net::cni::parse_result(text);
  if (result) {
    // Whatever parses must serialize and parse back to the same thing.
    auto again = berth::net::cni::parse_result(berth::net::cni::to_json(*result, result->cni_version));
    if (!again || !(*again == *result)) __builtin_trap();
  }
  (void)berth::net::cni::parse_error(text);
  return 0;
}
