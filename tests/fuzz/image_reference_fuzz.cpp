// SPDX-License-Identifier: Apache-2.0
// An image reference as typed by a user or found in a compose file: what
// parses prints back to something that parses to the same reference.
#include "berth/runtime/image/reference.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::runtime::image;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parse_reference(text);
  if (!r) return 0;
  auto again = parse_reference(r->to_string());
  if (!again || !(*again == *r)) __builtin_trap();
  auto familiar = parse_reference(r->familiar());
  if (!familiar || !(*familiar == *r)) __builtin_trap();
  return 0;
}
