// SPDX-License-Identifier: Apache-2.0
#include "berth/core/names.hpp"

#include <fmt/format.h>

namespace berth::core {

Result<void> validate_container_id(std::string_view id) {
  if (!is_plain_name(id, kMaxContainerId))
    return make_error(Errc::invalid_argument,
                      fmt::format("container id '{}' must be 1 to {} letters, digits, '-', '_' or '.'", id,
                                  kMaxContainerId));
  return {};
}

}  // namespace berth::core
