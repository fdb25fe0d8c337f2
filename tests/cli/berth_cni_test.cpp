// SPDX-License-Identifier: Apache-2.0
// berth-cni driven exactly as the CNI spec says: CNI_* in the environment,
// the network configuration (with runtimeConfig.portMappings) on stdin.
#include "berth/core/process.hpp"
#include "berth/net/cni/cni.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"
#include "world.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

using namespace berth;
using test::World;
namespace json = boost::json;

namespace {

struct Cni {
  test::TempDir state;
  World world;

  std::string config(std::string extra = {}, std::string version = "1.0.0") const {
    return fmt::format(R"({{"cniVersion":"{}","name":"cnitest","type":"berth-cni","bridge":"cni0",
      "subnet":"10.77.0.0/24","stateDir":"{}","capabilities":{{"portMappings":true}}{}}})",
                       version, state.path.string(), extra);
  }

  core::Output call(const std::string& command, const std::string& id, const std::string& netns,
                    const std::string& stdin_config) const {
    std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND=" + command,
                                    "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0",
                                    "CNI_PATH=/opt/cni/bin"};
    auto r = core::run({.program = BERTH_CNI, .args = {}, .env = env, .stdin_data = stdin_config,
                        .timeout = std::chrono::seconds(20)});
    REQUIRE(r);
    return *r;
  }
};

}  // namespace

TEST_CASE_METHOD(Cni, "berth-cni ADD, CHECK and DEL as a CNI runtime calls them", "[cni-plugin]") {
  const auto& ns = world.container("ctr");
  const std::string cfg = config(R"(,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]})");
  auto add = call("ADD", "ctr", ns.path(), cfg);
  INFO(add.out << add.err);
  REQUIRE(add.exit_code == 0);
  auto result = net::cni::parse_result(add.out);
  REQUIRE(result);
  CHECK(result->cni_version == "1.0.0");
  REQUIRE(result->ips.size() == 1);
  CHECK(result->ips[0].address.to_string() == "10.77.0.2/24");
  CHECK(result->ips[0].gateway->to_string() == "10.77.0.1");
  REQUIRE(result->interfaces.size() == 2);
  CHECK(result->interfaces[1].name == "eth0");
  CHECK(result->interfaces[1].sandbox == ns.path().string());
  CHECK(result->routes.at(0).dst.to_string() == "0.0.0.0/0");

  CHECK(World::ping(ns.path(), "10.77.0.1"));
  auto server = World::serve_peer_address(ns.path(), "tcp", 80);
  CHECK(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 8080) == test::kOutsideV4);

  const std::string with_prev = config(fmt::format(R"(,"prevResult":{})", add.out));
  CHECK(call("CHECK", "ctr", ns.path(), with_prev).exit_code == 0);
  auto again = call("ADD", "ctr", ns.path(), cfg);  // idempotent
  CHECK(again.exit_code == 0);
  CHECK(net::cni::parse_result(again.out).value() == *result);

  auto del = call("DEL", "ctr", ns.path(), with_prev);
  INFO(del.out << del.err);
  CHECK(del.exit_code == 0);
  CHECK(World::ask(world.outside(), "tcp", test::kHostUplinkV4, 8080, std::chrono::milliseconds(500)).empty());
  CHECK(call("DEL", "ctr", "", with_prev).exit_code == 0);  // twice, and without a netns
  auto check = call("CHECK", "ctr", ns.path(), with_prev);
  CHECK(check.exit_code != 0);
  CHECK(net::cni::parse_error(check.out).value().code == 3);
}

TEST_CASE_METHOD(Cni, "berth-cni speaks older CNI versions and reports VERSION, STATUS and GC", "[cni-plugin]") {
  auto version = call("VERSION", "", "", "");
  REQUIRE(version.exit_code == 0);
  auto v = json::parse(version.out).as_object();
  CHECK(v.at("supportedVersions").as_array().size() == 5);

  const auto& ns = world.container("old");
  auto add = call("ADD", "old", ns.path(), config({}, "0.4.0"));
  REQUIRE(add.exit_code == 0);
  auto o = json::parse(add.out).as_object();
  CHECK(o.at("cniVersion").as_string() == "0.4.0");
  CHECK(o.at("ips").as_array().at(0).at("version").as_string() == "4");

  CHECK(call("STATUS", "", "", config({}, "1.1.0")).exit_code == 0);
  // GC with no valid attachments removes the container's attachment.
  CHECK(call("GC", "", "", config(R"(,"cni.dev/valid-attachments":[])", "1.1.0")).exit_code == 0);
  CHECK_FALSE(net::Links::open().value().find_link(json::value_to<std::string>(o.at("interfaces").as_array().at(0).at("name"))).value());
}

TEST_CASE_METHOD(Cni, "berth-cni answers bad input with CNI error JSON", "[cni-plugin][bad-input]") {
  const auto& ns = world.container("bad");
  struct Row {
    std::string command, netns, config;
    int code;
    std::string msg;
  };
  std::vector<Row> rows = {
      {"ADD", ns.path(), "{not json", 7, "network configuration is not JSON"},
      {"ADD", ns.path(), config({}, "9.9.9"), 1, "CNI version 9.9.9 is not supported"},
      {"ADD", "", config(), 4, "CNI_NETNS is not set"},
      {"FROB", ns.path(), config(), 4, "unknown CNI_COMMAND 'FROB'"},
      {"ADD", ns.path(), config(R"(,"runtimeConfig":{"portMappings":[{"hostPort":70000,"containerPort":80}]})"), 7,
       "host port 70000 is out of range 1-65535"},
      {"ADD", ns.path(), config(R"(,"runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]})"),
       7, "unknown protocol 'icmp'"},
      {"ADD", "/run/netns/gone", config(), 999, "open network namespace '/run/netns/gone': No such file or directory"},
  };
  for (const auto& row : rows) {
    auto out = call(row.command, "bad", row.netns, row.config);
    INFO(row.command << " " << row.config << " -> " << out.out);
    CHECK(out.exit_code != 0);
    auto err = net::cni::parse_error(out.out);
    REQUIRE(err);
    CHECK(err->code == row.code);
    CHECK_THAT(err->msg, Catch::Contains(row.msg));
  }
  CHECK_FALSE(net::Links::open().value().find_link("cni0").value());  // nothing was set up
}
