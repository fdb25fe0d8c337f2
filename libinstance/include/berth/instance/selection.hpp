// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/instance/inventory.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace berth::instance {

/// The instance a command means: by PREFIX, looked up in the inventory, or
/// by an env file (default ./dockyard.env), which must then match the
/// inventory's copy. Both at once is an error. With `must_exist` false an env
/// file of an instance that is gone still names it (so destroy can run twice).
[[nodiscard]] core::Result<InstanceRecord> select_instance(const Inventory& inventory,
                                                           const std::optional<std::string>& prefix,
                                                           const std::optional<std::filesystem::path>& env_file,
                                                           bool must_exist);

}  // namespace berth::instance
