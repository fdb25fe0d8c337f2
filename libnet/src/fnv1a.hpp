// SPDX-License-Identifier: Apache-2.0
// FNV-1a, 64 bits: a stable hash for names derived from other names (veth
// names, MAC addresses, rule fingerprints). Not for anything adversarial.
#pragma once

#include <cstdint>
#include <string_view>

namespace berth::net {

inline constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ull;

/// Hashes `text`, continuing from `h` (so parts can be chained).
[[nodiscard]] constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t h = kFnv1aOffset) noexcept {
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

}  // namespace berth::net
