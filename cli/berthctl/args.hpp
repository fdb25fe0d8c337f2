// SPDX-License-Identifier: Apache-2.0
// Option parsing shared by berthctl's verbs.
#pragma once

#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cli {

/// Parses a verb's options and its positional arguments into `names`
/// (at least `min` of them, at most `max`; 0: no limit). The exit code when
/// the command is done already (--help, or a usage error), as parse_options.
std::optional<int> parse_verb(std::string_view verb, int argc, char** argv,
                              boost::program_options::options_description& desc,
                              boost::program_options::variables_map& vm, std::vector<std::string>& names,
                              std::size_t min, std::size_t max = 0, const char* what = "container");

/// Where the first operand is (the image of `run`, the container of
/// `exec`): berthctl's options come before it, the container's command
/// after it, with its own dashes. -1 when there is none.
int first_operand(int argc, char** argv, const boost::program_options::options_description& desc);

}  // namespace berth::cli
