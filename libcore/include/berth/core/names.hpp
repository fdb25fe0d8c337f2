// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <cstddef>
#include <string_view>

namespace berth::core {

/// True when `text` is 1 to `max` characters of letters, digits, '-', '_' and
/// '.', not starting with '-' or '.': safe as a file name, a table name and in
/// a message. Names that reach the file system or the kernel go through this.
[[nodiscard]] constexpr bool is_plain_name(std::string_view text, std::size_t max) noexcept {
  if (text.empty() || text.size() > max || text.front() == '.' || text.front() == '-') return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

/// The longest container id berth takes (Docker's are 64 hex digits).
inline constexpr std::size_t kMaxContainerId = 128;

/// Container ids become file names and parts of interface names: anything
/// that is not a plain name of at most kMaxContainerId characters is refused,
/// with an error naming the id.
[[nodiscard]] Result<void> validate_container_id(std::string_view id);

}  // namespace berth::core
