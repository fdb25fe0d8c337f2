// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_inspect(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl inspect CONTAINER...\n\n"
      "Each container's whole state as berthd keeps it: a JSON list, one document each\n"
      "(state, exit code, restarts, addresses, ports, health, its run's configuration).\n\noptions");
  desc.add_options()("help,h", "show this help")("json", "the same (inspect always prints JSON)");
  po::variables_map vm;
  std::vector<std::string> ids;
  if (auto done = parse_verb("inspect", argc, argv, desc, vm, ids, 1)) return *done;
  std::string out = "[";
  int rc = 0;
  bool first = true;
  for (const auto& id : ids) {
    auto c = client.inspect(id);
    if (!c) {
      rc = report(kTool, c.error());
      continue;
    }
    out += (first ? "" : ",") + c->json;
    first = false;
  }
  fmt::print("{}]\n", out);
  return rc;
}

}  // namespace berth::cli
