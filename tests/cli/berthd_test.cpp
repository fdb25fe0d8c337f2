// SPDX-License-Identifier: Apache-2.0
// berthd as its user meets it, as root: it serves its socket (0660, JSON
// answers; root and its group only), a second daemon on the same base directory is refused, SIGTERM
// stops it and takes the socket away, bad flags and missing privileges get
// one line each and leave nothing behind.
#include "berth/core/fs.hpp"
#include "berth/core/http.hpp"
#include "berth/core/process.hpp"
#include "berth/core/unique_fd.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

#include <csignal>
#include <cstring>
#include <thread>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace berth;
using namespace std::chrono_literals;

namespace {

bool wait_for_socket(const std::filesystem::path& socket) {
  for (int i = 0; i < 500; ++i) {
    if (core::http::accepts_connections(socket)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

core::Output berthd(std::vector<std::string> args) {
  return core::run({.program = BERTH_BERTHD, .args = std::move(args), .timeout = 10s}).value();
}

}  // namespace

TEST_CASE("berthd serves its control socket and stops on SIGTERM", "[cli][berthd]") {
  test::TempDir dir;
  const auto socket = dir.path / "run" / "berthd.sock";
  const auto base = dir.path / "base";
  auto d = core::Child::spawn({.program = BERTH_BERTHD,
                                .args = {"--base-dir", base.string(), "--socket", socket.string(), "--exec-root",
                                         (dir.path / "exec").string()}},
                              {.stderr_path = dir.path / "berthd.log"})
               .value();
  REQUIRE(wait_for_socket(socket));
  struct stat st {};
  REQUIRE(::stat(socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  auto ping = core::http::request(socket, {.target = "/v1/ping"}).value();
  CHECK(ping.status == 200);
  CHECK(boost::json::parse(ping.body) == boost::json::parse(R"({"ok":true})"));
  auto version = boost::json::parse(core::http::request(socket, {.target = "/v1/version"}).value().body);
  CHECK(version.at("daemon") == "berthd");
  auto missing = core::http::request(socket, {.target = "/v1/containers/web"}).value();
  CHECK(missing.status == 404);
  CHECK(boost::json::parse(missing.body).at("error").at("code") == "not_found");

  {
    // A 10 MB body is refused from its header, in JSON, and the daemon goes on.
    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string head = "POST /v1/containers/run HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n"
                             "Content-Length: 10485760\r\n\r\n";
    REQUIRE(::write(fd.get(), head.data(), head.size()) == static_cast<ssize_t>(head.size()));
    std::string raw;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
    auto answer = core::http::parse_response(raw).value();
    CHECK(answer.status == 413);
    CHECK(boost::json::parse(answer.body).at("error").at("code") == "body_too_large");
    CHECK(core::http::request(socket, {.target = "/v1/ping"}).value().status == 200);
  }
  {
    auto garbage = core::http::request(socket, {.method = "GET", .target = "no-slash"});
    REQUIRE(garbage);
    CHECK(garbage->status == 404);
  }

  auto second = berthd({"--base-dir", base.string(), "--socket", (dir.path / "other.sock").string(), "--exec-root",
                        (dir.path / "exec").string()});
  CHECK(second.exit_code == 1);
  CHECK(second.err == fmt::format("berthd: error: another berthd uses the base directory '{}'\n", base.string()));
  CHECK_FALSE(std::filesystem::exists(dir.path / "other.sock"));

  REQUIRE(d.kill(SIGTERM));
  auto done = d.wait().value();
  CHECK(done.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(socket));
  const auto log = core::read_file(dir.path / "berthd.log").value();
  CHECK_THAT(log, Catch::Contains(R"({"level":"info","msg":"listening","socket":")" + socket.string() + "\"}"));
  CHECK_THAT(log, Catch::Contains(R"({"level":"info","msg":"network backend","driver":"native","network":"berth",)"
                                  R"("subnet":"10.88.0.0/16","dns":"auto"})"));
  CHECK_THAT(log, Catch::Contains("stopping; containers keep running"));
}

namespace {

/// Whether a process of `uid`:`gid` (and no other groups) may connect to `socket`:
/// 0 it may, 13 refused (EACCES), 1 another failure.
int connect_as(const std::filesystem::path& socket, uid_t uid, gid_t gid) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) ::_exit(0);
    ::_exit(errno == EACCES ? 13 : 1);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("only root and the socket group may use berthd's socket", "[cli][berthd]") {
  const group* nogroup = ::getgrnam("nogroup");
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nogroup);
  REQUIRE(nobody);
  const gid_t group_id = nogroup->gr_gid;
  const uid_t user_id = nobody->pw_uid;
  test::TempDir dir;
  // Others may walk to the socket: its own mode and group are what decide.
  ::chmod(dir.path.c_str(), 0755);
  const auto socket = dir.path / "berthd.sock";
  auto d = core::Child::spawn({.program = BERTH_BERTHD,
                               .args = {"--base-dir", (dir.path / "base").string(), "--socket", socket.string(),
                                        "--exec-root", (dir.path / "exec").string(), "--socket-group", "nogroup"}},
                              {.stderr_path = dir.path / "berthd.log"})
               .value();
  REQUIRE(wait_for_socket(socket));
  struct stat st {};
  REQUIRE(::stat(socket.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
  CHECK(st.st_gid == group_id);
  CHECK(connect_as(socket, user_id, group_id) == 0);       // a member of the group
  CHECK(connect_as(socket, user_id, group_id - 1) == 13);  // outside it: refused
  CHECK(core::http::request(socket, {.target = "/v1/ping"}).value().status == 200);  // root, and it goes on
  REQUIRE(d.kill(SIGTERM));
  CHECK(d.wait().value().exit_code == 0);
}

TEST_CASE("berthd refuses bad flags and missing privileges in one line, leaving nothing", "[cli][berthd][bad-input]") {
  test::TempDir dir;
  const auto base = dir.path / "base";
  struct Case {
    std::vector<std::string> args;
    std::string line;
  };
  const std::vector<Case> cases{
      {{"--dns", "maybe"}, "berthd: error: --dns: unknown DNS mode 'maybe' (expected auto, embedded, cni or off)"},
      {{"--net-driver", "fast"}, "berthd: error: --net-driver: "},
      {{"--runtime", "kata"}, "berthd: error: --runtime: 'kata' is not one of runc, crun, auto"},
      {{"--base-dir", "relative"}, "berthd: error: --base-dir: 'relative' is not an absolute path"},
      {{"--network", "bad name"}, "berthd: error: --network: 'bad name' is not a valid network name"},
      {{"--log-level", "loud"}, "berthd: error: --log-level: 'loud' is not one of debug, info, warn, error"},
      {{"--bogus"}, "berthd: error: unrecognised option '--bogus'"},
  };
  for (const auto& c : cases) {
    INFO(c.args.front());
    auto args = c.args;
    if (c.args.front() != "--base-dir") args.insert(args.end(), {"--base-dir", base.string()});
    args.insert(args.end(), {"--socket", (dir.path / "s.sock").string(), "--exec-root", (dir.path / "exec").string()});
    auto r = berthd(args);
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith(c.line));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(std::filesystem::exists(base));
    CHECK_FALSE(std::filesystem::exists(dir.path / "s.sock"));
  }
  // As nobody, without capabilities.
  auto r = core::run({.program = "setpriv",
                      .args = {"--reuid=65534", "--regid=65534", "--clear-groups", BERTH_BERTHD, "--base-dir", base.string(),
                               "--socket", (dir.path / "s.sock").string()},
                      .timeout = 10s})
               .value();
  CHECK(r.exit_code == 1);
  CHECK(r.err == "berthd: error: berthd needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN (it makes network namespaces, "
                 "links and mounts); run it as root or with sudo\n");
  CHECK_FALSE(std::filesystem::exists(base));
}
