// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_kill(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  std::string signal = "KILL";
  po::options_description desc(
      "usage: berthctl kill [-s SIGNAL] CONTAINER...\n\n"
      "Sends a signal (KILL unless given) to each container's first process.\n\noptions");
  desc.add_options()("help,h", "show this help")("signal,s", po::value(&signal)->default_value(signal),
                                                 "a name (HUP, SIGHUP) or number");
  po::variables_map vm;
  std::vector<std::string> ids;
  if (auto done = parse_verb("kill", argc, argv, desc, vm, ids, 1)) return *done;
  int rc = 0;
  for (const auto& id : ids) {
    if (auto r = client.kill(id, signal); !r) rc = report(kTool, r.error());
    else fmt::print("{}\n", id);
  }
  return rc;
}

}  // namespace berth::cli
