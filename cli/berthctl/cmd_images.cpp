// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace berth::cli {

int cmd_images(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc("usage: berthctl images [-q] [--json]\n\nThe images in berthd's store.\n\noptions");
  desc.add_options()("help,h", "show this help")("quiet,q", "names only")("json", "print a JSON list");
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("images", argc, argv, desc, vm, none, 0, 0)) return *done;
  auto all = client.images();
  if (!all) return report(kTool, all.error());
  if (vm.count("json")) {
    boost::json::array out;
    for (const auto& i : *all) out.push_back(boost::json::object{{"name", i.name}, {"digest", i.digest}, {"size", i.size}});
    fmt::print("{}\n", boost::json::serialize(out));
  } else if (vm.count("quiet")) {
    for (const auto& i : *all) fmt::print("{}\n", i.name);
  } else {
    fmt::print("{}", runtime::daemon::render_images(*all));
  }
  return 0;
}

}  // namespace berth::cli
