// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <fmt/format.h>

#include <iostream>

namespace berth::cli {

std::optional<int> parse_options(std::string_view who, int argc, char** argv,
                                 const boost::program_options::options_description& desc,
                                 boost::program_options::variables_map& vm,
                                 const boost::program_options::options_description* hidden,
                                 const boost::program_options::positional_options_description* positional) {
  namespace po = boost::program_options;
  po::options_description all;
  all.add(desc);
  if (hidden) all.add(*hidden);
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    // --help wins over everything else, so before notify() refuses a missing required option.
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "{}: {}\n", who, e.what());
    return 2;
  }
  return std::nullopt;
}

}  // namespace berth::cli
