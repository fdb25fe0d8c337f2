// SPDX-License-Identifier: Apache-2.0
// dockyard: several isolated dockerd instances on one host (see the README).
#include "commands.hpp"

#include <fmt/format.h>

#include <string_view>

namespace {

struct Verb {
  std::string_view name;
  int (*run)(int, char**);
  std::string_view summary;
};

constexpr Verb kVerbs[] = {
    {"gen-env", berth::cli::cmd_gen_env, "choose collision-free values for a new instance and write dockyard.env"},
    {"create", berth::cli::cmd_create, "create (and start) the instance an env file describes"},
    {"start", berth::cli::cmd_start, "start an instance"},
    {"stop", berth::cli::cmd_stop, "stop an instance"},
    {"status", berth::cli::cmd_status, "whether an instance runs and answers"},
    {"list", berth::cli::cmd_list, "the instances on this host"},
    {"verify", berth::cli::cmd_verify, "check every resource of an instance"},
    {"destroy", berth::cli::cmd_destroy, "remove an instance and everything it made"},
};

}  // namespace

int main(int argc, char** argv) {
  std::string_view verb = argc > 1 ? argv[1] : "";
  if (verb.empty() || verb == "--help" || verb == "-h") {
    std::string text = "usage: dockyard COMMAND [options]\n\ncommands:\n";
    for (const auto& v : kVerbs) text += fmt::format("  {:<9} {}\n", v.name, v.summary);
    text += "\n`dockyard COMMAND --help` describes each command.\n";
    fmt::print(verb.empty() ? stderr : stdout, "{}", text);
    return verb.empty() ? 2 : 0;
  }
  for (const auto& v : kVerbs)
    if (verb == v.name) return v.run(argc - 1, argv + 1);
  fmt::print(stderr, "dockyard: error: unknown command '{}' (see --help)\n", verb);
  return 2;
}
