// SPDX-License-Identifier: Apache-2.0
// berth-cni: berth's native backend as a CNI plugin. The CNI runtime passes
// CNI_* in the environment and the network configuration on stdin.
#include "berth/core/log.hpp"
#include "berth/net/cni/cni_plugin.hpp"
#include "environment.hpp"

#include <fmt/format.h>

#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
  if (argc > 1) {
    std::string_view a = argv[1];
    if (a == "--help" || a == "-h") {
      fmt::print(
          "usage: berth-cni   (run by a CNI runtime)\n\n"
          "berth's native network backend as a CNI plugin (spec 1.0.0; STATUS and GC of 1.1.0).\n"
          "Reads CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH\n"
          "from the environment and the network configuration from stdin; prints the result\n"
          "or a CNI error as JSON on stdout. Configuration keys: see berth's README.\n");
      return 0;
    }
    fmt::print(stderr, "berth-cni: error: unexpected argument '{}' (see --help)\n", a);
    return 2;
  }
  std::string config((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto outcome = berth::net::cni::run_plugin(berth::net::cni::invocation_from_environment(berth::cli::environment(), std::move(config)));
  if (!outcome.out.empty()) fmt::print("{}\n", outcome.out);
  return outcome.exit_code;
}
