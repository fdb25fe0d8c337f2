// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <string_view>

namespace berth::net {

/// Writes `value` to /proc/sys/<path> ("net/ipv4/conf/berth0/forwarding").
/// /proc/sys/net belongs to the network namespace of the calling thread.
[[nodiscard]] core::Result<void> write_sysctl(std::string_view path, std::string_view value);
/// True when /proc/sys/<path> exists (a knob this kernel may not have).
[[nodiscard]] bool sysctl_exists(std::string_view path);

}  // namespace berth::net
