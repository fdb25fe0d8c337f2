// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_rmi(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl rmi [-f] IMAGE...\n\n"
      "Forgets image names (refused while a container uses one, unless -f). The blobs no\n"
      "name reaches any more stay until the store is pruned (POST /v1/images/prune).\n\noptions");
  desc.add_options()("help,h", "show this help")("force,f", "even while a container uses it");
  po::variables_map vm;
  std::vector<std::string> refs;
  if (auto done = parse_verb("rmi", argc, argv, desc, vm, refs, 1, 0, "image")) return *done;
  int rc = 0;
  for (const auto& ref : refs) {
    if (auto r = client.remove_image(ref, vm.count("force") > 0); !r) rc = report(kTool, r.error());
    else fmt::print("untagged {}\n", ref);
  }
  return rc;
}

}  // namespace berth::cli
