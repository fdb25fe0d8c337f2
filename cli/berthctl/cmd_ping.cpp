// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_ping(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc("usage: berthctl ping\n\nWhether berthd answers on its socket (exit code 0 when it does).\n\noptions");
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("ping", argc, argv, desc, vm, none, 0, 0)) return *done;
  if (!none.empty()) return report(kTool, core::make_error(core::Errc::invalid_argument, "ping takes no arguments"));
  if (auto r = client.ping(); !r) return report(kTool, r.error());
  fmt::print("ok\n");
  return 0;
}

}  // namespace berth::cli
