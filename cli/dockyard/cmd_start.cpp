// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/instance.hpp"
#include "berth/instance/selection.hpp"
#include "commands.hpp"
#include "instance_args.hpp"
#include "progress.hpp"
#include "report.hpp"

#include <fmt/format.h>

namespace berth::cli {

int cmd_start(int argc, char** argv) {
  InstanceArgs args;
  if (auto done = parse_instance_args({"start", "dockyard start [PREFIX | --env FILE]",
                                       "Starts the instance (and enables its units for boot) and waits until its\n"
                                       "socket answers."},
                                      argc, argv, args))
    return *done;
  instance::HostPaths host;
  auto chosen = instance::select_instance(host.inventory, args.prefix, args.env_file, true);
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap("start"));
  if (auto r = instance::start(*chosen, host, terminal_progress()); !r) return report("dockyard", r.error());
  fmt::print("{} is running: DOCKER_HOST=unix://{}\n", chosen->env.prefix,
             instance::layout_of(chosen->env).socket.string());
  return 0;
}

}  // namespace berth::cli
