// SPDX-License-Identifier: Apache-2.0
// An instance's nftables table, applied for real in a fresh namespace.
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/render.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

using namespace berth;
using namespace berth::instance;

TEST_CASE("the instance's nft file replaces its table, twice in a row, and touches nothing else", "[instance]") {
  test::TempDir dir;
  auto e = parse_env("DOCKYARD_ROOT=/dy1\nDOCKYARD_DOCKER_PREFIX=dy1_\nDOCKYARD_BRIDGE_CIDR=10.31.7.1/24\n"
                     "DOCKYARD_FIXED_CIDR=10.31.7.0/24\nDOCKYARD_POOL_BASE=10.42.0.0/16\nDOCKYARD_POOL_SIZE=24\n")
               .value();
  REQUIRE(core::run_checked({.program = "nft", .args = {"add table inet other"}}));
  const auto file = dir.path / "firewall.nft";
  REQUIRE(core::write_file_atomic(file, render_nft_ruleset(e)));
  REQUIRE(core::run_checked({.program = "nft", .args = {"-f", file.string()}}));
  REQUIRE(core::run_checked({.program = "nft", .args = {"-f", file.string()}}));  // ExecStartPre after a restart
  auto table = core::run_checked({.program = "nft", .args = {"list", "table", "inet", "dy1_docker"}}).value().out;
  CHECK_THAT(table, Catch::Contains("ip saddr { 10.31.7.0/24, 10.42.0.0/16 } ip daddr { 10.31.7.0/24, 10.42.0.0/16 } accept"));
  CHECK_THAT(table, Catch::Contains("ip daddr { 10.31.7.0/24, 10.42.0.0/16 } drop"));
  CHECK_THAT(table, Catch::Contains("masquerade"));
  auto all = core::run_checked({.program = "nft", .args = {"list", "tables"}}).value().out;
  CHECK(all == "table inet other\ntable inet dy1_docker\n");
  REQUIRE(core::run_checked({.program = "nft", .args = {"delete", "table", "inet", "dy1_docker"}}));  // ExecStopPost
  CHECK(core::run_checked({.program = "nft", .args = {"list", "tables"}}).value().out == "table inet other\n");
}
