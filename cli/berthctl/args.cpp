// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"

#include "options.hpp"

#include <fmt/format.h>

namespace berth::cli {

std::optional<int> parse_verb(std::string_view verb, int argc, char** argv,
                              boost::program_options::options_description& desc,
                              boost::program_options::variables_map& vm, std::vector<std::string>& names,
                              std::size_t min, std::size_t max, const char* what) {
  namespace po = boost::program_options;
  po::options_description hidden;
  hidden.add_options()("names", po::value(&names));
  po::positional_options_description positional;
  positional.add("names", -1);
  const std::string who = fmt::format("berthctl: error: {}", verb);
  if (auto done = parse_options(who, argc, argv, desc, vm, &hidden, &positional)) return done;
  if (names.size() < min) {
    fmt::print(stderr, "{}: needs {} {}{}\n", who, min == 1 ? "a" : std::to_string(min), what, min == 1 ? "" : "s");
    return 2;
  }
  if (max && names.size() > max) {
    fmt::print(stderr, "{}: takes at most {} {}{}\n", who, max, what, max == 1 ? "" : "s");
    return 2;
  }
  return std::nullopt;
}

}  // namespace berth::cli
