// SPDX-License-Identifier: Apache-2.0
// Containers from the store run by runc under berth-monitor, as root: what the
// process sees of its image, its exit code, the StopSignal, a container
// that outlives the process that made it, and bad input.
#include "berth/core/fs.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/container/log.hpp"
#include "berth/runtime/image/load.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <csignal>
#include <sstream>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::container;
using namespace std::chrono_literals;

namespace {

struct World {
  test::TestImage image;
  test::TempDir base;
  image::Store store = image::Store::open(base.path / "images").value();
  RuntimeOptions options{.base = base.path, .state = base.path / "runc", .monitor = BERTH_MONITOR};

  World() { REQUIRE(image::load_images(store, image.oci(), {.name = "busybox:test"})); }
  Containers containers() { return Containers::open(options).value(); }
  CreateOptions run(std::string id, std::vector<std::string> command) {
    return {std::move(id), "docker.io/library/busybox:test", {.command = std::move(command)}};
  }
};

std::string text(const std::filesystem::path& p) {
  auto t = core::read_file(p);
  return t ? *t : std::string();
}

// What the container wrote to stdout, from its log.
std::string stdout_of(const std::filesystem::path& log) {
  std::string out;
  for (const auto& e : read_log(log).value())
    if (e.stream == "stdout") out += e.text;
  return out;
}

}  // namespace

TEST_CASE("a container runs its image as the image's user and its exit code comes back", "[container]") {
  World w;
  auto c = w.containers();
  auto s = c.create(w.store, w.run("c1", {"/bin/sh", "-c",
                                          "id -u; id -g; cat /etc/motd || echo motd-gone; cat /home/app/data; "
                                          "ls -ln /home/app/data; echo $FOO; exit 3"}));
  REQUIRE(s);
  CHECK(s->status == Status::Created);
  CHECK(c.state("c1").value().status == Status::Created);
  REQUIRE(c.start("c1"));
  CHECK(c.wait("c1", 20s).value() == 3);
  auto done = c.state("c1").value();
  CHECK(done.status == Status::Stopped);
  CHECK(done.exit_code == 3);
  INFO(text(done.log));
  std::istringstream out(stdout_of(done.log));
  std::vector<std::string> lines;
  for (std::string l; std::getline(out, l);) lines.push_back(l);
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "101");        // User app, from the image's /etc/passwd
  CHECK(lines[1] == "101");
  CHECK(lines[2] == "motd-gone");  // deleted by a layer: stays deleted
  CHECK(lines[3] == "data");       // readable: its owner is the process's user
  CHECK_THAT(lines[4], Catch::Matches(R"(-rw-r--r--\s+1 101\s+101\s+5 .* /home/app/data)"));
  CHECK(lines[5] == "bar");        // the image's Env
  CHECK_THAT(text(done.log),
             Catch::Contains(R"({"log":"cat: can't open '/etc/motd': No such file or directory\n","stream":"stderr","time":")"));
  REQUIRE(c.remove("c1"));
  CHECK(c.state("c1").error().is(core::Errc::not_found));
  CHECK_FALSE(std::filesystem::exists(w.base.path / "containers" / "c1"));
}

TEST_CASE("a container has its own hostname, hosts and resolv.conf", "[container][etc]") {
  World w;
  w.options.host_resolv_conf = w.base.path / "host-resolv.conf";
  REQUIRE(core::write_file_atomic(w.options.host_resolv_conf, "nameserver 127.0.0.1\nnameserver 192.0.2.53\nsearch corp.example\n"));
  auto c = w.containers();
  auto o = w.run("web_1", {"/bin/sh", "-c", "hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf; echo intruder >> /etc/hosts"});
  o.etc = {.addresses = {net::parse_address("10.88.0.5").value()},
           .extra_hosts = {{"db", net::parse_address("10.88.0.9").value()}}};
  REQUIRE(c.create(w.store, o));
  REQUIRE(c.start("web_1"));
  CHECK(c.wait("web_1", 20s).value() == 1);  // the image's user may not write /etc/hosts
  const std::string out = stdout_of(c.state("web_1").value().log);
  INFO(text(c.state("web_1").value().log));
  CHECK_THAT(out, Catch::StartsWith("web-1\nweb-1\n127.0.0.1\tlocalhost\n"));  // hostname(1), /etc/hostname, /etc/hosts
  CHECK_THAT(out, Catch::Contains("ff02::2\tip6-allrouters\n10.88.0.9\tdb\n10.88.0.5\tweb-1\n"));
  CHECK_THAT(out, Catch::EndsWith("nameserver 192.0.2.53\nsearch corp.example\n"));  // not the host's loopback one
  CHECK_THAT(out, !Catch::Contains("127.0.0.1\n"));
  CHECK_THAT(text(w.base.path / "containers" / "web_1" / "etc" / "hosts"), !Catch::Contains("intruder"));

  // The caller's own resolv.conf (a network's DNS server), and a hostname asked for.
  auto own = w.run("named", {"/bin/sh", "-c", "hostname; cat /etc/resolv.conf"});
  own.run.hostname = "api.internal";
  own.etc.resolv_conf = "nameserver 10.88.0.1\noptions ndots:0\n";
  REQUIRE(c.create(w.store, own));
  REQUIRE(c.start("named"));
  CHECK(c.wait("named", 20s).value() == 0);
  CHECK(stdout_of(c.state("named").value().log) == "api.internal\nnameserver 10.88.0.1\noptions ndots:0\n");

  auto bad = w.run("bad", {"/bin/true"});
  bad.run.hostname = "no_such host";
  CHECK_THAT(c.create(w.store, bad).error().message(), Catch::Contains("hostname 'no_such host'"));
  CHECK_FALSE(std::filesystem::exists(w.base.path / "containers" / "bad"));
  REQUIRE(c.remove("web_1"));
  REQUIRE(c.remove("named"));
}

TEST_CASE("stop uses the image's StopSignal, then the grace period, then KILL", "[container]") {
  World w;
  auto c = w.containers();
  // The image's StopSignal is SIGQUIT: the trap says it was that one.
  REQUIRE(c.create(w.store, w.run("quits", {"/bin/sh", "-c", "trap 'exit 42' QUIT; while true; do sleep 0.1; done"})));
  REQUIRE(c.start("quits"));
  CHECK(c.state("quits").value().status == Status::Running);
  CHECK(c.stop("quits", 10s).value() == 42);

  REQUIRE(c.create(w.store, w.run("stubborn", {"/bin/sh", "-c", "trap '' QUIT TERM; while true; do sleep 0.1; done"})));
  REQUIRE(c.start("stubborn"));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(c.stop("stubborn", 500ms).value() == 128 + SIGKILL);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  REQUIRE(c.remove("quits"));
  REQUIRE(c.remove("stubborn"));
}

TEST_CASE("a container started by one process is seen, waited for and stopped by another", "[container]") {
  World w;
  const pid_t starter = ::fork();
  REQUIRE(starter >= 0);
  if (starter == 0) {  // the first process: starts it and goes
    auto first = w.containers();
    const bool ok = first.create(w.store, w.run("long", {"/bin/sleep", "60"})) && first.start("long");
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(starter, &status, 0) == starter);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto later = w.containers();
  auto all = later.list().value();
  REQUIRE(all.size() == 1);
  CHECK(all[0].id == "long");
  CHECK(all[0].status == Status::Running);
  REQUIRE(all[0].pid);
  CHECK(::kill(*all[0].pid, 0) == 0);
  CHECK(later.wait("long", 200ms).error().is(core::Errc::timed_out));
  CHECK(later.remove("long").error().is(core::Errc::conflict));  // running: stop it first
  // sleep, as the first process of its namespace, ignores the image's SIGQUIT: KILL after the grace period.
  CHECK(later.stop("long", 1s).value() == 128 + SIGKILL);
  REQUIRE(later.remove("long"));
  CHECK(later.list().value().empty());
}

TEST_CASE("a container that cannot be made leaves nothing behind", "[container][bad-input]") {
  World w;
  auto c = w.containers();
  auto bad_id = c.create(w.store, w.run("../x", {"/bin/true"}));
  CHECK(bad_id.error().is(core::Errc::invalid_argument));
  auto no_image = c.create(w.store, {"c2", "docker.io/library/nothing:1", {}});
  CHECK_THAT(no_image.error().message(), Catch::Contains("no image 'docker.io/library/nothing:1'"));
  auto bad_user = c.create(w.store, {"c4", "docker.io/library/busybox:test", {.user = "ghost"}});
  CHECK_THAT(bad_user.error().message(), Catch::Contains("user 'ghost'"));
  CHECK(c.list().value().empty());
  for (const auto& e : std::filesystem::directory_iterator(w.base.path / "containers"))
    if (e.path().filename() != "lock") FAIL_CHECK(e.path());
  REQUIRE(c.create(w.store, w.run("c5", {"/bin/true"})));
  CHECK(c.create(w.store, w.run("c5", {"/bin/true"})).error().is(core::Errc::already_exists));
  CHECK(c.stop("c5").value() == 0);  // nothing runs
  CHECK(c.kill("c5", "TERM").error().is(core::Errc::conflict));
  CHECK(c.kill("c5", "NOSUCH").error().is(core::Errc::invalid_argument));
  REQUIRE(c.remove("c5"));  // never started: removed all the same
}

TEST_CASE("a start that fails leaves the container created, with the runtime's reason", "[container][bad-input]") {
  World w;
  auto c = w.containers();
  REQUIRE(c.create(w.store, w.run("c3", {"/bin/no-such-program"})));
  auto started = c.start("c3");
  REQUIRE_FALSE(started);
  CHECK_THAT(started.error().message(), Catch::StartsWith("start container 'c3': the OCI runtime could not start it: "));
  CHECK_THAT(started.error().message(), Catch::Contains("no-such-program"));
  CHECK(c.state("c3").value().status == Status::Created);
  REQUIRE(c.remove("c3"));
  CHECK(c.list().value().empty());

  // A monitor that is not there is said when the containers are opened.
  auto options = w.options;
  options.monitor = w.base.path / "no-monitor";
  CHECK_THAT(Containers::open(options).error().message(), Catch::Contains("berth-monitor"));
}

TEST_CASE("a stopped container starts again with what its root file system holds", "[container]") {
  World w;
  auto c = w.containers();
  auto o = w.run("again", {"/bin/sh", "-c", "echo run >> /tmp/runs; cat /tmp/runs"});
  o.run.user = "0";  // the image's /tmp is root's
  REQUIRE(c.create(w.store, o));
  REQUIRE(c.start("again"));
  CHECK(c.wait("again", 20s).value() == 0);
  REQUIRE(c.start("again"));
  CHECK(c.wait("again", 20s).value() == 0);
  CHECK(stdout_of(c.state("again").value().log) == "run\nrun\nrun\n");  // one line, then two
  REQUIRE(c.remove("again"));
}

TEST_CASE("an image removed under a container keeps its layers through a prune until the container goes", "[container][image]") {
  World w;
  auto c = w.containers();
  REQUIRE(c.create(w.store, w.run("holder", {"/bin/sh", "-c", "exit 0"})));
  REQUIRE(w.store.untag("docker.io/library/busybox:test"));  // rmi -f
  const auto held = w.store.held_layers().value();
  REQUIRE_FALSE(held.empty());
  auto pruned = w.store.prune().value();
  CHECK(pruned.layers.empty());
  for (const auto& d : held) CHECK(w.store.has_layer(d));
  REQUIRE(c.start("holder"));  // its root file system is whole
  CHECK(c.wait("holder", 20s).value() == 0);
  REQUIRE(c.remove("holder"));
  CHECK(w.store.held_layers().value().empty());
  CHECK(w.store.prune().value().layers.size() == held.size());  // free now
}

TEST_CASE("a wait on a created container lasts until another process has started it and it has ended", "[container]") {
  World w;
  auto c = w.containers();
  REQUIRE(c.create(w.store, w.run("later", {"/bin/sh", "-c", "exit 7"})));
  CHECK(c.wait("later", 100ms).error().is(core::Errc::timed_out));
  const pid_t starter = ::fork();
  REQUIRE(starter >= 0);
  if (starter == 0) {
    ::usleep(200 * 1000);
    auto other = Containers::open(w.options);
    ::_exit(other && other->start("later") ? 0 : 1);
  }
  CHECK(c.wait("later", 20s).value() == 7);
  int status = 0;
  REQUIRE(::waitpid(starter, &status, 0) == starter);
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(c.remove("later"));
}

TEST_CASE("a container's log is rotated by size and its long lines are kept whole in parts", "[container][log]") {
  World w;
  w.options.log_max_size = 64 << 10;
  w.options.log_max_files = 2;
  auto c = w.containers();
  // 1000 numbered lines (about 75 KB of records), then one line of 40 000 characters.
  REQUIRE(c.create(w.store, w.run("chatty", {"/bin/sh", "-c",
                                             "i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i+1)); done; "
                                             "head -c 40000 /dev/zero | tr '\\0' x; echo"})));
  REQUIRE(c.start("chatty"));
  REQUIRE(c.wait("chatty", 20s).value() == 0);
  const auto log = c.state("chatty").value().log;
  CHECK(std::filesystem::exists(log.string() + ".1"));
  CHECK_FALSE(std::filesystem::exists(log.string() + ".2"));
  auto entries = read_log(log, 2).value();
  REQUIRE(entries.size() >= 3);
  CHECK(entries.back().text == std::string(40000 - 2 * 16384, 'x') + "\n");
  CHECK(entries[entries.size() - 2].partial);
  CHECK(entries[entries.size() - 2].text.size() == 16384);
  CHECK(entries[entries.size() - 4].text == "line 999\n");
  for (const char* f : {"", ".1"}) CHECK(std::filesystem::file_size(log.string() + f) <= (64 << 10));
  REQUIRE(c.remove("chatty"));
}

TEST_CASE("two processes starting one container at once start it once", "[container]") {
  World w;
  auto c = w.containers();
  REQUIRE(c.create(w.store, w.run("twice", {"/bin/sh", "-c", "echo ran; sleep 1; exit 5"})));
  std::vector<pid_t> starters;
  for (int i = 0; i < 2; ++i) {
    const pid_t p = ::fork();
    REQUIRE(p >= 0);
    if (p == 0) {
      auto other = Containers::open(w.options);
      ::_exit(other && other->start("twice") ? 0 : 1);
    }
    starters.push_back(p);
  }
  for (pid_t p : starters) {
    int status = 0;
    REQUIRE(::waitpid(p, &status, 0) == p);
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(c.wait("twice", 20s).value() == 5);
  CHECK(stdout_of(c.state("twice").value().log) == "ran\n");
  REQUIRE(c.remove("twice"));
}
