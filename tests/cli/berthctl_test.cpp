// SPDX-License-Identifier: Apache-2.0
// berthctl against a running berthd, as a user meets them, as root in the
// test's own network namespace: load an image, run containers detached and
// in the foreground (exit code, stdout and stderr), reach them by name and
// by a published port, logs -f, stop, rm, Ctrl+C, bad input in one line,
// and berthd killed with -9 and started again while containers run, 20
// times at random moments while containers come and go.
#include "berth/core/fs.hpp"
#include "berth/core/http.hpp"
#include "berth/core/process.hpp"
#include "berth/net/address.hpp"
#include "berth/net/ipam.hpp"

#include "berth_catch.hpp"
#include "host_client.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <unistd.h>

using namespace berth;
using namespace std::chrono_literals;

namespace {

struct Berthd {
  test::TestImage image;
  test::TempDir dir;
  std::filesystem::path socket = dir.path / "berthd.sock";
  std::optional<core::Child> daemon;

  Berthd() {
    start();
    auto loaded = ctl({"load", "-i", image.docker_tar().string()});
    REQUIRE(loaded.exit_code == 0);
    REQUIRE(loaded.out == "loaded docker.io/library/busybox:test\n");
  }
  ~Berthd() {
    // Whatever a failed test left running goes, then the daemon.
    if (daemon) {
      auto names = ctl({"ps", "-a", "-q"});
      std::vector<std::string> args{"rm", "-f"};
      std::istringstream in(names.out);
      for (std::string n; std::getline(in, n);) args.push_back(n);
      if (args.size() > 2) (void)ctl(args);
      (void)daemon->kill(SIGTERM);
      (void)daemon->wait();
    }
  }
  void start() {
    daemon = core::Child::spawn({.program = BERTH_BERTHD,
                                 .args = {"--base-dir", (dir.path / "base").string(), "--socket", socket.string(),
                                          "--exec-root", (dir.path / "exec").string()}},
                                {.stderr_path = dir.path / "berthd.log"})
                 .value();
    for (int i = 0; i < 500 && !core::http::accepts_connections(socket); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(core::http::accepts_connections(socket));
  }
  core::Output ctl(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
    args.insert(args.begin(), {"-H", socket.string()});
    return core::run({.program = BERTH_BERTHCTL, .args = std::move(args), .timeout = timeout}).value();
  }
  boost::json::object inspect(const std::string& name) {
    auto r = ctl({"inspect", name});
    REQUIRE(r.exit_code == 0);
    return boost::json::parse(r.out).as_array().at(0).as_object();
  }
};



const std::vector<std::string> kWeb = {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"};

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

}  // namespace

TEST_CASE("berthctl runs containers as a user would: -d, ps, the foreground's exit code, logs -f, stop, rm",
          "[cli][berthctl]") {
  Berthd d;
  auto web = d.ctl(with({"run", "-d", "--name", "web", "-p", "18090:8080", "busybox:test"}, kWeb));
  REQUIRE(web.exit_code == 0);
  CHECK(web.out == "web\n");
  auto ps = d.ctl({"ps"});
  CHECK_THAT(ps.out, Catch::StartsWith("NAME   IMAGE          STATUS    IP"));
  CHECK_THAT(ps.out, Catch::Contains("web    busybox:test   running   10.88."));
  CHECK_THAT(ps.out, Catch::Contains("0.0.0.0:18090->8080/tcp"));
  auto json = boost::json::parse(d.ctl({"ps", "--json"}).out).as_array();
  REQUIRE(json.size() == 1);
  CHECK(json.at(0).at("status") == "running");

  // The host reaches the published port; another container reaches it by name.
  REQUIRE(test::eventually([] { return test::http_get_local(18090, "/hostname").ends_with("web\n"); }));
  auto fg = d.ctl({"run", "--rm", "busybox:test", "/bin/sh", "-c",
                   "busybox wget -q -O - http://web:8080/hostname; echo oops >&2; exit 3"});
  CHECK(fg.exit_code == 3);
  CHECK(fg.out == "web\n");
  CHECK(fg.err == "oops\n");
  CHECK(d.ctl({"ps", "-a", "-q"}).out == "web\n");  // --rm: gone

  // logs -f follows until the container ends.
  REQUIRE(d.ctl({"run", "-d", "--name", "talker", "busybox:test", "/bin/sh", "-c", "echo one; sleep 0.5; echo two"})
              .exit_code == 0);
  auto followed = d.ctl({"logs", "-f", "talker"});
  CHECK(followed.exit_code == 0);
  CHECK(followed.out == "one\ntwo\n");
  CHECK(d.ctl({"logs", "--tail", "1", "talker"}).out == "two\n");
  CHECK(d.ctl({"wait", "talker"}).out == "0\n");
  CHECK_THAT(d.ctl({"ps", "-a"}).out, Catch::Contains("talker   busybox:test   exited (0)"));

  CHECK(d.ctl({"stop", "-t", "1", "web"}).out == "web\n");
  CHECK(test::http_get_local(18090, "/hostname").empty());
  CHECK(d.ctl({"rm", "web", "talker"}).out == "web\ntalker\n");
  CHECK(d.ctl({"ps", "-a", "-q"}).out.empty());
}

TEST_CASE("berthctl's bad input gets one line and a non-zero exit code", "[cli][berthctl][bad-input]") {
  Berthd d;
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string err;
  };
  const std::vector<Case> cases{
      {{"rm", "nothere"}, 1, "berthctl: error: no such container 'nothere'\n"},
      {{"stop", "nothere"}, 1, "berthctl: error: no such container 'nothere'\n"},
      {{"logs", "nothere"}, 1, "berthctl: error: no such container 'nothere'\n"},
      {{"inspect", "nothere"}, 1, "berthctl: error: no such container 'nothere'\n"},
      {{"run", "-p", "99999:80", "busybox:test"}, 1, ""},
      {{"run", "--restart", "sometimes", "busybox:test"}, 1,
       "berthctl: error: --restart: restart policy 'sometimes' is not no, on-failure[:N], always or unless-stopped\n"},
      {{"run", "--name", "bad name", "busybox:test"}, 125, ""},
      {{"run", "-q", "127.0.0.1:1/nothere:1"}, 125, ""},  // no registry there: nothing leaves the host
      {{"run"}, 2, "berthctl: error: run: needs an image\n"},
      {{"rm"}, 2, "berthctl: error: rm: needs a container\n"},
      {{"frobnicate"}, 2, "berthctl: error: unknown command 'frobnicate' (see --help)\n"},
      {{"kill", "-s", "NOPE", "x"}, 1, ""},
      {{"run", "--health-tcp", "80", "--health-cmd", "true", "busybox:test"}, 1,
       "berthctl: error: --health-cmd, --health-http and --health-tcp: give one of them\n"},
      {{"exec", "nothere", "true"}, 126, "berthctl: error: no such container 'nothere'\n"},
      {{"exec", "nothere"}, 2, "berthctl: error: exec: needs a container and a command\n"},
  };
  for (const auto& c : cases) {
    INFO(fmt::format("{}", fmt::join(c.args, " ")));
    auto r = d.ctl(c.args);
    CHECK(r.exit_code == c.code);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::StartsWith("berthctl: error: "));
    if (!c.err.empty()) CHECK(r.err == c.err);
  }
  CHECK(d.ctl({"ps", "-a", "-q"}).out.empty());  // nothing half-made
  auto nobody = core::run({.program = BERTH_BERTHCTL, .args = {"-H", (d.dir.path / "none.sock").string(), "ps"}}).value();
  CHECK(nobody.exit_code == 1);
  CHECK(nobody.err == fmt::format("berthctl: error: berthd does not answer on '{}' (is it running?)\n",
                                  (d.dir.path / "none.sock").string()));
  auto tcp = core::run({.program = BERTH_BERTHCTL, .args = {"-H", "tcp://127.0.0.1:2375", "ps"}}).value();
  CHECK(tcp.exit_code == 1);
  CHECK_THAT(tcp.err, Catch::Contains("is not a unix socket"));
}

TEST_CASE("berthctl exec runs in a running container, and health checks show in ps and inspect", "[cli][berthctl][health]") {
  Berthd d;
  REQUIRE(d.ctl(with({"run", "-d", "--name", "web", "--health-http", ":8080/hostname", "--health-interval", "200ms",
                      "busybox:test"}, kWeb)).exit_code == 0);
  REQUIRE(d.ctl({"run", "-d", "--name", "sick", "--health-tcp", "9999", "--health-interval", "200ms",
                 "--health-retries", "2", "busybox:test", "sleep", "60"}).exit_code == 0);
  REQUIRE(d.ctl({"run", "-d", "--name", "flag", "--user", "0", "--health-cmd", "test -f /tmp/ready",
                 "--health-interval", "200ms", "--health-retries", "1", "busybox:test", "sleep", "60"}).exit_code == 0);
  auto status = [&](const std::string& name) { return d.inspect(name).at("health").as_string(); };
  CHECK(test::eventually([&] { return status("web") == "healthy"; }));
  CHECK(test::eventually([&] { return status("sick") == "unhealthy"; }));
  CHECK(test::eventually([&] { return status("flag") == "unhealthy"; }));
  CHECK_THAT(d.ctl({"ps"}).out, Catch::Contains("running (healthy)"));
  auto log = d.inspect("web").at("health_detail").at("log").as_array();
  REQUIRE_FALSE(log.empty());
  CHECK(log.back().at("output") == "GET /hostname: HTTP 200");
  CHECK(log.back().at("exit_code") == 0);

  // exec: as the container's process, its output and exit code are the user's.
  auto host = d.ctl({"exec", "web", "cat", "/etc/hostname"});
  CHECK(host.exit_code == 0);
  CHECK(host.out == "web\n");
  auto code = d.ctl({"exec", "web", "/bin/sh", "-c", "echo out; echo err >&2; exit 4"});
  CHECK(code.exit_code == 4);
  CHECK(code.out == "out\n");
  CHECK(code.err == "err\n");
  CHECK(d.ctl({"exec", "web", "/no/such/program"}).exit_code == 127);
  // The check that failed passes once what it looks for is there.
  REQUIRE(d.ctl({"exec", "flag", "/bin/busybox", "touch", "/tmp/ready"}).exit_code == 0);
  CHECK(test::eventually([&] { return status("flag") == "healthy"; }));
  auto timed_out = d.ctl({"exec", "--timeout", "300ms", "flag", "sleep", "5"});
  CHECK(timed_out.exit_code == 126);
  CHECK_THAT(timed_out.err, Catch::Contains("did not end within 300 ms"));

  // Stopped: no health, no exec.
  REQUIRE(d.ctl({"stop", "-t", "1", "sick"}).exit_code == 0);
  CHECK(status("sick") == "");
  auto stopped = d.ctl({"exec", "sick", "true"});
  CHECK(stopped.exit_code == 126);
  CHECK_THAT(stopped.err, Catch::Contains("it is not running"));
  CHECK(d.ctl({"rm", "-f", "web", "sick", "flag"}).exit_code == 0);
}

TEST_CASE("Ctrl+C stops a foreground container through berthd, a second one kills it", "[cli][berthctl]") {
  Berthd d;
  auto run_fg = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-H", d.socket.string(), "run"});
    return core::Child::spawn({.program = BERTH_BERTHCTL, .args = std::move(args)}).value();
  };
  auto running = [&](const std::string& name) {
    auto r = d.ctl({"inspect", name});
    return r.exit_code == 0 && boost::json::parse(r.out).as_array().at(0).at("status") == "running";
  };
  // A process that ends on its stop signal (the image's StopSignal, SIGQUIT): the first Ctrl+C is enough.
  auto polite = run_fg({"--name", "polite", "busybox:test", "/bin/sh", "-c",
                        "trap 'exit 7' QUIT; while true; do sleep 0.1; done"});
  REQUIRE(test::eventually([&] { return running("polite"); }));
  REQUIRE(polite.kill(SIGINT));
  CHECK(polite.wait().value().exit_code == 7);
  // PID 1 ignores a signal it has no handler for: the second Ctrl+C kills it.
  auto stubborn = run_fg({"--name", "stubborn", "busybox:test", "sleep", "100"});
  REQUIRE(test::eventually([&] { return running("stubborn"); }));
  REQUIRE(stubborn.kill(SIGINT));
  std::this_thread::sleep_for(300ms);
  REQUIRE(stubborn.kill(SIGINT));
  CHECK(stubborn.wait().value().exit_code == 137);
  CHECK(d.inspect("stubborn").at("status") == "stopped");
}

TEST_CASE("berthd killed with -9 comes back to its containers: same pids, names, ports and logs",
          "[cli][berthctl][berthd][adopt]") {
  Berthd d;
  REQUIRE(d.ctl(with({"run", "-d", "--name", "web", "-p", "18091:8080", "busybox:test"}, kWeb)).exit_code == 0);
  REQUIRE(d.ctl({"run", "-d", "--name", "ticker", "busybox:test", "/bin/sh", "-c",
                 "i=0; while [ $i -lt 30 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done"})
              .exit_code == 0);
  const auto pid = d.inspect("web").at("pid").as_int64();
  REQUIRE(d.daemon->kill(SIGKILL));
  (void)d.daemon->wait();
  d.daemon.reset();
  // The workloads go on without it.
  CHECK(::kill(static_cast<pid_t>(pid), 0) == 0);
  REQUIRE(test::eventually([] { return test::http_get_local(18091, "/hostname").ends_with("web\n"); }));
  std::this_thread::sleep_for(500ms);
  d.start();
  auto web = d.inspect("web");
  CHECK(web.at("status") == "running");
  CHECK(web.at("pid").as_int64() == pid);
  // Still reachable by name (its DNS record is back) and by its port.
  auto fg = d.ctl({"run", "--rm", "busybox:test", "busybox", "wget", "-q", "-O", "-", "http://web:8080/hostname"});
  CHECK(fg.exit_code == 0);
  CHECK(fg.out == "web\n");
  CHECK(test::http_get_local(18091, "/hostname").ends_with("web\n"));
  // logs -f of a container that ran on while no daemon watched: every line, until it ends.
  auto ticks = d.ctl({"logs", "-f", "ticker"});
  CHECK(ticks.exit_code == 0);
  CHECK_THAT(ticks.out, Catch::StartsWith("tick 0\ntick 1\n"));
  CHECK_THAT(ticks.out, Catch::EndsWith("tick 29\n"));

  // SIGTERM, as systemd stops it: berthd ends cleanly and the container runs on, adopted again.
  REQUIRE(d.daemon->kill(SIGTERM));
  CHECK(d.daemon->wait().value().exit_code == 0);
  d.daemon.reset();
  CHECK(::kill(static_cast<pid_t>(pid), 0) == 0);
  CHECK(test::http_get_local(18091, "/hostname").ends_with("web\n"));
  d.start();
  CHECK(d.inspect("web").at("pid").as_int64() == pid);
  CHECK(d.ctl({"rm", "-f", "web", "ticker"}).exit_code == 0);
}

TEST_CASE("20 kill -9 of berthd at random moments while containers come and go leave nothing behind",
          "[cli][berthctl][restart][.soak]") {
  Berthd d;
  const auto base = d.dir.path / "base", exec = d.dir.path / "exec";
  std::atomic<bool> stop{false};
  std::atomic<int> runs{0};
  // The load: run a container, remove it, again; while berthd is down the calls fail, and go on.
  std::thread load([&] {
    for (int i = 0; !stop; ++i) {
      const std::string name = fmt::format("soak{}", i);
      auto ctl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"-H", d.socket.string()});
        auto r = core::run({.program = BERTH_BERTHCTL, .args = std::move(args), .timeout = 30s});
        return r && r->exit_code == 0;
      };
      if (ctl({"run", "-d", "-q", "--name", name, "busybox:test", "sleep", "30"})) ++runs;
      (void)ctl({"rm", "-f", name});
      if (!ctl({"ping"})) std::this_thread::sleep_for(20ms);
    }
  });
  std::mt19937 rng(std::random_device{}());
  for (int kill = 0; kill < 20; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(30, 400)(rng)));
    REQUIRE(d.daemon->kill(SIGKILL));
    (void)d.daemon->wait();
    d.daemon.reset();
    d.start();
  }
  stop = true;
  load.join();
  CHECK(runs > 0);

  // Every record agrees with the runtime: what says running runs, and the runtime holds nothing else.
  // A start the last kill cut short is still under way for a moment (running, no pid yet, as
  // Docker shows a starting container): what a user sees once it has settled.
  boost::json::array all;
  CHECK(test::eventually([&] {
    all = boost::json::parse(d.ctl({"ps", "-a", "--json"}).out).as_array();
    return std::none_of(all.begin(), all.end(),
                        [](const auto& c) { return c.at("status") == "running" && c.at("pid").is_null(); });
  }));
  std::set<std::string> running;
  std::error_code ec;
  for (const auto& c : all) {
    const std::string id(c.at("id").as_string());
    if (c.at("status") != "running") continue;
    running.insert(id);
    INFO(boost::json::serialize(c));
    REQUIRE(c.at("pid").is_int64());
    CHECK(::kill(static_cast<pid_t>(c.at("pid").as_int64()), 0) == 0);
  }
  for (const auto& e : std::filesystem::directory_iterator(exec / "runc", ec)) {
    INFO(e.path().filename().string());
    CHECK(running.contains(e.path().filename().string()));
  }
  // Everything removed, then nothing is left: no namespace, veth, lease, firewall element, mount or file.
  std::vector<std::string> rm{"rm", "-f"};
  for (const auto& c : all) rm.emplace_back(c.at("id").as_string());
  if (rm.size() > 2) CHECK(d.ctl(rm).exit_code == 0);
  CHECK(d.ctl({"ps", "-a", "-q"}).out.empty());
  REQUIRE(d.daemon->kill(SIGTERM));
  CHECK(d.daemon->wait().value().exit_code == 0);
  d.daemon.reset();
  auto entries = [](const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::error_code e;
    for (const auto& entry : std::filesystem::directory_iterator(dir, e))
      if (entry.path().filename() != "lock") names.push_back(entry.path().filename().string());
    return names;
  };
  CHECK(fmt::format("{}", fmt::join(entries(exec / "netns"), " ")) == "");
  CHECK(fmt::format("{}", fmt::join(entries(exec / "runc"), " ")) == "");
  CHECK(fmt::format("{}", fmt::join(entries(base / "containers"), " ")) == "");
  CHECK(fmt::format("{}", fmt::join(entries(base / "workloads"), " ")) == "");
  CHECK(fmt::format("{}", fmt::join(entries(base / "holds"), " ")) == "");
  CHECK(fmt::format("{}", fmt::join(entries(base / "net" / "containers" / "berth"), " ")) == "");
  auto links = core::run({.program = "ip", .args = {"-o", "link", "show", "type", "veth"}}).value();
  CHECK(links.out.empty());
  REQUIRE(std::filesystem::exists(base / "net" / "ipam" / "berth.json"));  // the daemon's own store
  auto leases = net::Ipam::open("berth", net::Subnet::parse("10.88.0.0/16").value(), base / "net" / "ipam");
  REQUIRE(leases);
  CHECK(leases->list().value().empty());
  auto ruleset = core::run({.program = "nft", .args = {"list", "ruleset"}}).value().out;
  const std::regex container_address(R"(10\.88\.\d+\.\d+)");
  for (auto it = std::sregex_iterator(ruleset.begin(), ruleset.end(), container_address); it != std::sregex_iterator();
       ++it) {
    const std::string a = it->str();
    if (a != "10.88.0.0" && a != "10.88.0.1") FAIL_CHECK("the firewall still names " << a);
  }
  const auto mounts = core::read_file("/proc/self/mountinfo").value();
  CHECK(mounts.find(d.dir.path.string()) == std::string::npos);
}
