// SPDX-License-Identifier: Apache-2.0
// What a registry (WWW-Authenticate) or a user's file (Docker's config.json)
// hands berth when it authenticates.
#include "berth/runtime/image/auth.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::runtime::image;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto c = parse_www_authenticate(text))
    for (const auto& ch : *c)
      if (ch.scheme.empty()) __builtin_trap();
  (void)parse_docker_config(text);
  if (auto d = base64_decode(text))
    if (base64_decode(base64_encode(*d)) != d) __builtin_trap();
  return 0;
}
