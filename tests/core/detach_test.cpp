// SPDX-License-Identifier: Apache-2.0
// Daemons started by `dockyard start --no-systemd`: detached, logged, stoppable by pid.
#include "berth/core/detach.hpp"
#include "berth/core/fs.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <thread>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace berth;

namespace {

std::string wait_for_log(const std::filesystem::path& log, std::string_view want) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    auto r = core::read_file(log);
    text = r ? *r : std::string{};
    if (text.find(want) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return text;
}

}  // namespace

TEST_CASE("a detached daemon runs in its own session, logs to its file, and stops on SIGTERM", "[core]") {
  test::TempDir dir;
  const auto log = dir.path / "daemon.log";
  auto pid = core::spawn_detached(
      {.program = "/bin/sh", .args = {"-c", "echo started in $PWD; echo to stderr >&2; exec sleep 60"}}, log);
  REQUIRE(pid);
  CHECK(core::process_alive(*pid));
  CHECK(::getsid(*pid) != ::getsid(0));  // another session: a closing terminal does not hang it up
  const std::string text = wait_for_log(log, "to stderr");
  CHECK_THAT(text, Catch::Contains("started in /\n") && Catch::Contains("to stderr"));
  REQUIRE(core::terminate_process(*pid, std::chrono::seconds(5)));
  CHECK_FALSE(core::process_alive(*pid));
  REQUIRE(core::terminate_process(*pid, std::chrono::seconds(5)));  // already gone: fine
}

TEST_CASE("a daemon that ignores SIGTERM is killed after the grace period", "[core]") {
  test::TempDir dir;
  auto pid = core::spawn_detached({.program = "/bin/sh", .args = {"-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}},
                                  dir.path / "log");
  REQUIRE(pid);
  CHECK_THAT(wait_for_log(dir.path / "log", "ready"), Catch::Contains("ready"));
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(core::terminate_process(*pid, std::chrono::milliseconds(300)));
  CHECK_FALSE(core::process_alive(*pid));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
}

TEST_CASE("a daemon that cannot start is an error, not a pid", "[core]") {
  test::TempDir dir;
  auto missing = core::spawn_detached({.program = dir.path / "no-such-daemon"}, dir.path / "log");
  REQUIRE_FALSE(missing);
  REQUIRE(core::write_file_atomic(dir.path / "not-executable", "#!/bin/sh\n", 0644));
  auto denied = core::spawn_detached({.program = dir.path / "not-executable"}, dir.path / "log");
  REQUIRE_FALSE(denied);
  auto bad_log = core::spawn_detached({.program = "/bin/true"}, dir.path / "no-dir" / "log");
  REQUIRE_FALSE(bad_log);
  CHECK_THAT(bad_log.error().message(), Catch::Contains("no-dir/log"));
  CHECK_FALSE(core::process_alive(0));
  CHECK_FALSE(core::process_alive(-1));
}

TEST_CASE("descriptors handed to a child stay open until the caller exits, and its output ends at once", "[core]") {
  int held[2], out[2], go[2];
  REQUIRE(::pipe(held) == 0);  // a descriptor the caller holds (its write end)
  REQUIRE(::pipe(out) == 0);   // the caller's stdout, as a CNI runtime reads it
  REQUIRE(::pipe(go) == 0);    // tells the caller to exit
  const pid_t caller = ::fork();
  REQUIRE(caller >= 0);
  if (caller == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::close(held[0]);
    ::close(go[1]);
    if (!core::release_descriptors_after_exit()) ::_exit(2);
    (void)!::write(1, "ready", 5);
    char c;
    (void)!::read(go[0], &c, 1);
    ::_exit(0);
  }
  ::close(out[1]);
  ::close(held[1]);
  ::close(go[0]);
  char buf[16];
  REQUIRE(::read(out[0], buf, sizeof buf) == 5);
  auto readable_within = [](int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  };
  CHECK_FALSE(readable_within(held[0], 100));  // still open: the caller runs
  ::close(go[1]);                              // the caller exits now
  int status = 0;
  REQUIRE(::waitpid(caller, &status, 0) == caller);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(::read(out[0], buf, sizeof buf) == 0);  // its output ended with it: the child kept no copy
  REQUIRE(readable_within(held[0], 5000));      // and the child let go of the rest after it
  CHECK(::read(held[0], buf, sizeof buf) == 0);
  ::close(held[0]);
  ::close(out[0]);
}
