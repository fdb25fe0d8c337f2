// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/instance.hpp"
#include "berth/instance/selection.hpp"
#include "commands.hpp"
#include "instance_args.hpp"
#include "progress.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_destroy(int argc, char** argv) {
  InstanceArgs args;
  if (auto done = parse_instance_args(
          {"destroy", "dockyard destroy [PREFIX | --env FILE] [--yes]",
           "Removes the instance: its containers, unit, firewall rules, bridge, directories, user and group.\n"
           "Works while containers run; destroying an instance that is gone succeeds. A step that fails\n"
           "does not stop the others; every failure is reported, and the instance stays listed until\n"
           "destroy has removed everything.",
           false, true},
          argc, argv, args))
    return *done;
  instance::HostPaths host;
  auto chosen = instance::select_instance(host.inventory, args.prefix, args.env_file, /*must_exist=*/false);
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap("destroy"));
  if (auto r = instance::destroy(chosen->env, host, terminal_progress()); !r) return report("dockyard", r.error());
  fmt::print("{} is destroyed\n", chosen->env.prefix);
  return 0;
}

}  // namespace berth::cli
