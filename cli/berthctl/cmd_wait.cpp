// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_wait(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl wait CONTAINER...\n\nWaits until each container has ended and prints its exit code.\n\noptions");
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  std::vector<std::string> ids;
  if (auto done = parse_verb("wait", argc, argv, desc, vm, ids, 1)) return *done;
  int rc = 0;
  for (const auto& id : ids) {
    if (auto code = client.wait(id); !code) rc = report(kTool, code.error());
    else fmt::print("{}\n", *code);
  }
  return rc;
}

}  // namespace berth::cli
