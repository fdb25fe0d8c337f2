// SPDX-License-Identifier: Apache-2.0
// The pieces of an instance's lifecycle that need no root and touch nothing
// outside a temp directory: the inventory, the steps both systemd and
// --no-systemd run, and create's refusals of bad input
// (which must leave nothing behind). The real lifecycle runs in the system
// tier (tests/hosts/dockyard_lifecycle.sh).
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/binaries.hpp"
#include "berth/instance/instance.hpp"

#include "berth_catch.hpp"
#include "fake_unit_manager.hpp"
#include "temp_dir.hpp"

using namespace berth;
using namespace berth::instance;

namespace {

InstanceEnv env_with(const std::string& root, const std::string& prefix = "dy1_") {
  return parse_env("DOCKYARD_ROOT=" + root + "\nDOCKYARD_DOCKER_PREFIX=" + prefix +
                   "\nDOCKYARD_BRIDGE_CIDR=10.31.7.1/24\nDOCKYARD_FIXED_CIDR=10.31.7.0/24\n"
                   "DOCKYARD_POOL_BASE=10.42.0.0/16\nDOCKYARD_POOL_SIZE=24\n")
      .value();
}

std::filesystem::path fake_binaries(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const auto& name : docker_binary_names()) REQUIRE(core::write_file_atomic(dir / name, "#!/bin/sh\n", 0755));
  return dir;
}

}  // namespace

TEST_CASE("the inventory keeps an instance's env and options, and forgets it", "[instance]") {
  test::TempDir dir;
  Inventory inv(dir.path / "instances");
  CHECK(inv.list().value().empty());
  CHECK_FALSE(inv.load("dy1_").value().has_value());
  const InstanceRecord rec{env_with("/dy1"), {.systemd = false, .firewall = FirewallMode::Iptables, .sysbox = true}};
  REQUIRE(inv.save(rec));
  REQUIRE(inv.save({env_with("/dy2", "dy2_"), {}}));
  auto back = inv.load("dy1_").value();
  REQUIRE(back);
  CHECK(back->env == rec.env);
  CHECK(back->options == rec.options);
  auto all = inv.list().value();
  REQUIRE(all.size() == 2);
  CHECK(all[0].env.prefix == "dy1_");
  CHECK(all[1].options == InstanceOptions{});
  REQUIRE(inv.remove("dy1_"));
  REQUIRE(inv.remove("dy1_"));  // twice is fine
  CHECK(inv.list().value().size() == 1);
}

TEST_CASE("a corrupt options file is an error naming it", "[instance]") {
  test::TempDir dir;
  Inventory inv(dir.path);
  REQUIRE(inv.save({env_with("/dy1"), {}}));
  REQUIRE(core::write_file_atomic(dir.path / "dy1_.json", "{\"firewall\":\"pf\"}"));
  auto r = inv.load("dy1_");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("dy1_.json") && Catch::Contains("'pf'"));
}

TEST_CASE("start steps make the bridge and then the firewall, and stop steps remove only the firewall", "[instance]") {
  const auto e = env_with("/dy1");
  auto nft = start_steps(e, {.firewall = FirewallMode::Nftables});
  REQUIRE(nft.size() == 5);
  CHECK(nft[1].argv == std::vector<std::string>{"/usr/sbin/ip", "link", "add", "dy1_docker0", "type", "bridge"});
  CHECK(nft[1].unless == std::vector<std::string>{"/usr/sbin/ip", "link", "show", "dev", "dy1_docker0"});
  CHECK(nft[4].argv == std::vector<std::string>{"/dy1/docker-runtime/bin/berth-firewall", "--table", "dy1_docker", "zone",
                                                "dy1_", "--subnet", "10.31.7.0/24", "--subnet", "10.42.0.0/16",
                                                "--masquerade", "10.31.7.0/24", "--masquerade", "10.42.0.0/16"});
  auto stop = stop_steps(e, {.firewall = FirewallMode::Nftables});
  REQUIRE(stop.size() == 1);
  CHECK(stop[0].may_fail);

  auto ipt = start_steps(e, {.firewall = FirewallMode::Iptables});
  REQUIRE(ipt.size() == 4 + iptables_rules(e).size());
  // -C before -I, so a restart never duplicates a rule; the isolation drop first.
  CHECK(ipt[4].unless ==
        std::vector<std::string>{"/usr/sbin/iptables", "-w", "-t", "mangle", "-C", "FORWARD", "-o", "dy1_docker0",
                                 "!", "-i", "dy1_docker0", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"});
  CHECK(ipt[4].argv[4] == "-I");
  for (const auto& s : stop_steps(e, {.firewall = FirewallMode::Iptables})) {
    CHECK(s.may_fail);
    CHECK(std::find(s.argv.begin(), s.argv.end(), "-D") != s.argv.end());
  }
  CHECK(daemon_command(e) ==
        std::vector<std::string>{"/dy1/docker-runtime/bin/dockerd", "--config-file", "/dy1/docker-runtime/etc/daemon.json"});
  CHECK(daemon_environment(e).front().starts_with("PATH=/dy1/docker-runtime/bin:"));
}

TEST_CASE("the shared sysbox unit stops when no instance needs it", "[instance]") {
  test::TempDir dir;
  const std::string unit = render_sysbox_unit({});
  CHECK_THAT(unit, Catch::Contains("StopWhenUnneeded=yes"));
  CHECK_THAT(unit, Catch::Contains("/usr/local/lib/dockyard/sysbox-mgr"));
  CHECK_THAT(unit, Catch::Contains("/usr/local/lib/dockyard/sysbox-fs"));
  const auto file = dir.path / "dockyard-sysbox.service";
  REQUIRE(core::write_file_atomic(file, unit));
  auto verify = core::run({.program = "systemd-analyze", .args = {"verify", file.string()}});
  REQUIRE(verify);
  INFO(verify->err);
  CHECK(verify->err.find(file.filename().string()) == std::string::npos);
}

TEST_CASE("a missing binary is named with the directories searched, and copies are executable", "[instance]") {
  test::TempDir dir;
  auto src = fake_binaries(dir.path / "src");
  std::filesystem::remove(src / "runc");
  auto missing = find_docker_binaries({src});
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message(), Catch::Contains("'runc'") && Catch::Contains(src.string()));
  REQUIRE(core::write_file_atomic(src / "runc", "#!/bin/sh\n", 0700));
  auto found = find_docker_binaries({dir.path / "nowhere", src}).value();
  CHECK(found.size() == docker_binary_names().size());
  std::filesystem::create_directories(dir.path / "bin");
  REQUIRE(install_binaries(found, dir.path / "bin"));
  REQUIRE(install_binaries(found, dir.path / "bin"));  // again, over the first copies
  for (const auto& name : docker_binary_names()) {
    auto st = std::filesystem::status(dir.path / "bin" / name);
    CHECK((st.permissions() & std::filesystem::perms::owner_exec) != std::filesystem::perms::none);
  }
}

TEST_CASE("create refuses bad input before it changes anything", "[instance]") {
  test::TempDir dir;
  const auto bins = fake_binaries(dir.path / "bins");
  REQUIRE(core::write_file_atomic(bins / "berth-firewall", "#!/bin/sh\n", 0755));
  auto units = std::make_shared<test::FakeUnitManager>(dir.path / "units", /*available=*/false);
  HostPaths host{.inventory = Inventory(dir.path / "inventory"), .units = units,
                 .firewall_program = bins / "berth-firewall"};
  CreateOptions opts{.mode = {.systemd = false}, .start = false, .binary_dirs = {bins}};
  auto nothing_changed = [&] {
    CHECK_FALSE(std::filesystem::exists(dir.path / "units"));
    CHECK_FALSE(std::filesystem::exists(dir.path / "dy1"));
    CHECK(host.inventory.list().value().empty());
  };

  SECTION("no Docker binaries") {
    CreateOptions o = opts;
    o.binary_dirs = {dir.path / "empty"};
    auto r = create(env_with((dir.path / "dy1").string()), o, host, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::StartsWith("create dy1_: 'dockerd' is in none of"));
    nothing_changed();
  }
  SECTION("no berth-firewall to give the instance") {
    HostPaths h = host;
    h.firewall_program = dir.path / "nowhere" / "berth-firewall";
    auto r = create(env_with((dir.path / "dy1").string()), opts, h, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("firewall nftables") && Catch::Contains("berth-firewall"));
    nothing_changed();
  }
  SECTION("sysbox binaries missing") {
    CreateOptions o = opts;
    o.sysbox_dir = dir.path / "nosysbox";
    auto r = create(env_with((dir.path / "dy1").string()), o, host, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("--sysbox-dir") && Catch::Contains("sysbox-runc"));
    nothing_changed();
  }
  SECTION("systemd asked for where it does not run") {
    CreateOptions o = opts;
    o.mode.systemd = true;
    auto r = create(env_with((dir.path / "dy1").string()), o, host, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("use --no-systemd"));
    CHECK(units->calls.empty());
    nothing_changed();
  }
  SECTION("an invalid env") {
    auto e = env_with((dir.path / "dy1").string());
    e.prefix = "dy1;rm";
    auto r = create(e, opts, host, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("prefix"));
    nothing_changed();
  }
  SECTION("a root that already holds an instance") {
    const auto e = env_with((dir.path / "dy1").string());
    std::filesystem::create_directories(layout_of(e).bin);
    REQUIRE(core::write_file_atomic(layout_of(e).bin / "dockerd", "x"));
    auto r = create(e, opts, host, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("already holds a dockyard instance"));
    CHECK(host.inventory.list().value().empty());
  }
  SECTION("a prefix that belongs to another instance") {
    REQUIRE(host.inventory.save({env_with("/elsewhere"), {.systemd = false}}));
    auto r = create(env_with((dir.path / "dy1").string()), opts, host, {});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("prefix dy1_ belongs to the instance at /elsewhere"));
    CHECK(host.inventory.list().value().size() == 1);
    CHECK_FALSE(std::filesystem::exists(dir.path / "dy1"));
  }
}
