// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <string_view>

namespace berth::cli {

/// Progress lines of a long operation on stderr, only when it is a terminal
/// (a script reading the output gets the result alone).
std::function<void(std::string_view)> terminal_progress();

}  // namespace berth::cli
