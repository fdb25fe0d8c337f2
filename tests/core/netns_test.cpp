// SPDX-License-Identifier: Apache-2.0
#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"

#include "berth_catch.hpp"

#include <filesystem>
#include <sys/stat.h>

using namespace berth::core;

namespace {
/// The inode of a namespace file identifies the namespace.
ino_t ns_inode(const std::filesystem::path& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}
}  // namespace

TEST_CASE("run_in_netns runs the function, and programs it starts, in that namespace", "[netns]") {
  auto ns = NetnsFile::create("/run/netns/berth-t1");
  REQUIRE(ns);
  auto inode = run_in_netns(ns->path(), []() -> Result<ino_t> { return ns_inode("/proc/thread-self/ns/net"); });
  REQUIRE(inode);
  CHECK(*inode == ns_inode(ns->path()));
  CHECK(*inode != ns_inode("/proc/thread-self/ns/net"));  // the caller did not move

  auto ip = run_in_netns(ns->path(), [] { return run_checked({.program = "ip", .args = {"-o", "link", "show"}}); });
  REQUIRE(ip);
  CHECK_THAT(ip->out, Catch::Contains("lo:"));
  CHECK_THAT(ip->out, !Catch::Contains("eth"));
}

TEST_CASE("NetnsFile removes its namespace and refuses to overwrite one", "[netns]") {
  {
    auto ns = NetnsFile::create("/run/netns/berth-t2");
    REQUIRE(ns);
    auto again = NetnsFile::create("/run/netns/berth-t2");
    REQUIRE_FALSE(again);
    CHECK(again.error().is(Errc::already_exists));
    CHECK(std::filesystem::exists("/run/netns/berth-t2"));  // the failed create left it alone
  }
  CHECK_FALSE(std::filesystem::exists("/run/netns/berth-t2"));
  CHECK(NetnsFile::remove("/run/netns/berth-t2"));  // idempotent
}

TEST_CASE("a namespace path that does not exist is one clear error", "[netns][bad-input]") {
  auto r = run_in_netns("/run/netns/berth-missing", []() -> Result<int> { return 1; });
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "open network namespace '/run/netns/berth-missing': No such file or directory");
  auto not_ns = open_netns("/etc/hostname");
  REQUIRE_FALSE(not_ns);
  CHECK_THAT(not_ns.error().message(), Catch::Contains("not a namespace file"));
}
