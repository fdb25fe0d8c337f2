// SPDX-License-Identifier: Apache-2.0
// What bench/runtime's benchmarks share: timing a program or a child, a
// scratch directory and namespaces of the benchmark's own, a dockerd and a
// podman with their own storage, and the table of results.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace berth::bench {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;


inline double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Thrown, so that what the run started (dockerd, containers, mounts) is
/// stopped and removed on the way out.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] inline void fail(const std::string& what) { throw Failure(what); }

template <class T>
T must(core::Result<T> r) {
  if (!r) fail(r.error().message());
  return std::move(*r);
}
inline void must(core::Result<void> r) {
  if (!r) fail(r.error().message());
}

/// What one run of a program (or of berth in a child) cost.
struct Ran {
  double ms = 0;
  long max_rss_kb = 0;  ///< the largest resident set of it and its children
  int status = 0;
  double cpu_ms = 0;  ///< user + system time of it and its children
};

inline double cpu_ms_of(const rusage& ru) {
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/// Runs `argv` with its output in `log`; the wall time and wait4's rusage.
inline Ran timed_exec(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = Clock::now();
  pid_t pid = 0;
  if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) fail("cannot run " + argv[0]);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  Ran r{ms(Clock::now() - t0), ru.ru_maxrss, status, cpu_ms_of(ru)};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
  {
    auto text = core::read_file(log);
    std::string out = text ? *text : "";
    if (out.size() > 600) out = "..." + out.substr(out.size() - 600);
    fail(fmt::format("'{}' failed (status {}); it said:\n{}", fmt::join(argv, " "), status, out));
  }
  return r;
}

/// Runs `fn` in a child process of its own, so its memory is its own.
inline Ran timed_child(const std::function<bool()>& fn) {
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) ::_exit(fn() ? 0 : 1);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  Ran r{ms(Clock::now() - t0), ru.ru_maxrss, status, cpu_ms_of(ru)};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("berth's run failed");
  return r;
}

inline void sh(const std::string& command) {
  if (std::system(command.c_str()) != 0) fail("'" + command + "' failed");
}

/// A network and mount namespace of our own: loopback up, no route out,
/// and every mount made here (overlays, dockerd's, podman's) gone with us.
inline void own_namespaces() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) fail("unshare (needs root)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("make / private");
  sh("ip link set lo up");
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

template <class F>
inline void wait_until(F&& ready, const std::string& what) {
  for (int i = 0; i < 600; ++i) {
    if (ready()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fail(what + " did not come up");
}

/// A scratch directory, removed with what is mounted below it.
struct Scratch {
  fs::path dir;
  Scratch() {
    std::string tmpl = "/var/tmp/berth-bench-XXXXXX";
    dir = ::mkdtemp(tmpl.data());
  }
  ~Scratch() {
    // Whatever is mounted below (overlays of berth, podman's and dockerd's
    // storage), deepest first.
    std::vector<std::string> below;
    std::ifstream mounts("/proc/self/mounts");
    for (std::string dev, point, rest; mounts >> dev >> point && std::getline(mounts, rest);)
      if (point.starts_with(dir.string() + "/")) below.push_back(point);
    std::sort(below.rbegin(), below.rend());
    for (const auto& m : below) ::umount2(m.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  [[nodiscard]] fs::path operator/(const std::string& sub) const { return dir / sub; }
};

/// A dockerd of the benchmark's own: its own data root, socket and exec root,
/// no bridge and no firewall rules (nothing of the host touched). Stopped by
/// its PID.
class Dockerd {
public:
  explicit Dockerd(const Scratch& s) : Dockerd(s / "docker") {}
  explicit Dockerd(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    child_.emplace(must(core::Child::spawn(
        {.program = "dockerd",
         .args = {"--data-root", (dir_ / "data").string(), "--exec-root", (dir_ / "exec").string(), "--pidfile",
                  (dir_ / "docker.pid").string(), "-H", "unix://" + socket(), "--bridge=none", "--iptables=false",
                  "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--storage-driver", "overlay2"}},
        {.stdout_path = dir_ / "dockerd.log", .stderr_path = dir_ / "dockerd.log"})));
    wait_until([&] { return core::run(cli({"version"})).value().success(); }, "dockerd");
  }
  ~Dockerd() {
    (void)child_->kill(SIGTERM);
    (void)child_->wait();
  }
  [[nodiscard]] std::string socket() const { return (dir_ / "docker.sock").string(); }
  [[nodiscard]] std::vector<std::string> argv(std::vector<std::string> args) const {
    args.insert(args.begin(), {"docker", "-H", "unix://" + socket()});
    return args;
  }
  [[nodiscard]] core::Command cli(std::vector<std::string> args) const {
    return {.program = "docker", .args = [&] {
              args.insert(args.begin(), {"-H", "unix://" + socket()});
              return args;
            }()};
  }
  [[nodiscard]] pid_t pid() { return child_->pid(); }
  [[nodiscard]] fs::path log() const { return dir_ / "dockerd.log"; }

private:
  fs::path dir_;
  std::optional<core::Child> child_;
};

/// podman with its own storage, no systemd and runc (crun refuses cgroup v1).
inline std::vector<std::string> podman_in(const fs::path& dir, std::vector<std::string> args) {
  std::vector<std::string> a{"podman",
                             "--root", (dir / "podman-root").string(),
                             "--runroot", (dir / "podman-run").string(),
                             "--storage-driver", "overlay",
                             "--cgroup-manager", "cgroupfs",
                             "--events-backend", "file",
                             "--runtime", "runc",
                             "--tmpdir", (dir / "podman-tmp").string()};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}
inline std::vector<std::string> podman(const Scratch& s, std::vector<std::string> args) { return podman_in(s.dir, std::move(args)); }

/// Everything podman stored here gone (its storage may hold mounts).
inline void podman_reset_in(const fs::path& dir) {
  const std::string root = (dir / "podman-root").string(), run = (dir / "podman-run").string();
  (void)std::system(fmt::format("{} >/dev/null 2>&1; umount -R -l {} {} 2>/dev/null; rm -rf {} {}",
                                fmt::join(podman_in(dir, {"system", "reset", "-f"}), " "), root, run, root, run)
                        .c_str());
}
inline void podman_reset(const Scratch& s) { podman_reset_in(s.dir); }

inline long vm_hwm_kb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:")) return std::atol(line.c_str() + 6);
  return 0;
}

struct Row {
  std::string name;
  std::vector<double> times;
  long rss_kb = 0;
  std::vector<double> cpu;  ///< ms of CPU per round, where the tool's own process does the work
};

inline void print_rows(const std::vector<Row>& rows, const char* unit_rss) {
  fmt::print("{:<40} {:>10} {:>10} {:>10} {:>14}\n", "", "median ms", "min ms", "max ms", unit_rss);
  for (const auto& r : rows) {
    const auto [lo, hi] = std::minmax_element(r.times.begin(), r.times.end());
    fmt::print("{:<40} {:>10.1f} {:>10.1f} {:>10.1f} {:>14}\n", r.name, median(r.times), *lo, *hi,
               r.rss_kb ? fmt::format("{:.1f}", static_cast<double>(r.rss_kb) / 1024) : std::string("-"));
  }
}

inline std::string du(const fs::path& p) {
  auto r = core::run({.program = "du", .args = {"-sh", "--apparent-size", p.string()}});
  return r && r->success() ? r->out.substr(0, r->out.find('\t')) : "?";
}


/// The open-files limit every tool gives its container: berth's (Docker's
/// 1048576 where this host allows it, its hard limit otherwise).
inline std::string nofile_limit() {
  rlimit own{};
  ::getrlimit(RLIMIT_NOFILE, &own);
  const auto n = std::min<rlim_t>(1048576, own.rlim_max);
  return fmt::format("nofile={}:{}", n, n);
}

/// podman raises RLIMIT_NPROC past what this host allows (no
/// CAP_SYS_RESOURCE): a limit below the host's, which runc can set.
inline std::string nproc_limit() {
  rlimit own{};
  ::getrlimit(RLIMIT_NPROC, &own);
  const auto n = std::min<rlim_t>(32768, own.rlim_max / 2);
  return fmt::format("nproc={}:{}", n, n);
}

}  // namespace berth::bench
