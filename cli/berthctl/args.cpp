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

int first_operand(int argc, char** argv, const boost::program_options::options_description& desc) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return i + 1 < argc ? i + 1 : -1;
    if (!a.starts_with("-") || a == "-") return i;
    if (a.find('=') != std::string_view::npos) continue;
    // An option that takes a value swallows the next word ("-p 80:80", "--name web").
    // Boost names a short option with its dash ("-p"), a long one without.
    std::string name(a.starts_with("--") ? a.substr(2) : a.substr(0, 2));
    const auto* opt = desc.find_nothrow(name, false);
    if (opt && opt->semantic()->max_tokens() > 0) {
      if (!a.starts_with("--") && a.size() > 2) continue;  // -p80:80
      ++i;
    }
  }
  return -1;
}

}  // namespace berth::cli
