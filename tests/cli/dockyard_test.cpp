// SPDX-License-Identifier: Apache-2.0
// `dockyard gen-env` reading the host it runs on (a fresh namespace here).
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/env.hpp"
#include "berth/net/link/links.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>

using namespace berth;

namespace {
core::Output dockyard(std::vector<std::string> args, std::vector<std::string> env = {}) {
  env.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  auto r = core::run({.program = BERTH_DOCKYARD, .args = std::move(args), .env = env});
  REQUIRE(r);
  return *r;
}
}  // namespace

TEST_CASE("dockyard gen-env avoids what the host already uses", "[dockyard]") {
  test::TempDir dir;
  auto links = net::Links::open().value();
  REQUIRE(links.create_bridge("dy1_docker0", {.up = true}));
  REQUIRE(links.add_address("dy1_docker0", net::InterfaceAddress::parse("10.50.0.1/16").value()));
  const auto file = dir.path / "dockyard.env";
  auto out = dockyard({"gen-env", "-o", file.string(), "--json"});
  INFO(out.out << out.err);
  REQUIRE(out.exit_code == 0);
  auto j = boost::json::parse(out.out).as_object();
  CHECK(j.at("prefix").as_string() == "dy2_");  // dy1_docker0 exists
  auto env = instance::parse_env(core::read_file(file).value()).value();
  CHECK(env.prefix == "dy2_");
  CHECK_FALSE(net::Subnet::parse("10.50.0.0/16").value().overlaps(env.bridge_cidr.subnet()));
  CHECK_FALSE(net::Subnet::parse("10.50.0.0/16").value().overlaps(env.pool_base));
}

TEST_CASE("dockyard gen-env refuses an override that collides, writing nothing", "[dockyard][bad-input]") {
  test::TempDir dir;
  auto links = net::Links::open().value();
  REQUIRE(links.create_bridge("br-test", {.up = true}));
  REQUIRE(links.add_address("br-test", net::InterfaceAddress::parse("10.50.0.1/16").value()));
  const auto file = dir.path / "dockyard.env";
  auto out = dockyard({"gen-env", "-o", file.string()}, {"DOCKYARD_POOL_BASE=10.50.0.0/16"});
  CHECK(out.exit_code == 1);
  CHECK(out.err == "dockyard: error: gen-env: DOCKYARD_POOL_BASE 10.50.0.0/16 collides with the host's network "
                   "10.50.0.0/16\n");
  CHECK_FALSE(std::filesystem::exists(file));
  auto bad = dockyard({"gen-env", "-o", file.string()}, {"DOCKYARD_DOCKER_PREFIX=dy1;reboot_"});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::StartsWith("dockyard: error: gen-env: DOCKYARD_DOCKER_PREFIX: prefix 'dy1;reboot_'"));
  CHECK(dockyard({"--help"}).exit_code == 0);
  CHECK(dockyard({"gen-env", "--help"}).exit_code == 0);
  CHECK(dockyard({"frob"}).exit_code == 2);
}
