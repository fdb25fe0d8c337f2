// SPDX-License-Identifier: Apache-2.0
// berthctl: berthd's client. `berthctl [-H SOCKET] COMMAND [options]`.
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <string_view>

namespace {

using Run = int (*)(const berth::cli::Client&, int, char**);

struct Verb {
  std::string_view name;
  Run run;
  std::string_view summary;
};

constexpr Verb kVerbs[] = {
    {"run", berth::cli::cmd_run, "run a container (pulled first when missing)"},
    {"ps", berth::cli::cmd_ps, "the containers and their state"},
    {"inspect", berth::cli::cmd_inspect, "one container's whole state, as JSON"},
    {"logs", berth::cli::cmd_logs, "a container's output (-f follows it)"},
    {"stop", berth::cli::cmd_stop, "stop containers (stop signal, grace period, KILL)"},
    {"kill", berth::cli::cmd_kill, "send a signal to containers"},
    {"rm", berth::cli::cmd_rm, "remove containers (-f: running ones too)"},
    {"wait", berth::cli::cmd_wait, "wait for containers to end; print their exit codes"},
    {"exec", berth::cli::cmd_exec, "run a command in a running container"},
    {"pull", berth::cli::cmd_pull, "pull an image from a registry"},
    {"load", berth::cli::cmd_load, "load images from a docker save or OCI archive"},
    {"images", berth::cli::cmd_images, "the images in berthd's store"},
    {"rmi", berth::cli::cmd_rmi, "remove image names"},
    {"ping", berth::cli::cmd_ping, "whether berthd answers"},
    {"version", berth::cli::cmd_version, "berthd's version"},
};

std::string usage() {
  std::string text =
      "usage: berthctl [-H SOCKET] COMMAND [options]\n\n"
      "berthd's client. -H (or BERTH_HOST) names berthd's socket: a path or unix:///path\n"
      "(default /run/berth/berthd.sock).\n\ncommands:\n";
  for (const auto& v : kVerbs) text += fmt::format("  {:<8} {}\n", v.name, v.summary);
  text += "\n`berthctl COMMAND --help` describes each command.\n";
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string host;
  int i = 1;
  // Global options come before the command.
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-H" || a == "--host") {
      if (i + 1 >= argc) {
        fmt::print(stderr, "berthctl: error: {} needs a socket path\n", a);
        return 2;
      }
      host = argv[++i];
    } else if (a.starts_with("--host=")) {
      host = std::string(a.substr(7));
    } else {
      break;
    }
  }
  std::string_view verb = i < argc ? argv[i] : "";
  if (verb.empty() || verb == "--help" || verb == "-h" || verb == "help") {
    fmt::print(verb.empty() ? stderr : stdout, "{}", usage());
    return verb.empty() ? 2 : 0;
  }
  const char* env = std::getenv("BERTH_HOST");
  auto socket = berth::runtime::daemon::resolve_host(host, env ? env : "");
  if (!socket) return berth::cli::report("berthctl", socket.error());
  const berth::cli::Client client(*socket);
  for (const auto& v : kVerbs)
    if (verb == v.name) return v.run(client, argc - i, argv + i);
  fmt::print(stderr, "berthctl: error: unknown command '{}' (see --help)\n", verb);
  return 2;
}
