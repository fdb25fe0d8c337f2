// SPDX-License-Identifier: Apache-2.0
// Helper of ipam_crash_test: allocates (and now and then releases) in a loop
// and reports every operation after it returned, one line each:
//   alloc OWNER ADDRESS | release OWNER
// Usage: ipam_stress STATE_DIR OWNER_PREFIX COUNT
#include "berth/net/ipam.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {
void say(const std::string& line) {
  // One write(2) per line: a SIGKILL never leaves half a line in the pipe.
  (void)!::write(STDOUT_FILENO, line.data(), line.size());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: ipam_stress STATE_DIR OWNER_PREFIX COUNT\n");
    return 2;
  }
  using namespace berth::net;
  auto ipam = Ipam::open("stress", Subnet::parse("10.50.0.0/16").value(), argv[1]);
  if (!ipam) {
    fmt::print(stderr, "ipam_stress: {}\n", ipam.error().message());
    return 1;
  }
  const std::string prefix = argv[2];
  const int count = std::atoi(argv[3]);
  for (int i = 0; i < count; ++i) {
    std::string owner = fmt::format("{}-{}", prefix, i);
    auto a = ipam->allocate(owner);
    if (!a) {
      fmt::print(stderr, "ipam_stress: {}\n", a.error().message());
      return 1;
    }
    say(fmt::format("alloc {} {}\n", owner, a->to_string()));
    if (i % 3 == 2) {  // churn, so lowest-free reuse is exercised too
      std::string victim = fmt::format("{}-{}", prefix, i - 1);
      if (auto r = ipam->release(victim); !r) {
        fmt::print(stderr, "ipam_stress: {}\n", r.error().message());
        return 1;
      }
      say(fmt::format("release {}\n", victim));
    }
  }
  return 0;
}
