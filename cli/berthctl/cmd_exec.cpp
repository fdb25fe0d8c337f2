// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include "berth/runtime/daemon/run_request.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace berth::cli {

int cmd_exec(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl exec [options] CONTAINER COMMAND [ARG...]\n\n"
      "Runs a command in a running container as its own process runs (user, environment,\n"
      "working directory), with no stdin; prints what it wrote and exits with its exit code.\n\noptions");
  desc.add_options()("help,h", "show this help")("timeout", po::value<std::string>(),
                                                  "kill it past this long (30s, 5m; default 10m)")(
      "interactive,i", "keep stdin open (not supported yet)")("tty,t", "a terminal (not supported yet)");
  const int at = first_operand(argc, argv, desc);
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("exec", at < 0 ? argc : at, argv, desc, vm, none, 0, 0)) return *done;
  if (at < 0 || at + 1 >= argc) {
    fmt::print(stderr, "berthctl: error: exec: needs a container and a command\n");
    return 2;
  }
  if (vm.count("interactive") || vm.count("tty")) {
    fmt::print(stderr, "berthctl: error: exec: -i and -t are not supported yet: berth gives an exec no stdin or terminal\n");
    return 2;
  }
  std::optional<std::chrono::milliseconds> timeout;
  if (vm.count("timeout")) {
    auto d = runtime::daemon::parse_duration(vm["timeout"].as<std::string>());
    if (!d) return report(kTool, d.error().wrap("--timeout"));
    timeout = *d;
  }
  std::vector<std::string> command(argv + at + 1, argv + argc);
  auto r = client.exec(argv[at], command, timeout);
  // Docker's code for "it could not be run".
  if (!r) return report(kTool, r.error()), 126;
  std::fwrite(r->out.data(), 1, r->out.size(), stdout);
  std::fwrite(r->err.data(), 1, r->err.size(), stderr);
  return r->exit_code;
}

}  // namespace berth::cli
