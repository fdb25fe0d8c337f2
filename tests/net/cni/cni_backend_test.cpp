// SPDX-License-Identifier: Apache-2.0
// The CNI exec backend against Debian's real plugins (/usr/lib/cni) and
// against berth-cni, in the world of tests/support/world.hpp.
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/net/cni/cni_backend.hpp"
#include "berth/net/link/links.hpp"

#include "backend_contract.hpp"
#include "berth_catch.hpp"
#include "temp_dir.hpp"
#include "world.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <set>

using namespace berth;
using namespace berth::net;
using test::World;
namespace fs = std::filesystem;

namespace {

struct CniWorld {
  test::TempDir dir;
  World world;
  fs::path conf = dir.path / "net.d";
  fs::path bin = dir.path / "bin";
  std::vector<std::string> warnings;

  CniWorld() {
    fs::create_directories(conf);
    fs::create_directories(bin);
    // berth-cni sits beside the test plugins, as it would in /opt/cni/bin.
    fs::create_symlink(BERTH_CNI, bin / "berth-cni");
  }

  void write_conf(const std::string& file, const std::string& text) {
    REQUIRE(core::write_file_atomic(conf / file, text));
  }

  void write_plugin(const std::string& name, const std::string& script) {
    REQUIRE(core::write_file_atomic(bin / name, "#!/bin/sh\n" + script, 0755));
  }

  /// Debian's bridge + host-local + portmap + tuning.
  void debian_chain(const std::string& name = "cnibr") {
    write_conf("10-" + name + ".conflist", fmt::format(R"({{"cniVersion":"1.0.0","name":"{}","plugins":[
      {{"type":"bridge","bridge":"cnibr0","isGateway":true,"ipMasq":true,
        "ipam":{{"type":"host-local","ranges":[[{{"subnet":"10.66.0.0/24"}}]],"routes":[{{"dst":"0.0.0.0/0"}}],
                 "dataDir":"{}"}}}},
      {{"type":"portmap","capabilities":{{"portMappings":true}}}},
      {{"type":"tuning","sysctl":{{"net.ipv4.conf.eth0.rp_filter":"0"}}}}]}})",
                                                       name, (dir.path / "ipam").string()));
  }

  /// berth-cni as the only plugin.
  void berth_chain(const std::string& name = "berthnet") {
    write_conf("20-" + name + ".conflist", fmt::format(R"({{"cniVersion":"1.0.0","name":"{}","plugins":[
      {{"type":"berth-cni","bridge":"bcni0","subnet":"10.67.0.0/24","stateDir":"{}",
        "capabilities":{{"portMappings":true}}}}]}})",
                                                       name, (dir.path / "berth-state").string()));
  }

  std::unique_ptr<Backend> backend(const std::string& network, bool internal = false) {
    auto b = make_cni_backend({.network = network, .conf_dir = conf, .bin_dirs = {bin, "/usr/lib/cni"},
                               .state_dir = dir.path / "cache", .plugin_timeout = std::chrono::seconds(3),
                               .internal = internal,
                               .warn = [this](const std::string& w) { warnings.push_back(w); }});
    REQUIRE(b);
    return std::move(*b);
  }
};

std::string ipt() { return core::run_checked({.program = "iptables-save"}).value().out; }

void connect_and_publish(CniWorld& w, const std::string& network, const std::string& prefix,
                         const std::string& check_network) {
  auto b = w.backend(network);
  const auto& ns1 = w.world.container("a");
  const auto& ns2 = w.world.container("b");
  auto a = b->setup({.container_id = "a", .netns = ns1.path(), .ports = {parse_port_mapping("8080:80").value()}});
  REQUIRE(a);
  auto bb = b->setup({.container_id = "b", .netns = ns2.path()});
  REQUIRE(bb);
  CHECK(a->addresses.at(0).to_string().starts_with(prefix));
  CHECK(World::ping(ns2.path(), a->addresses.at(0).address.to_string()));
  auto server = World::serve_peer_address(ns1.path(), "tcp", 80);
  CHECK(World::ask(w.world.outside(), "tcp", test::kHostUplinkV4, 8080) == test::kOutsideV4);

  // The cached results outlive the backend (a daemon restart): a new one
  // sees the attachments and DELs with their prevResult.
  b = w.backend(network);
  CHECK(b->attachments().value().size() == 2);

  // DEL removes every address and rule.
  REQUIRE(b->teardown({.container_id = "a", .netns = ns1.path()}));
  REQUIRE(b->teardown({.container_id = "b", .netns = ns2.path()}));
  REQUIRE(b->teardown({.container_id = "b", .netns = ns2.path()}));  // again
  CHECK(World::ask(w.world.outside(), "tcp", test::kHostUplinkV4, 8080, std::chrono::milliseconds(500)).empty());
  CHECK_FALSE(Links::open_in(ns1.path()).value().find_link("eth0").value());
  CHECK_FALSE(Links::open_in(ns2.path()).value().find_link("eth0").value());
  CHECK(b->attachments().value().empty());

  // CHECK passes, then fails once the veth is deleted by hand.
  auto checked = check_network == network ? std::move(b) : w.backend(check_network);
  const auto& ns3 = w.world.container("c");
  SetupRequest req{.container_id = "c", .netns = ns3.path()};
  REQUIRE(checked->setup(req));
  CHECK(checked->check(req));
  REQUIRE(core::run_in_netns(ns3.path(), [] { return Links::open().value().remove("eth0"); }));
  auto broken = checked->check(req);
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().message(), Catch::Contains("check container 'c'"));
}

}  // namespace

TEST_CASE_METHOD(CniWorld, "Debian's bridge, host-local, portmap and tuning plugins attach and detach containers",
                 "[cni]") {
  debian_chain();
  // Debian's portmap 1.1.1 fails every CHECK ("could not check ipv6 dnat:
  // chain CNI-DN-... not found"), so CHECK runs on the chain without it.
  write_conf("11-cnichk.conflist", fmt::format(R"({{"cniVersion":"1.0.0","name":"cnichk","plugins":[
      {{"type":"bridge","bridge":"cnichk0","ipam":{{"type":"host-local","ranges":[[{{"subnet":"10.68.0.0/24"}}]],
        "dataDir":"{}"}}}},{{"type":"tuning","sysctl":{{"net.ipv4.conf.eth0.rp_filter":"0"}}}}]}})",
                                               (dir.path / "ipam").string()));
  connect_and_publish(*this, "cnibr", "10.66.0.", "cnichk");
  CHECK_THAT(ipt(), !Catch::Contains("10.66.0.2"));  // portmap's rules are gone
  CHECK_FALSE(fs::exists(dir.path / "ipam" / "cnibr" / "10.66.0.2"));  // host-local's lease is gone
}

TEST_CASE_METHOD(CniWorld, "berth-cni attaches and detaches containers through the CNI backend", "[cni]") {
  berth_chain();
  connect_and_publish(*this, "berthnet", "10.67.0.", "berthnet");
  CHECK_THAT(core::run_checked({.program = "nft", .args = {"list", "map", "inet", "berth", "pm4any"}}).value().out,
             !Catch::Contains("8080"));
}

TEST_CASE_METHOD(CniWorld, "the CNI backend reports plugin failures clearly and leaves nothing behind",
                 "[cni][bad-input]") {
  const auto& ns = world.container("x");
  const std::string ipt_before = ipt();
  auto chain = [&](const std::string& name, const std::string& second) {
    write_conf(name + ".conflist", fmt::format(R"({{"cniVersion":"1.0.0","name":"{}","plugins":[
      {{"type":"bridge","bridge":"cnibr0","ipam":{{"type":"host-local","ranges":[[{{"subnet":"10.66.0.0/24"}}]],
        "dataDir":"{}"}}}},{}]}})",
                                               name, (dir.path / "ipam").string(), second));
  };
  write_plugin("fails", R"(cat >/dev/null
if [ "$CNI_COMMAND" = VERSION ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}'; exit 0; fi
if [ "$CNI_COMMAND" = DEL ]; then exit 0; fi
echo '{"cniVersion":"1.0.0","code":100,"msg":"the plugin says no","details":"because"}'; exit 1
)");
  write_plugin("hangs", R"(if [ "$CNI_COMMAND" = VERSION ]; then cat >/dev/null; echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}'; exit 0; fi
if [ "$CNI_COMMAND" = DEL ]; then exit 0; fi
exec sleep 60
)");
  chain("failing", R"({"type":"fails"})");
  chain("hanging", R"({"type":"hangs"})");
  chain("missing", R"({"type":"no-such-plugin"})");
  write_conf("99-broken.conflist", R"({"cniVersion":"1.0.0","name":"broken","plugins":[{"bridge":"x"}]})");

  auto failing = backend("failing")->setup({.container_id = "x", .netns = ns.path()});
  REQUIRE_FALSE(failing);
  CHECK(failing.error().message() == "attach container 'x' to CNI network 'failing': plugin 'fails' ADD: the plugin "
                                     "says no (because) (CNI error 100)");
  auto start = std::chrono::steady_clock::now();
  auto hanging = backend("hanging")->setup({.container_id = "x", .netns = ns.path()});
  REQUIRE_FALSE(hanging);
  CHECK_THAT(hanging.error().message(), Catch::Contains("plugin 'hangs' ADD: run '") &&
                                            Catch::Contains("killed after 3000 ms"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));

  auto missing = make_cni_backend({.network = "missing", .conf_dir = conf, .bin_dirs = {bin, "/usr/lib/cni"}});
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message(), Catch::Contains("CNI plugin 'no-such-plugin' is not in"));
  auto broken = make_cni_backend({.network = "broken", .conf_dir = conf, .bin_dirs = {bin}});
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().message(), Catch::Contains("99-broken.conflist': a plugin has no 'type'"));
  auto unknown = make_cni_backend({.network = "nowhere", .conf_dir = conf, .bin_dirs = {bin}});
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error().message(), Catch::Contains("CNI network 'nowhere' is not configured"));

  // The half-done chains were rolled back: no interface, lease or rule is left.
  auto in_x = Links::open_in(ns.path()).value();
  CHECK_FALSE(in_x.find_link("eth0").value());
  CHECK_FALSE(fs::exists(dir.path / "ipam" / "failing" / "10.66.0.2"));
  CHECK_FALSE(fs::exists(dir.path / "ipam" / "hanging" / "10.66.0.2"));
  CHECK(ipt() == ipt_before);
}

TEST_CASE_METHOD(CniWorld, "an internal network on CNI gives a warning naming it", "[cni]") {
  berth_chain("quiet");
  auto b = backend("quiet", true);
  REQUIRE(b->setup({.container_id = "q", .netns = world.container("q").path()}));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("network 'quiet' is internal, but CNI plugins cannot enforce that"));
}

TEST_CASE_METHOD(CniWorld, "the CNI backend keeps the Backend contract (berth-cni as its plugin)", "[cni][backend]") {
  berth_chain();
  auto b = backend("berthnet");
  std::set<std::string> made;
  test::check_backend_contract(*b, [&](const std::string& id) {
    if (made.insert(id).second) (void)world.container(id);
    return World::container_path(id);
  });
}
