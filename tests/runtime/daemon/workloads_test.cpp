// SPDX-License-Identifier: Apache-2.0
// berthd's workloads for real, as root in a network namespace of the test's
// own: busybox containers on the native network with the embedded DNS, a
// published port, restart policies, and a daemon that goes away and comes
// back to find its containers running.
#include "berth/core/fs.hpp"
#include "berth/core/netns.hpp"
#include "berth/core/store.hpp"
#include "berth/net/link/links.hpp"
#include "berth/runtime/container/log.hpp"
#include "berth/runtime/daemon/workloads.hpp"
#include "berth/runtime/image/load.hpp"

#include "berth_catch.hpp"
#include "host_client.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <future>
#include <thread>

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::daemon;
using namespace std::chrono_literals;

namespace {

struct World {
  test::TestImage image;
  test::TempDir base;
  std::vector<std::string> events;
  std::mutex events_mutex;

  World() {
    auto store = image::Store::open(base.path).value();
    REQUIRE(image::load_images(store, image.oci(), {.name = "busybox:test"}));
  }
  WorkloadsOptions options() {
    WorkloadsOptions o;
    o.base_dir = base.path;
    o.exec_root = base.path / "run";
    o.monitor = BERTH_MONITOR;
    o.dns_upstreams = std::vector<net::IpAddress>{};  // nothing outside is asked
    o.on_event = [this](std::string_view m, std::string_view d) {
      std::lock_guard g(events_mutex);
      events.push_back(fmt::format("{}: {}", m, d));
    };
    return o;
  }
  std::unique_ptr<Workloads> open() { return Workloads::open(options()).value(); }
};

WorkloadSpec spec(std::string name, std::vector<std::string> args) {
  WorkloadSpec s;
  s.name = std::move(name);
  s.image = "busybox:test";
  s.args = std::move(args);
  return s;
}

int wait_exit(Workloads& w, const std::string& name) {
  std::promise<int> code;
  REQUIRE(w.on_exit(name, [&](int c) { code.set_value(c); }));
  auto f = code.get_future();
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

std::string stdout_of(const WorkloadState& s) {
  std::string out;
  for (const auto& e : container::read_log(s.container.log).value()) out += e.text;
  return out;
}

/// Waits until `pred` holds, for at most `limit`.


std::size_t host_veths() {
  std::size_t n = 0;
  for (const auto& l : net::Links::open().value().list_links().value())
    if (l.name.starts_with("bv")) ++n;
  return n;
}

}  // namespace

TEST_CASE("a workload gets an address, a DNS name and a published port, and stop releases them",
          "[daemon][workloads]") {
  World world;
  auto w = world.open();
  CHECK(w->driver() == "native");
  auto webspec = spec("web", {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"});
  webspec.ports.push_back(net::parse_port_mapping("18080:8080").value());
  auto web = w->run(webspec, {});
  REQUIRE(web);
  CHECK(web->container.status == container::Status::Running);
  REQUIRE(web->attachment);
  const auto address = web->attachment->addresses.at(0).address;
  CHECK(net::Subnet::parse("10.88.0.0/16").value().contains(address));

  // The host reaches the published port.
  REQUIRE(test::eventually([] { return test::http_get_local(18080, "/hostname").find("web") != std::string::npos; }));

  // Another container finds it by name, short and in berth's zone.
  auto client = w->run(spec("client", {"/bin/sh", "-c",
                                       "busybox nslookup web.berth.internal && "
                                       "busybox wget -q -O - http://web:8080/hostname"}),
                       {});
  REQUIRE(client);
  CHECK(wait_exit(*w, "client") == 0);
  auto done = w->inspect("client").value();
  CHECK(stdout_of(done).find(address.to_string()) != std::string::npos);
  CHECK(stdout_of(done).ends_with("web\n"));
  CHECK(done.container.exit_code == 0);
  CHECK_FALSE(done.attachment);  // released when it ended

  auto listed = w->list().value();
  REQUIRE(listed.size() == 2);
  CHECK(host_veths() == 1);

  // Stop: the image's stop signal, then the network goes.
  auto code = w->stop("web", 5s);
  REQUIRE(code);
  CHECK_FALSE(w->inspect("web").value().attachment);
  CHECK(host_veths() == 0);
  CHECK_FALSE(std::filesystem::exists(world.base.path / "run" / "netns" / "web"));
  CHECK(test::http_get_local(18080, "/hostname").empty());
  REQUIRE(w->remove("web", false));
  REQUIRE(w->remove("client", false));
  CHECK(w->list().value().empty());
  CHECK(w->inspect("web").error().is(core::Errc::not_found));
}

TEST_CASE("a run that fails leaves nothing behind", "[daemon][workloads][bad-input]") {
  World world;
  auto w = world.open();
  auto busy = spec("busy", {"sleep", "100"});
  busy.ports.push_back(net::parse_port_mapping("18081:80").value());
  REQUIRE(w->run(busy, {}));
  // The same host port again: refused by the network, nothing kept of it.
  auto second = spec("second", {"sleep", "100"});
  second.ports = busy.ports;
  auto r = w->run(second, {});
  REQUIRE_FALSE(r);
  CHECK(w->inspect("second").error().is(core::Errc::not_found));
  CHECK(host_veths() == 1);
  // The name in use.
  CHECK(w->run(spec("busy", {"true"}), {}).error().is(core::Errc::conflict));
  // An image nobody has (no registry answers on this port).
  auto nowhere = spec("nowhere", {"true"});
  nowhere.image = "127.0.0.1:1/nothing:1";
  CHECK_FALSE(w->run(nowhere, {}));
  // A command the image does not have: runc's error, and nothing kept.
  CHECK_FALSE(w->run(spec("broken", {"/no/such/program"}), {}));
  CHECK(w->inspect("broken").error().is(core::Errc::not_found));
  CHECK(w->list().value().size() == 1);
  CHECK(host_veths() == 1);
  auto left = core::RecordStore(world.base.path / "workloads").list(".json").value();
  CHECK(left == std::vector<std::string>{"busy.json"});
  CHECK(w->remove("busy", false).error().is(core::Errc::conflict));
  REQUIRE(w->remove("busy", true));
  CHECK(host_veths() == 0);
}

TEST_CASE("restart policies start a container again with backoff, up to their limit", "[daemon][workloads][restart]") {
  World world;
  auto w = world.open();
  auto flaky = spec("flaky", {"/bin/sh", "-c", "echo ran; exit 3"});
  flaky.restart = parse_restart_policy("on-failure:2").value();
  REQUIRE(w->run(flaky, {}));
  REQUIRE(test::eventually([&] {
    auto s = w->inspect("flaky");
    return s && s->container.status == container::Status::Stopped && !s->restarting && s->record.restarts == 2 &&
           !s->attachment;  // its network released once its last exit is handled
  }));
  auto s = w->inspect("flaky").value();
  CHECK(s.container.exit_code == 3);
  CHECK(stdout_of(s) == "ran\nran\nran\n");
  CHECK_FALSE(s.attachment);
  REQUIRE(w->remove("flaky", false));

  // always, until a user stops it
  auto always = spec("always", {"/bin/sh", "-c", "exit 0"});
  always.restart = parse_restart_policy("always").value();
  REQUIRE(w->run(always, {}));
  REQUIRE(test::eventually([&] { return w->inspect("always").value().record.restarts >= 2; }));
  REQUIRE(w->stop("always", 1s));
  const auto restarts = w->inspect("always").value().record.restarts;
  std::this_thread::sleep_for(1s);
  CHECK(w->inspect("always").value().record.restarts == restarts);
  CHECK(w->inspect("always").value().container.status == container::Status::Stopped);
  REQUIRE(w->remove("always", false));
}

TEST_CASE("auto-remove: a workload is gone once it has ended", "[daemon][workloads]") {
  World world;
  auto w = world.open();
  auto once = spec("once", {"true"});
  once.auto_remove = true;
  REQUIRE(w->run(once, {}));
  REQUIRE(test::eventually([&] { return w->list().value().empty(); }));
  CHECK(host_veths() == 0);
}

TEST_CASE("a daemon that comes back re-adopts its containers and releases what belongs to nothing",
          "[daemon][workloads][adopt]") {
  World world;
  auto w = world.open();
  auto s = spec("sleeper", {"sleep", "1000"});
  s.ports.push_back(net::parse_port_mapping("18082:80").value());
  auto first = w->run(s, {});
  REQUIRE(first);
  const auto pid = first->container.pid.value();
  const auto address = first->attachment->addresses.at(0);
  auto ended = spec("ended", {"/bin/sh", "-c", "sleep 0.3; exit 5"});
  REQUIRE(w->run(ended, {}));
  w.reset();  // the daemon goes; its containers do not

  // Meanwhile: one container ends, and a stray namespace appears.
  std::this_thread::sleep_for(600ms);
  REQUIRE(core::NetnsFile::create(world.base.path / "run" / "netns" / "stray").value().release() != "");

  w = world.open();
  auto again = w->inspect("sleeper").value();
  CHECK(again.container.status == container::Status::Running);
  CHECK(again.container.pid == pid);
  REQUIRE(again.attachment);
  CHECK(again.attachment->addresses.at(0) == address);
  CHECK_FALSE(std::filesystem::exists(world.base.path / "run" / "netns" / "stray"));
  REQUIRE(test::eventually([&] { return !w->inspect("ended").value().attachment; }));
  CHECK(w->inspect("ended").value().container.exit_code == 5);
  CHECK(host_veths() == 1);
  // Its exit is watched again.
  REQUIRE(w->kill("sleeper", "KILL"));
  CHECK(wait_exit(*w, "sleeper") == 137);
  REQUIRE(w->remove("sleeper", false));
  REQUIRE(w->remove("ended", false));
  CHECK(host_veths() == 0);
}
