// SPDX-License-Identifier: Apache-2.0
// main() of the netns tier: each ctest test is one process, so each test case
// runs in its own fresh network namespace.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "netns_sandbox.hpp"

#include <string_view>

int main(int argc, char** argv) {
  // Listing test names (ctest's discovery at build time) needs no privileges.
  bool listing = false;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]).starts_with("--list")) listing = true;
  if (!listing) {
    if (int rc = berth::test::enter_sandbox(); rc != 0) return rc;
  }
  return Catch::Session().run(argc, argv);
}
