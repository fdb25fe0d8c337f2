// SPDX-License-Identifier: Apache-2.0
// dockyard: several isolated dockerd instances on one host (see the README).
#include "berth/core/log.hpp"
#include "cmd_create.hpp"
#include "cmd_gen_env.hpp"
#include "cmd_manage.hpp"
#include "report.hpp"

#include <fmt/format.h>

#include <string_view>

int main(int argc, char** argv) {
  std::string_view verb = argc > 1 ? argv[1] : "";
  if (verb.empty() || verb == "--help" || verb == "-h") {
    fmt::print(verb.empty() ? stderr : stdout,
               "usage: dockyard COMMAND [options]\n\n"
               "commands:\n"
               "  gen-env   choose collision-free values for a new instance and write dockyard.env\n"
               "  create    create (and start) the instance an env file describes\n"
               "  start     start an instance\n"
               "  stop      stop an instance\n"
               "  status    whether an instance runs and answers\n"
               "  list      the instances on this host\n"
               "  verify    check every resource of an instance\n"
               "  destroy   remove an instance and everything it made\n\n"
               "`dockyard COMMAND --help` describes each command.\n");
    return verb.empty() ? 2 : 0;
  }
  if (verb == "gen-env") return berth::cli::cmd_gen_env(argc - 1, argv + 1);
  if (verb == "create") return berth::cli::cmd_create(argc - 1, argv + 1);
  for (std::string_view v : {"start", "stop", "status", "list", "verify", "destroy"})
    if (verb == v) return berth::cli::cmd_manage(v, argc - 1, argv + 1);
  fmt::print(stderr, "dockyard: error: unknown command '{}' (see --help)\n", verb);
  return 2;
}
