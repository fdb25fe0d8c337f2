// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/describe.hpp"
#include "berth/instance/instance.hpp"
#include "berth/instance/selection.hpp"
#include "commands.hpp"
#include "instance_args.hpp"
#include "report.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace berth::cli {

int cmd_verify(int argc, char** argv) {
  InstanceArgs args;
  if (auto done = parse_instance_args(
          {"verify", "dockyard verify [PREFIX | --env FILE] [--json]",
           "Checks every resource of the instance (files, binaries, unit, user, group, bridge, firewall,\n"
           "socket); exits 1 and names each problem when one is wrong.",
           true},
          argc, argv, args))
    return *done;
  instance::HostPaths host;
  auto chosen = instance::select_instance(host.inventory, args.prefix, args.env_file, true);
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap("verify"));
  auto problems = instance::verify(*chosen, host);
  if (!problems) return report("dockyard", std::move(problems).error());
  if (args.json)
    fmt::print("{}\n", boost::json::serialize(instance::describe_problems(chosen->env, *problems)));
  else if (problems->empty())
    fmt::print("{}: every resource is in place\n", chosen->env.prefix);
  else
    for (const auto& p : *problems) fmt::print("{}: {}\n", chosen->env.prefix, p);
  return problems->empty() ? 0 : 1;
}

}  // namespace berth::cli
