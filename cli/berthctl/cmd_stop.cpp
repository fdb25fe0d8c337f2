// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_stop(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  int grace = 10;
  po::options_description desc(
      "usage: berthctl stop [-t SECONDS] CONTAINER...\n\n"
      "Sends each container its stop signal, waits the grace period, then SIGKILL; its network\n"
      "and DNS name are released. Prints the names stopped.\n\noptions");
  desc.add_options()("help,h", "show this help")("time,t", po::value(&grace)->default_value(10),
                                                 "grace period in seconds");
  po::variables_map vm;
  std::vector<std::string> ids;
  if (auto done = parse_verb("stop", argc, argv, desc, vm, ids, 1)) return *done;
  int rc = 0;
  for (const auto& id : ids) {
    if (auto r = client.stop(id, grace); !r) rc = report(kTool, r.error());
    else fmt::print("{}\n", id);
  }
  return rc;
}

}  // namespace berth::cli
