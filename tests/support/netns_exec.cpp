// SPDX-License-Identifier: Apache-2.0
// Runs a command inside a fresh, private network namespace (see
// netns_sandbox.hpp): `berth_netns_exec PROGRAM ARGS...`. Used to run the
// examples and the command-line tests of the netns tier.
#include "netns_sandbox.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: berth_netns_exec PROGRAM [ARGS...]\n");
    return 2;
  }
  if (int rc = berth::test::enter_sandbox(); rc != 0) return rc;
  ::execvp(argv[1], argv + 1);
  std::fprintf(stderr, "berth_netns_exec: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
