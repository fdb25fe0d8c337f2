// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_rm(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl rm [-f] CONTAINER...\n\n"
      "Removes stopped containers with everything they had (root file system, log, network).\n\noptions");
  desc.add_options()("help,h", "show this help")("force,f", "remove running containers too (killed first)");
  po::variables_map vm;
  std::vector<std::string> ids;
  if (auto done = parse_verb("rm", argc, argv, desc, vm, ids, 1)) return *done;
  int rc = 0;
  for (const auto& id : ids) {
    if (auto r = client.remove(id, vm.count("force") > 0); !r) rc = report(kTool, r.error());
    else fmt::print("{}\n", id);
  }
  return rc;
}

}  // namespace berth::cli
