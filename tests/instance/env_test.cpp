// SPDX-License-Identifier: Apache-2.0
// dockyard's env files and gen-env's choices, against an injected view of the host.
#include "berth/instance/env.hpp"
#include "berth/instance/gen_env.hpp"

#include "berth_catch.hpp"

#include <fmt/format.h>

#include <set>

using namespace berth;
using namespace berth::instance;

namespace {

const char* kGood =
    "# comment\n"
    "DOCKYARD_ROOT=/dy1\n"
    "DOCKYARD_DOCKER_PREFIX=dy1_\n"
    "export DOCKYARD_BRIDGE_CIDR=\"10.31.7.1/24\"\n"
    "DOCKYARD_FIXED_CIDR=10.31.7.0/24\n"
    "\n"
    "DOCKYARD_POOL_BASE=10.42.0.0/16\n"
    "DOCKYARD_POOL_SIZE=24\n";

std::string with_line(std::string key, std::string value) {
  std::string text = kGood;
  auto at = text.find(key + "=");
  auto end = text.find('\n', at);
  return text.replace(at, end - at, key + "=" + value);
}

HostView empty_host() {
  HostView h;
  h.exists = [](const std::filesystem::path&) { return false; };
  return h;
}

}  // namespace

TEST_CASE("an env file parses, renders and parses back", "[instance][env]") {
  auto e = parse_env(kGood);
  REQUIRE(e);
  CHECK(e->root == "/dy1");
  CHECK(e->prefix == "dy1_");
  CHECK(e->bridge_cidr.to_string() == "10.31.7.1/24");
  CHECK(e->pool_base.to_string() == "10.42.0.0/16");
  CHECK(e->bridge() == "dy1_docker0");
  CHECK(e->unit() == "dy1_docker.service");
  CHECK(e->exec_root() == "/run/dy1_docker");
  CHECK(parse_env(render_env(*e)).value() == *e);
}

TEST_CASE("env files with bad lines or injection attempts are refused, naming the line", "[instance][env][bad-input]") {
  struct Row {
    std::string text, message;
  };
  auto row = GENERATE(values<Row>({
      {with_line("DOCKYARD_DOCKER_PREFIX", "dy1;rm -rf /_"), "env line 3: DOCKYARD_DOCKER_PREFIX holds a character that is not allowed"},
      {with_line("DOCKYARD_DOCKER_PREFIX", "dy/1_"), "DOCKYARD_DOCKER_PREFIX: prefix 'dy/1_' must be 2 to 8 characters"},
      {with_line("DOCKYARD_DOCKER_PREFIX", "\"dy 1_\""), "env line 3: DOCKYARD_DOCKER_PREFIX holds a character that is not allowed"},
      {with_line("DOCKYARD_DOCKER_PREFIX", "dy1_\nExecStartPre=/bin/evil"), "env line 4: unknown key 'ExecStartPre'"},
      {with_line("DOCKYARD_DOCKER_PREFIX", "dy$(id)_"), "env line 3: DOCKYARD_DOCKER_PREFIX holds a character that is not allowed"},
      {with_line("DOCKYARD_ROOT", "/dy1/../etc"), "DOCKYARD_ROOT: root '/dy1/../etc' must not contain '.' or '..' components"},
      {with_line("DOCKYARD_ROOT", "relative"), "DOCKYARD_ROOT: root 'relative' must be an absolute path"},
      {with_line("DOCKYARD_BRIDGE_CIDR", "10.31.7/24"), "DOCKYARD_BRIDGE_CIDR: malformed CIDR"},
      {with_line("DOCKYARD_FIXED_CIDR", "10.99.0.0/24"), "env: fixed CIDR 10.99.0.0/24 is not inside the bridge's subnet 10.31.7.0/24"},
      {with_line("DOCKYARD_POOL_SIZE", "x"), "DOCKYARD_POOL_SIZE: 'x' is not a number"},
      {std::string(kGood) + "DOCKYARD_ROOT=/dy2\n", "env line 9: DOCKYARD_ROOT is set twice"},
      {std::string(kGood) + "LD_PRELOAD=/evil.so\n", "env line 9: unknown key 'LD_PRELOAD'"},
      {std::string(kGood) + "garbage\n", "env line 9: expected KEY=VALUE"},
      {"DOCKYARD_ROOT=/dy1\n", "env: DOCKYARD_DOCKER_PREFIX is missing"},
  }));
  auto e = parse_env(row.text);
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().message(), Catch::StartsWith(row.message));
}

TEST_CASE("gen-env picks values that collide with nothing", "[instance][gen-env]") {
  HostView host = empty_host();
  host.networks = {*net::Subnet::parse("10.0.0.0/9")};  // the host uses the lower half of 10/8
  host.interfaces = {"lo", "eth0", "dy1_docker0"};      // dy1_ is taken by a bridge
  host.units = {"dy2_docker.service"};                  // dy2_ by a unit
  std::mt19937_64 rng(42);
  std::set<std::string> bridges;
  for (int i = 0; i < 20; ++i) {
    auto e = generate_env(host, {}, rng);
    REQUIRE(e);
    CHECK(e->prefix == fmt::format("dy{}_", 3 + i));
    CHECK(e->root == fmt::format("/dy{}", 3 + i));
    CHECK_FALSE(host.networks[0].overlaps(e->bridge_cidr.subnet()));
    CHECK_FALSE(host.networks[0].overlaps(e->pool_base));
    CHECK_FALSE(e->pool_base.overlaps(e->bridge_cidr.subnet()));
    for (const auto& p : docker_default_pools()) CHECK_FALSE(p.overlaps(e->pool_base));
    CHECK(e->fixed_cidr == e->bridge_cidr.subnet());
    bridges.insert(e->bridge_cidr.to_string());
    host.instances.push_back(*e);  // the next one must avoid it
  }
  CHECK(bridges.size() == 20);
}

TEST_CASE("gen-env overrides that collide are errors naming what they collide with", "[instance][gen-env][bad-input]") {
  HostView host = empty_host();
  host.networks = {*net::Subnet::parse("10.5.0.0/16")};
  InstanceEnv other = parse_env(kGood).value();
  host.instances = {other};
  std::mt19937_64 rng(1);
  auto docker = generate_env(host, {.bridge_cidr = "172.17.0.1/24"}, rng);
  REQUIRE_FALSE(docker);
  CHECK(docker.error().message() ==
        "DOCKYARD_BRIDGE_CIDR 172.17.0.0/24 collides with Docker's default address pool 172.17.0.0/16");
  CHECK(generate_env(host, {.bridge_cidr = "172.17.0.1/24", .allow_docker_pools = true}, rng));
  auto route = generate_env(host, {.pool_base = "10.5.0.0/16"}, rng);
  REQUIRE_FALSE(route);
  CHECK(route.error().message() == "DOCKYARD_POOL_BASE 10.5.0.0/16 collides with the host's network 10.5.0.0/16");
  auto instance = generate_env(host, {.bridge_cidr = "10.31.7.1/24"}, rng);
  REQUIRE_FALSE(instance);
  CHECK(instance.error().message() ==
        "DOCKYARD_BRIDGE_CIDR 10.31.7.0/24 collides with instance 'dy1_' (bridge 10.31.7.0/24)");
  auto prefix = generate_env(host, {.prefix = "dy1_"}, rng);
  REQUIRE_FALSE(prefix);
  CHECK_THAT(prefix.error().message(), Catch::StartsWith("DOCKYARD_DOCKER_PREFIX 'dy1_' is in use"));
  CHECK(generate_env(host, {.prefix = "dy1_", .nocheck = true}, rng));  // --nocheck
  auto bad = generate_env(host, {.prefix = "a b_"}, rng);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::StartsWith("DOCKYARD_DOCKER_PREFIX: prefix 'a b_' must be"));
}

TEST_CASE("gen-env refuses a root that already holds an instance", "[instance][gen-env][bad-input]") {
  HostView host = empty_host();
  host.exists = [](const std::filesystem::path& p) { return p == "/srv/dy/docker-runtime/bin"; };
  std::mt19937_64 rng(7);
  auto e = generate_env(host, {.root = "/srv/dy"}, rng);
  REQUIRE_FALSE(e);
  CHECK(e.error().message() == "DOCKYARD_ROOT /srv/dy already holds a dockyard instance");
  CHECK(generate_env(host, {.root = "/srv/other"}, rng));
}
