// SPDX-License-Identifier: Apache-2.0
#include "netns_sandbox.hpp"

#include "berth/net/link/links.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::test {

int enter_sandbox() {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "skipped: network namespace tests need root\n");
    return kSkip;
  }
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    if (errno == EPERM) {
      std::fprintf(stderr, "skipped: unshare(CLONE_NEWNET|CLONE_NEWNS) not permitted\n");
      return kSkip;
    }
    std::fprintf(stderr, "sandbox: unshare: %s\n", std::strerror(errno));
    return 1;
  }
  // Mounts made from here on stay in this process's mount namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::fprintf(stderr, "sandbox: make / private: %s\n", std::strerror(errno));
    return 1;
  }
  ::mkdir("/run/netns", 0755);  // as `ip netns add` would; empty on the host
  if (::mount("tmpfs", "/run/netns", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0) {
    std::fprintf(stderr, "sandbox: mount tmpfs on /run/netns: %s\n", std::strerror(errno));
    return 1;
  }
  auto links = net::Links::open();
  if (!links || !links->set_up("lo")) {
    std::fprintf(stderr, "sandbox: cannot bring up lo\n");
    return 1;
  }
  return 0;
}

}  // namespace berth::test
