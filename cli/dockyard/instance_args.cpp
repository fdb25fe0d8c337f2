// SPDX-License-Identifier: Apache-2.0
#include "instance_args.hpp"

#include "options.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

namespace berth::cli {

std::optional<int> parse_instance_args(const VerbHelp& help, int argc, char** argv, InstanceArgs& out) {
  namespace po = boost::program_options;
  std::string prefix, env_file;
  po::options_description desc(fmt::format("usage: {}\n\n{}\n\noptions", help.usage, help.text));
  desc.add_options()("help,h", "show this help")("env", po::value(&env_file),
                                                 "the instance's env file (default ./dockyard.env)");
  if (help.json) desc.add_options()("json", "print JSON");
  if (help.yes) desc.add_options()("yes,y", "do not ask (the only mode: dockyard never prompts)");
  po::options_description hidden;
  hidden.add_options()("prefix", po::value(&prefix));
  po::positional_options_description pos;
  pos.add("prefix", 1);
  po::variables_map vm;
  if (auto done = parse_options(fmt::format("dockyard: error: {}", help.verb), argc, argv, desc, vm, &hidden, &pos))
    return done;
  if (vm.count("prefix")) out.prefix = prefix;
  if (vm.count("env")) out.env_file = env_file;
  out.json = vm.count("json") > 0;
  return std::nullopt;
}

}  // namespace berth::cli
