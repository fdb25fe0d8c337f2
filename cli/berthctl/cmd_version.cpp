// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace berth::cli {

int cmd_version(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc("usage: berthctl version [--json]\n\nberthd's version, commit and build date.\n\noptions");
  desc.add_options()("help,h", "show this help")("json", "print berthd's JSON document");
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("version", argc, argv, desc, vm, none, 0, 0)) return *done;
  auto v = client.version();
  if (!v) return report(kTool, v.error());
  if (vm.count("json")) {
    fmt::print("{}\n", *v);
    return 0;
  }
  auto doc = boost::json::parse(*v).as_object();
  auto text = [&](const char* k) {
    const auto* x = doc.if_contains(k);
    return x && x->is_string() ? std::string(x->get_string()) : std::string();
  };
  fmt::print("{} {} (commit {}, built {})\n", text("daemon"), text("version"), text("commit"), text("buildDate"));
  return 0;
}

}  // namespace berth::cli
