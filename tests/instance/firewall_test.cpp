// SPDX-License-Identifier: Apache-2.0
// An instance's nftables table, applied for real in a fresh namespace by the
// very command its unit runs (berth-firewall, through libnet's Firewall).
#include "berth/core/process.hpp"
#include "berth/instance/render.hpp"

#include "berth_catch.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

using namespace berth;
using namespace berth::instance;

namespace {

core::Result<core::Output> run_step(std::vector<std::string> argv) {
  argv.front() = BERTH_FIREWALL_BIN;  // the unit runs the instance's copy; the test, the build's
  return core::run_checked({.program = argv.front(), .args = {argv.begin() + 1, argv.end()}});
}

std::string nft(std::vector<std::string> args) { return core::run_checked({.program = "nft", .args = args}).value().out; }

}  // namespace

TEST_CASE("the instance's table is applied twice without change, removed, and touches nothing else", "[instance]") {
  auto e = parse_env("DOCKYARD_ROOT=/dy1\nDOCKYARD_DOCKER_PREFIX=dy1_\nDOCKYARD_BRIDGE_CIDR=10.31.7.1/24\n"
                     "DOCKYARD_FIXED_CIDR=10.31.7.0/24\nDOCKYARD_POOL_BASE=10.42.0.0/16\nDOCKYARD_POOL_SIZE=24\n")
               .value();
  REQUIRE(core::run_checked({.program = "nft", .args = {"add table inet other"}}));
  const auto up = start_steps(e, {}).back();
  const auto down = stop_steps(e, {}).back();
  REQUIRE(run_step(up.argv));
  const std::string once = nft({"list", "table", "inet", "dy1_docker"});
  REQUIRE(run_step(up.argv));  // ExecStartPre after a restart
  CHECK(nft({"list", "table", "inet", "dy1_docker"}) == once);
  INFO(once);
  CHECK_THAT(once, Catch::Contains("ip daddr 10.42.0.0/16 drop comment \"zone:dy1_ "));
  CHECK_THAT(once, Catch::Contains("ip saddr 10.31.7.0/24 ip daddr != 10.31.7.0/24 ip daddr != 10.42.0.0/16 masquerade"));
  auto verify = up.argv;
  verify.push_back("--verify");
  CHECK(run_step(verify));
  CHECK(nft({"list", "tables"}) == "table inet other\ntable inet dy1_docker\n");
  REQUIRE(run_step(down.argv));  // ExecStopPost
  CHECK(nft({"list", "tables"}) == "table inet other\n");
  REQUIRE(run_step(down.argv));  // twice is fine
  auto gone = up.argv;
  gone.push_back("--verify");
  CHECK_FALSE(run_step(gone));  // verify names the missing table
}

TEST_CASE("berth-firewall refuses bad input with one error line and makes no table", "[instance][bad-input]") {
  for (std::vector<std::string> args : {std::vector<std::string>{"--table", "dy9_docker", "bogus"},
                                        {"--table", "dy9_docker", "zone"},
                                        {"--table", "dy9_docker", "zone", "dy9_", "--subnet", "10.9.0.0/33"},
                                        {"--table", "dy9_docker", "zone", "dy9_", "--masquerade", "nope"}}) {
    INFO(fmt::format("{}", fmt::join(args, " ")));
    auto r = core::run({.program = BERTH_FIREWALL_BIN, .args = args});
    REQUIRE(r);
    CHECK(r->exit_code != 0);
    CHECK(r->err.starts_with("berth-firewall: error: "));
    CHECK(std::count(r->err.begin(), r->err.end(), '\n') == 1);
    CHECK(nft({"list", "tables"}).find("dy9_docker") == std::string::npos);
  }
}
