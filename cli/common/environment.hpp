// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <string>

namespace berth::cli {

/// The process environment as a map (libraries take configuration as values,
/// never from getenv).
std::map<std::string, std::string> environment();

}  // namespace berth::cli
