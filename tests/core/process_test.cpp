// SPDX-License-Identifier: Apache-2.0
#include "berth/core/process.hpp"

#include "berth_catch.hpp"

#include <chrono>
#include <csignal>

#include <poll.h>
#include <unistd.h>

using namespace berth::core;
using namespace std::chrono_literals;

TEST_CASE("run captures stdout, stderr and the exit code", "[process]") {
  auto r = run({.program = "sh", .args = {"-c", "echo out; echo err >&2; exit 3"}});
  REQUIRE(r);
  CHECK(r->out == "out\n");
  CHECK(r->err == "err\n");
  CHECK(r->exit_code == 3);
  CHECK_FALSE(r->success());
}

TEST_CASE("run feeds stdin and sets the environment", "[process]") {
  auto r = run({.program = "/bin/sh",
                .args = {"-c", "read line; echo \"$line-$GREETING\""},
                .env = std::vector<std::string>{"GREETING=hello", "PATH=/usr/bin:/bin"},
                .stdin_data = "input\n"});
  REQUIRE(r);
  CHECK(r->out == "input-hello\n");
}

TEST_CASE("run kills a program past its timeout", "[process]") {
  auto start = std::chrono::steady_clock::now();
  auto r = run({.program = "sleep", .args = {"30"}, .timeout = 200ms});
  REQUIRE_FALSE(r);
  CHECK(r.error().is(Errc::timed_out));
  CHECK_THAT(r.error().message(), Catch::Contains("'sleep'") && Catch::Contains("200 ms"));
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("run of a missing program is one clear error", "[process]") {
  auto r = run({.program = "berth-no-such-program"});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "run 'berth-no-such-program': program not found in PATH");
  auto abs = run({.program = "/nonexistent/prog"});
  REQUIRE_FALSE(abs);
  CHECK(abs.error().message() == "run '/nonexistent/prog': No such file or directory");
}

TEST_CASE("run_checked turns a failure into an error quoting stderr", "[process]") {
  auto r = run_checked({.program = "sh", .args = {"-c", "echo first >&2; echo 'bad thing' >&2; exit 2"}});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "run 'sh': exit code 2: bad thing");
}

TEST_CASE("a Child can be signalled and waited for", "[process]") {
  auto child = Child::spawn({.program = "sleep", .args = {"30"}});
  REQUIRE(child);
  CHECK(child->pid() > 0);
  CHECK(child->running());
  REQUIRE(child->kill(SIGKILL));
  auto status = child->wait();
  REQUIRE(status);
  CHECK(status->term_signal == SIGKILL);
  CHECK_FALSE(child->running());
}

TEST_CASE("a child inherits no descriptor of ours, so another thread's pipe still sees its end", "[process]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);  // no O_CLOEXEC, as Asio's own pipes
  auto child = berth::core::Child::spawn({.program = "sleep", .args = {"5"}}).value();
  ::close(fds[1]);
  // Our write end was the only one: the read end is at its end at once, the child running or not.
  pollfd p{fds[0], POLLIN, 0};
  CHECK(::poll(&p, 1, 2000) == 1);
  char c;
  CHECK(::read(fds[0], &c, 1) == 0);
  ::close(fds[0]);
  REQUIRE(child.kill(SIGKILL));
  (void)child.wait();
  // And run(): the same with a program that lists what it has open.
  auto open = berth::core::run({.program = "ls", .args = {"/proc/self/fd"}}).value();
  CHECK(open.out == "0\n1\n2\n3\n");  // stdio, and the directory ls reads
}
