// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <string_view>

namespace berth::cli {

/// Prints "<tool>: error: <message>" on stderr and returns the exit code to use.
int report(std::string_view tool, const core::Error& error);

}  // namespace berth::cli
