// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/instance.hpp"
#include "berth/instance/selection.hpp"
#include "commands.hpp"
#include "instance_args.hpp"
#include "progress.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_stop(int argc, char** argv) {
  InstanceArgs args;
  if (auto done = parse_instance_args({"stop", "dockyard stop [PREFIX | --env FILE]",
                                       "Stops the instance's dockerd; its firewall rules go with it."},
                                      argc, argv, args))
    return *done;
  instance::HostPaths host;
  auto chosen = instance::select_instance(host.inventory, args.prefix, args.env_file, true);
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap("stop"));
  if (auto r = instance::stop(*chosen, host, terminal_progress()); !r) return report("dockyard", r.error());
  fmt::print("{} is stopped\n", chosen->env.prefix);
  return 0;
}

}  // namespace berth::cli
