// SPDX-License-Identifier: Apache-2.0
// Containers from the store run by runc under conmon, as root: what the
// process sees of its image, its exit code, the StopSignal, a container
// that outlives the object (the process) that made it, and bad input.
#include "berth/core/fs.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/image/load.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <csignal>
#include <sys/mount.h>

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::container;
using namespace std::chrono_literals;

namespace {

struct World {
  test::TestImage image;
  test::TempDir base;
  image::Store store = image::Store::open(base.path / "images").value();
  RuntimeOptions options{.base = base.path, .state = base.path / "runc"};

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

}  // namespace

TEST_CASE("a container runs its image as the image's user and its exit code comes back", "[container]") {
  World w;
  auto c = w.containers();
  auto s = c.create(w.store, w.run("c1", {"/bin/sh", "-c",
                                          "id -u; cat /etc/motd || echo motd-gone; stat -c %u /home/app/data; "
                                          "echo $FOO; exit 3"}));
  REQUIRE(s);
  CHECK(s->status == Status::Created);
  CHECK(c.state("c1").value().status == Status::Created);
  REQUIRE(c.start("c1"));
  CHECK(c.wait("c1", 20s).value() == 3);
  auto done = c.state("c1").value();
  CHECK(done.status == Status::Stopped);
  CHECK(done.exit_code == 3);
  const std::string log = text(done.log);
  INFO(log);
  CHECK_THAT(log, Catch::Contains("stdout F 101"));   // User app, from the image's /etc/passwd
  CHECK_THAT(log, Catch::Contains("motd-gone"));      // deleted by a layer: stays deleted
  CHECK_THAT(log, Catch::Contains("stdout F bar"));   // the image's Env
  CHECK(std::count(log.begin(), log.end(), '\n') >= 4);
  REQUIRE(c.remove("c1"));
  CHECK(c.state("c1").error().is(core::Errc::not_found));
  CHECK_FALSE(std::filesystem::exists(w.base.path / "containers" / "c1"));
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

TEST_CASE("a container outlives the object that started it", "[container]") {
  World w;
  {
    auto first = w.containers();
    REQUIRE(first.create(w.store, w.run("long", {"/bin/sleep", "60"})));
    REQUIRE(first.start("long"));
  }
  auto later = w.containers();  // as a new process would
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
  auto no_program = c.create(w.store, w.run("c3", {"/bin/no-such-program"}));
  REQUIRE_FALSE(no_program);
  CHECK_THAT(no_program.error().message(), Catch::Contains("could not create the container"));
  auto bad_user = c.create(w.store, {"c4", "docker.io/library/busybox:test", {.user = "ghost"}});
  CHECK_THAT(bad_user.error().message(), Catch::Contains("user 'ghost'"));
  CHECK(c.list().value().empty());
  for (const auto& e : std::filesystem::directory_iterator(w.base.path / "containers"))
    if (e.path().filename() != "lock") FAIL_CHECK(e.path());
  REQUIRE(c.create(w.store, w.run("c5", {"/bin/true"})));
  CHECK(c.create(w.store, w.run("c5", {"/bin/true"})).error().is(core::Errc::already_exists));
  REQUIRE(c.remove("c5"));  // never started: removed all the same
}
