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

int cmd_status(int argc, char** argv) {
  InstanceArgs args;
  if (auto done = parse_instance_args({"status", "dockyard status [PREFIX | --env FILE] [--json]",
                                       "Shows whether the instance runs and its socket answers; exits 3 when it\n"
                                       "does not (as systemctl status does).",
                                       true},
                                      argc, argv, args))
    return *done;
  instance::HostPaths host;
  auto chosen = instance::select_instance(host.inventory, args.prefix, args.env_file, true);
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap("status"));
  auto s = instance::status(*chosen, host);
  if (!s) return report("dockyard", std::move(s).error().wrap("status"));
  if (args.json)
    fmt::print("{}\n", boost::json::serialize(instance::describe(chosen->env, &chosen->options, &*s)));
  else
    fmt::print("{}: {}{}, socket {} {}\n", chosen->env.prefix, s->state,
               s->pid ? fmt::format(" (dockerd pid {})", *s->pid) : "",
               instance::layout_of(chosen->env).socket.string(), s->answers ? "answers" : "does not answer");
  return instance::status_exit_code(*s);
}

}  // namespace berth::cli
