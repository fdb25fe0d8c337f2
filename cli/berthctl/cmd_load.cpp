// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_load(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  std::string input, name;
  po::options_description desc(
      "usage: berthctl load -i ARCHIVE [--name NAME]\n\n"
      "Loads images into berthd's store from a `docker save` archive, an OCI archive or an\n"
      "OCI layout directory on this host (berthd reads it), and prints their names.\n\noptions");
  desc.add_options()("help,h", "show this help")("input,i", po::value(&input), "the archive or layout")(
      "name", po::value(&name), "a name for an image that has none");
  po::variables_map vm;
  std::vector<std::string> rest;
  if (auto done = parse_verb("load", argc, argv, desc, vm, rest, 0, 1, "archive")) return *done;
  if (input.empty() && !rest.empty()) input = rest[0];
  if (input.empty()) {
    fmt::print(stderr, "berthctl: error: load: needs -i ARCHIVE\n");
    return 2;
  }
  auto names = client.load(input, name);
  if (!names) return report(kTool, names.error());
  for (const auto& n : *names) fmt::print("loaded {}\n", n);
  return 0;
}

}  // namespace berth::cli
