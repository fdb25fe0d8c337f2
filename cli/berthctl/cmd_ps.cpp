// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_ps(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl ps [-a] [-q] [--json]\n\n"
      "The containers: name, image, status (with health), address and published ports.\n\noptions");
  desc.add_options()("help,h", "show this help")("all,a", "stopped ones too (default: running and restarting)")(
      "quiet,q", "names only")("json", "print a JSON list of inspect documents");
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("ps", argc, argv, desc, vm, none, 0, 0)) return *done;
  auto all = client.list();
  if (!all) return report(kTool, all.error());
  std::vector<runtime::daemon::ContainerInfo> shown;
  for (auto& c : *all)
    if (vm.count("all") || c.status == "running" || c.status == "restarting") shown.push_back(std::move(c));
  if (vm.count("json")) {
    std::string out = "[";
    for (std::size_t i = 0; i < shown.size(); ++i) out += (i ? "," : "") + shown[i].json;
    fmt::print("{}]\n", out);
  } else if (vm.count("quiet")) {
    for (const auto& c : shown) fmt::print("{}\n", c.id);
  } else {
    fmt::print("{}", runtime::daemon::render_ps(shown));
  }
  return 0;
}

}  // namespace berth::cli
