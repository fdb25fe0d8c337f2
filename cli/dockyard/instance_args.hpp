// SPDX-License-Identifier: Apache-2.0
// What the instance commands share: which instance is meant, progress lines.
#pragma once

#include "berth/core/error.hpp"
#include "berth/instance/instance.hpp"

#include <optional>
#include <string>

namespace berth::cli {

/// The instance named by PREFIX (looked up in the inventory) or by an env file
/// (--env FILE; default ./dockyard.env). With `must_exist` false an env file
/// of an instance that is gone still names it (destroy twice).
core::Result<instance::InstanceRecord> select_instance(const instance::HostPaths& host,
                                                       const std::optional<std::string>& prefix,
                                                       const std::optional<std::string>& env_file, bool must_exist);

/// Progress lines on stderr, only when it is a terminal.
instance::Progress terminal_progress();

}  // namespace berth::cli
