// SPDX-License-Identifier: Apache-2.0
// What dockyard writes for an instance: daemon.json and the systemd unit.
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/render.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>

using namespace berth;
using namespace berth::instance;
namespace json = boost::json;

namespace {
InstanceEnv env_at(const std::string& root) {
  return parse_env("DOCKYARD_ROOT=" + root +
                   "\nDOCKYARD_DOCKER_PREFIX=dy1_\nDOCKYARD_BRIDGE_CIDR=10.31.7.1/24\nDOCKYARD_FIXED_CIDR=10.31.7.0/24\n"
                   "DOCKYARD_POOL_BASE=10.42.0.0/16\nDOCKYARD_POOL_SIZE=24\n")
      .value();
}
}  // namespace

TEST_CASE("daemon.json turns iptables off and gives the instance its own everything", "[instance][render]") {
  auto d = json::parse(render_daemon_json(env_at("/dy1"), {.sysbox = true})).as_object();
  CHECK(d.at("iptables").as_bool() == false);
  CHECK(d.at("bridge").as_string() == "dy1_docker0");
  CHECK(d.at("fixed-cidr").as_string() == "10.31.7.0/24");
  CHECK(d.at("default-address-pools").as_array().at(0).at("base").as_string() == "10.42.0.0/16");
  CHECK(d.at("default-address-pools").as_array().at(0).at("size").as_int64() == 24);
  CHECK(d.at("exec-root").as_string() == "/run/dy1_docker");
  CHECK(d.at("data-root").as_string() == "/dy1/docker");
  CHECK(d.at("pidfile").as_string() == "/dy1/docker-runtime/run/dockerd.pid");
  CHECK(d.at("hosts").as_array().at(0).as_string() == "unix:///dy1/docker.sock");
  CHECK(d.at("group").as_string() == "dy1_docker");
  CHECK(d.at("containerd").as_string() == "/run/dy1_docker/containerd/containerd.sock");
  CHECK(d.at("runtimes").at("sysbox-runc").at("path").as_string() == "/dy1/docker-runtime/bin/sysbox-runc");
  CHECK_FALSE(json::parse(render_daemon_json(env_at("/dy1"), {})).as_object().contains("runtimes"));
  CHECK(layout_of(env_at("/dy1")).containerd_socket == "/run/dy1_docker/containerd/containerd.sock");
}

TEST_CASE("the unit is self-contained and passes systemd-analyze verify", "[instance][render]") {
  test::TempDir dir;
  const std::string root = (dir.path / "dy1").string();
  InstanceEnv e = env_at(root);
  Layout l = layout_of(e);
  std::filesystem::create_directories(l.bin);
  REQUIRE(core::write_file_atomic(l.bin / "dockerd", "#!/bin/sh\n", 0755));
  for (auto mode : {FirewallMode::Nftables, FirewallMode::Iptables}) {
    INFO((mode == FirewallMode::Nftables ? "nftables" : "iptables"));
    const std::string unit = render_unit(e, {.firewall = mode, .sysbox = true});
    CHECK_THAT(unit, Catch::Contains("ExecStart=" + root + "/docker-runtime/bin/dockerd --config-file " + root +
                                     "/docker-runtime/etc/daemon.json"));
    CHECK_THAT(unit, Catch::Contains("Requires=dockyard-sysbox.service"));
    CHECK_THAT(unit, Catch::Contains("Requires=dy1_containerd.service"));
    CHECK_THAT(unit, Catch::Contains("Restart=on-failure"));
    CHECK_THAT(unit, Catch::Contains("Environment=PATH=" + root + "/docker-runtime/bin:"));
    CHECK_THAT(unit, Catch::Contains("ExecStartPre=/bin/sh -c '/usr/sbin/ip link show dev dy1_docker0 || /usr/sbin/ip "
                                     "link add dy1_docker0 type bridge'"));
    CHECK_THAT(unit, Catch::Contains("WantedBy=multi-user.target"));
    CHECK_THAT(unit, !Catch::Contains("dockyard.env") && !Catch::Contains("DOCKYARD_") && !Catch::Contains("${"));
    if (mode == FirewallMode::Nftables) {
      CHECK_THAT(unit, Catch::Contains("ExecStartPre=" + root + "/docker-runtime/bin/berth-firewall --table dy1_docker "
                                       "zone dy1_ --subnet 10.31.7.0/24 --subnet 10.42.0.0/16 --masquerade 10.31.7.0/24 "
                                       "--masquerade 10.42.0.0/16"));
      CHECK_THAT(unit, Catch::Contains("ExecStopPost=-" + root + "/docker-runtime/bin/berth-firewall --table dy1_docker remove"));
    } else {
      CHECK_THAT(unit, Catch::Contains("ExecStartPre=/bin/sh -c '/usr/sbin/iptables -w -C FORWARD -i dy1_docker0 -o "
                                       "dy1_docker0 -j ACCEPT || /usr/sbin/iptables -w -I FORWARD -i dy1_docker0 -o "
                                       "dy1_docker0 -j ACCEPT'"));
      CHECK_THAT(unit, Catch::Contains("ExecStopPost=-/usr/sbin/iptables -w -t nat -D POSTROUTING -s 10.31.7.0/24 ! -o "
                                       "dy1_docker0 -j MASQUERADE"));
      // The isolation rule is inserted first, so it ends up below the accepts.
      CHECK(unit.find("-t mangle -C FORWARD -o dy1_docker0 ! -i dy1_docker0") <
            unit.find("-C FORWARD -i dy1_docker0 -o dy1_docker0"));
    }
    const auto file = dir.path / "dy1_docker.service";
    REQUIRE(core::write_file_atomic(file, render_unit(e, {.firewall = mode})));
    REQUIRE(core::write_file_atomic(dir.path / "dy1_containerd.service", render_containerd_unit(e)));  // Requires= it
    REQUIRE(core::write_file_atomic(l.bin / "containerd", "#!/bin/sh\n", 0755));
    auto verify = core::run({.program = "systemd-analyze", .args = {"verify", file.string()}});
    REQUIRE(verify);
    INFO(verify->out << verify->err);
    CHECK(verify->exit_code == 0);
    CHECK(verify->err.find(file.filename().string()) == std::string::npos);  // no complaint about our unit
  }
}

TEST_CASE("the instance's containerd: its own config, socket and unit", "[instance][render]") {
  test::TempDir dir;
  const std::string root = (dir.path / "dy1").string();
  InstanceEnv e = env_at(root);
  Layout l = layout_of(e);
  const std::string config = render_containerd_config(e);
  CHECK_THAT(config, Catch::Contains("root = \"" + root + "/docker/containerd\""));
  CHECK_THAT(config, Catch::Contains("state = \"/run/dy1_docker/containerd\""));
  CHECK_THAT(config, Catch::Contains("address = \"/run/dy1_docker/containerd/containerd.sock\""));
  CHECK_THAT(config, Catch::Contains("io.containerd.grpc.v1.cri"));
  CHECK(containerd_command(e) == std::vector<std::string>{root + "/docker-runtime/bin/containerd", "--config",
                                                          root + "/docker-runtime/etc/containerd.toml"});
  const std::string unit = render_containerd_unit(e);
  CHECK_THAT(unit, Catch::Contains("ExecStart=" + root + "/docker-runtime/bin/containerd --config " + root +
                                   "/docker-runtime/etc/containerd.toml"));
  CHECK_THAT(unit, Catch::Contains("Restart=always"));
  CHECK_THAT(unit, Catch::Contains("WantedBy=multi-user.target"));
  std::filesystem::create_directories(l.bin);
  REQUIRE(core::write_file_atomic(l.bin / "containerd", "#!/bin/sh\n", 0755));
  const auto file = dir.path / "dy1_containerd.service";
  REQUIRE(core::write_file_atomic(file, unit));
  auto verify = core::run({.program = "systemd-analyze", .args = {"verify", file.string()}});
  REQUIRE(verify);
  INFO(verify->out << verify->err);
  CHECK(verify->exit_code == 0);
  CHECK(verify->err.find(file.filename().string()) == std::string::npos);
}
