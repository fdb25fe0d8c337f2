// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/describe.hpp"
#include "berth/instance/instance.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

namespace berth::cli {

int cmd_list(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc("usage: dockyard list [--json]\n\nLists the instances on this host.\n\noptions");
  desc.add_options()("help,h", "show this help")("json", "print JSON (a list, [] when there is none)");
  po::variables_map vm;
  if (auto done = parse_options("dockyard: error: list", argc, argv, desc, vm)) return *done;
  const bool as_json = vm.count("json") > 0;
  instance::HostPaths host;
  auto all = host.inventory.list();
  if (!all) return report("dockyard", std::move(all).error().wrap("list"));
  boost::json::array out;
  // The header even when there is nothing under it: an empty table, not silence.
  if (!as_json) fmt::print("{:<10} {:<10} {:<8} {:<20} {}\n", "PREFIX", "STATE", "ANSWERS", "BRIDGE", "ROOT");
  for (const auto& r : *all) {
    auto s = instance::status(r, host);
    if (!s) return report("dockyard", std::move(s).error().wrap("list"));
    if (as_json)
      out.push_back(instance::describe(r.env, &r.options, &*s));
    else
      fmt::print("{:<10} {:<10} {:<8} {:<20} {}\n", r.env.prefix, s->state, s->answers ? "yes" : "no",
                 r.env.bridge_cidr.to_string(), r.env.root.string());
  }
  if (as_json) fmt::print("{}\n", boost::json::serialize(out));
  return 0;
}

}  // namespace berth::cli
