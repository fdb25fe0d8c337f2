// SPDX-License-Identifier: Apache-2.0
// Command-line parsing every berth command does the same way.
#pragma once

#include <boost/program_options.hpp>

#include <optional>
#include <string_view>

namespace berth::cli {

/// Parses `argv` against `desc` (and `positional`, if given) into `vm`.
/// Returns the exit code when the command is already done: 2 after printing
/// "<who>: <why>" for a usage error (who: "dockyard: error: create"), 0 after printing --help.
/// Returns nothing when the command should go on.
std::optional<int> parse_options(std::string_view who, int argc, char** argv,
                                 const boost::program_options::options_description& desc,
                                 boost::program_options::variables_map& vm,
                                 const boost::program_options::options_description* hidden = nullptr,
                                 const boost::program_options::positional_options_description* positional = nullptr);

}  // namespace berth::cli
