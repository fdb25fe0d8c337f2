// SPDX-License-Identifier: Apache-2.0
// bench/runtime: libruntime against the tools people use, on the same work
// in one run. Runs in a network and mount namespace of its own (a registry
// on its own 127.0.0.1, every mount gone with it); needs root.
//
//   bench_runtime pull  [--rounds N] [--cache DIR]
//       pull + unpack of a 3-layer Debian image (debootstrap, made once in
//       DIR) from Debian's docker-registry: berth, docker pull (a dockerd
//       started here with its own data root), podman pull, skopeo copy +
//       umoci unpack; wall time and peak resident memory
//   bench_runtime start [--rounds N]
//       `true` in the busybox image as a container, from nothing to its exit
//       code: berth's library, `runc run` of a bundle made in advance (the
//       floor), podman run --rm, docker run --rm
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/image/load.hpp"
#include "berth/runtime/image/pull.hpp"
#include "berth/runtime/image/reference.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

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

namespace {

using namespace berth;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
namespace json = boost::json;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Thrown, so that what the run started (dockerd, containers, mounts) is
/// stopped and removed on the way out.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& what) { throw Failure(what); }

template <class T>
T must(core::Result<T> r) {
  if (!r) fail(r.error().message());
  return std::move(*r);
}
void must(core::Result<void> r) {
  if (!r) fail(r.error().message());
}

/// What one run of a program (or of berth in a child) cost.
struct Ran {
  double ms = 0;
  long max_rss_kb = 0;  ///< the largest resident set of it and its children
  int status = 0;
  double cpu_ms = 0;  ///< user + system time of it and its children
};

double cpu_ms_of(const rusage& ru) {
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/// Runs `argv` with its output in `log`; the wall time and wait4's rusage.
Ran timed_exec(const std::vector<std::string>& argv, const fs::path& log) {
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
Ran timed_child(const std::function<bool()>& fn) {
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

void sh(const std::string& command) {
  if (std::system(command.c_str()) != 0) fail("'" + command + "' failed");
}

/// A network and mount namespace of our own: loopback up, no route out,
/// and every mount made here (overlays, dockerd's, podman's) gone with us.
void own_namespaces() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) fail("unshare (needs root)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("make / private");
  sh("ip link set lo up");
}

bool port_open(int port) {
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
void wait_until(F&& ready, const std::string& what) {
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
std::vector<std::string> podman_in(const fs::path& dir, std::vector<std::string> args) {
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
std::vector<std::string> podman(const Scratch& s, std::vector<std::string> args) { return podman_in(s.dir, std::move(args)); }

/// Everything podman stored here gone (its storage may hold mounts).
void podman_reset_in(const fs::path& dir) {
  const std::string root = (dir / "podman-root").string(), run = (dir / "podman-run").string();
  (void)std::system(fmt::format("{} >/dev/null 2>&1; umount -R -l {} {} 2>/dev/null; rm -rf {} {}",
                                fmt::join(podman_in(dir, {"system", "reset", "-f"}), " "), root, run, root, run)
                        .c_str());
}
void podman_reset(const Scratch& s) { podman_reset_in(s.dir); }

long vm_hwm_kb(pid_t pid) {
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

void print_rows(const std::vector<Row>& rows, const char* unit_rss) {
  fmt::print("{:<40} {:>10} {:>10} {:>10} {:>14}\n", "", "median ms", "min ms", "max ms", unit_rss);
  for (const auto& r : rows) {
    const auto [lo, hi] = std::minmax_element(r.times.begin(), r.times.end());
    fmt::print("{:<40} {:>10.1f} {:>10.1f} {:>10.1f} {:>14}\n", r.name, median(r.times), *lo, *hi,
               r.rss_kb ? fmt::format("{:.1f}", static_cast<double>(r.rss_kb) / 1024) : std::string("-"));
  }
}

std::string du(const fs::path& p) {
  auto r = core::run({.program = "du", .args = {"-sh", "--apparent-size", p.string()}});
  return r && r->success() ? r->out.substr(0, r->out.find('\t')) : "?";
}

// ---- pull -----------------------------------------------------------------

int bench_pull(int rounds, const fs::path& cache) {
  own_namespaces();
  Scratch s;
  const fs::path here = fs::path(BERTH_BENCH_DIR);
  fmt::print(stderr, "bench: making the image (debootstrap once, then umoci)\n");
  sh(fmt::format("{} {} {}", (here / "make_debian_image.sh").string(), cache.string(), (s / "layout").string()));
  const int port = 5000;
  core::write_file_atomic(s / "registry.yml",
                          fmt::format("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n"
                                      "http:\n  addr: 127.0.0.1:{}\n",
                                      (s / "registry").string(), port))
      .value();
  auto registry = must(core::Child::spawn({.program = "docker-registry", .args = {"serve", (s / "registry.yml").string()}},
                                          {.stderr_path = s / "registry.log"}));
  wait_until([&] { return port_open(port); }, "docker-registry");
  const std::string image = fmt::format("127.0.0.1:{}/bench/debian:12", port);
  sh(fmt::format("skopeo copy --quiet --dest-tls-verify=false oci:{}:latest docker://{}", (s / "layout").string(), image));
  fmt::print(stderr, "bench: image {} ({} compressed)\n", image, du(s / "layout"));

  const fs::path log = s / "tools.log";
  std::vector<Row> rows{{"berth (libruntime pull)", {}, 0},
                        {"docker pull (dockerd 20.10)", {}, 0},
                        {"podman pull", {}, 0},
                        {"skopeo copy + umoci unpack", {}, 0}};
  std::string unpacked;
  // Nothing is deleted until every round is done: ext4 makes files slowly for
  // a minute or more after many were deleted (its inode allocator skips
  // recently deleted inodes, read one table block at a time: perf showed
  // half of a pull's time there when the copy of the tool before had just
  // been removed). So each tool writes to a directory of its own per round,
  // dockerd gets a new data root per round (its start not timed), the order
  // of the tools turns each round, and each starts with the dirty pages of
  // the one before written back.
  std::vector<std::function<void(const fs::path&)>> tools{
      [&](const fs::path& dir) {
        const fs::path base = dir / "berth";
        auto r = timed_child([&] {
          auto store = runtime::image::Store::open(base);
          if (!store) return false;
          auto ref = runtime::image::parse_reference(image);
          auto img = ref ? runtime::image::pull(*store, *ref) : core::Result<runtime::image::StoredImage>(ref.error());
          if (!img) fmt::print(stderr, "berth: {}\n", img.error().message());
          return img.has_value();
        });
        rows[0].times.push_back(r.ms);
        rows[0].cpu.push_back(r.cpu_ms);
        rows[0].rss_kb = std::max(rows[0].rss_kb, r.max_rss_kb);
        unpacked = du(base / "layers");
      },
      [&](const fs::path& dir) {
        Dockerd dockerd(dir / "docker");
        ::sync();
        auto r = timed_exec(dockerd.argv({"pull", "--quiet", image}), log);
        rows[1].times.push_back(r.ms);
        rows[1].rss_kb = std::max(rows[1].rss_kb, vm_hwm_kb(dockerd.pid()));  // the daemon does the work
      },
      [&](const fs::path& dir) {
        auto r = timed_exec(podman_in(dir, {"pull", "--quiet", "--tls-verify=false", image}), log);
        rows[2].times.push_back(r.ms);
        rows[2].rss_kb = std::max(rows[2].rss_kb, r.max_rss_kb);
        rows[2].cpu.push_back(r.cpu_ms);
      },
      [&](const fs::path& dir) {
        const fs::path oci = dir / "skopeo-oci", bundle = dir / "umoci-bundle";
        auto copy = timed_exec({"skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + image,
                                "oci:" + oci.string() + ":12"},
                               log);
        auto unpack = timed_exec({"umoci", "unpack", "--image", oci.string() + ":12", bundle.string()}, log);
        rows[3].times.push_back(copy.ms + unpack.ms);
        rows[3].cpu.push_back(copy.cpu_ms + unpack.cpu_ms);
        rows[3].rss_kb = std::max({rows[3].rss_kb, copy.max_rss_kb, unpack.max_rss_kb});
      }};
  for (int round = 0; round < rounds; ++round) {
    const fs::path dir = s / fmt::format("round-{}", round);
    for (std::size_t i = 0; i < tools.size(); ++i) {
      fs::create_directories(dir);
      ::sync();
      tools[(i + static_cast<std::size_t>(round)) % tools.size()](dir);
    }
  }
  for (int round = 0; round < rounds; ++round) podman_reset_in(s / fmt::format("round-{}", round));
  fmt::print("bench/runtime pull: {} ({} compressed, {} unpacked), 3 layers, from docker-registry on 127.0.0.1, "
             "median of {} rounds\n",
             image, du(s / "layout"), unpacked, rounds);
  print_rows(rows, "peak RSS MiB");
  fmt::print("CPU (user + system) median: berth {:.0f} ms, podman {:.0f} ms, skopeo+umoci {:.0f} ms "
             "(docker's is dockerd's and containerd's, not counted)\n",
             median(rows[0].cpu), median(rows[2].cpu), median(rows[3].cpu));
  const double berth = median(rows[0].times);
  fmt::print("docker/berth {:.2f}x (target >= 1.5x), podman/berth {:.2f}x, skopeo+umoci/berth {:.2f}x (targets > 1x); "
             "berth's peak RSS {:.1f} MiB (target < 64 MiB); dockerd's RSS is its peak over its pull\n",
             median(rows[1].times) / berth, median(rows[2].times) / berth, median(rows[3].times) / berth,
             static_cast<double>(rows[0].rss_kb) / 1024);
  return 0;
}

// ---- start ----------------------------------------------------------------

/// The open-files limit every tool gives its container: berth's (Docker's
/// 1048576 where this host allows it, its hard limit otherwise).
std::string nofile() {
  rlimit own{};
  ::getrlimit(RLIMIT_NOFILE, &own);
  const auto n = std::min<rlim_t>(1048576, own.rlim_max);
  return fmt::format("nofile={}:{}", n, n);
}

/// podman raises RLIMIT_NPROC past what this host allows (no
/// CAP_SYS_RESOURCE): a limit below the host's, which runc can set.
std::string nproc() {
  rlimit own{};
  ::getrlimit(RLIMIT_NPROC, &own);
  const auto n = std::min<rlim_t>(32768, own.rlim_max / 2);
  return fmt::format("nproc={}:{}", n, n);
}

int bench_start(int rounds) {
  own_namespaces();
  Scratch s;
  sh(fmt::format("{} {} >/dev/null", BERTH_MAKE_TEST_IMAGE, (s / "img").string()));
  const std::string name = "docker.io/library/busybox:test";
  auto store = must(runtime::image::Store::open(s / "berth" / "images"));
  must(runtime::image::load_images(store, s / "img" / "oci", {.name = "busybox:test"}));
  auto containers = must(runtime::container::Containers::open({.base = s / "berth", .state = s / "berth-runc", .monitor = BERTH_MONITOR}));
  struct RemoveAll {  // also on the way out of a failed run
    runtime::container::Containers& c;
    ~RemoveAll() {
      auto all = c.list();
      if (!all) return;
      for (const auto& st : *all) {
        (void)c.stop(st.id, std::chrono::milliseconds(100));
        (void)c.remove(st.id);
      }
    }
  } remove_all{containers};

  // The floor: runc run of a bundle made in advance, with the config.json
  // berth writes (the same seccomp profile, mounts and limits) over a rootfs
  // umoci unpacked.
  auto tmpl = runtime::container::CreateOptions{"template", name, {.command = {"/bin/true"}}};
  must(containers.create(store, tmpl));
  sh(fmt::format("umoci unpack --image {}/img/oci:latest {} >/dev/null", s.dir.string(), (s / "floor").string()));
  {
    auto doc = json::parse(must(core::read_file(s / "berth/containers/template/bundle/config.json"))).as_object();
    doc["root"].as_object()["path"] = (s / "floor" / "rootfs").string();
    must(core::write_file_atomic(s / "floor" / "config.json", json::serialize(doc)));
  }
  Dockerd dockerd(s);
  const fs::path log = s / "tools.log";
  timed_exec(dockerd.argv({"load", "-q", "-i", (s / "img" / "docker.tar").string()}), log);
  timed_exec(podman(s, {"load", "-q", "-i", (s / "img" / "docker.tar").string()}), log);

  std::vector<Row> rows{{"berth (create, start, wait)", {}, 0},
                        {"berth, and remove (as run --rm)", {}, 0},
                        {"runc run (bundle made in advance)", {}, 0},
                        {"podman run --rm", {}, 0},
                        {"docker run --rm", {}, 0}};
  std::vector<Row> phases{{"  berth create (bundle, record)", {}, 0},
                          {"  berth start (monitor, runc run -d)", {}, 0},
                          {"  berth wait (to the exit file)", {}, 0},
                          {"  berth remove (runc delete)", {}, 0}};
  for (int round = 0; round < rounds; ++round) {
    {
      const std::string id = fmt::format("b{}", round);
      const auto t0 = Clock::now();
      must(containers.create(store, {id, name, {.command = {"/bin/true"}}}));
      const auto created = Clock::now();
      must(containers.start(id));
      const auto started = Clock::now();
      const int code = must(containers.wait(id, std::chrono::seconds(30)));
      const auto t1 = Clock::now();
      must(containers.remove(id));
      const auto t2 = Clock::now();
      if (code != 0) fail(fmt::format("berth: true exited {}", code));
      rows[0].times.push_back(ms(t1 - t0));
      rows[1].times.push_back(ms(t2 - t0));
      phases[0].times.push_back(ms(created - t0));
      phases[1].times.push_back(ms(started - created));
      phases[2].times.push_back(ms(t1 - started));
      phases[3].times.push_back(ms(t2 - t1));
    }
    rows[2].times.push_back(timed_exec({"runc", "--root", (s / "floor-runc").string(), "run", "--bundle",
                                        (s / "floor").string(), fmt::format("f{}", round)},
                                       log)
                                .ms);
    rows[3].times.push_back(
        timed_exec(podman(s, {"run", "--rm", "--network", "none", "--ulimit", nofile(), "--ulimit", nproc(), "busybox:test", "/bin/true"}), log).ms);
    rows[4].times.push_back(
        timed_exec(dockerd.argv({"run", "--rm", "--network", "none", "--ulimit", nofile(), "busybox:test", "/bin/true"}), log).ms);
  }
  podman_reset(s);
  fmt::print("bench/runtime start: /bin/true in the busybox image as a container, median of {} rounds\n", rounds);
  rows.insert(rows.begin() + 2, phases.begin(), phases.end());
  print_rows(rows, "");
  const double floor = median(rows[6].times);
  fmt::print("berth {:.1f} ms = floor + {:.1f} ms (target <= floor + 15 ms); with remove floor + {:.1f} ms; "
             "podman/berth {:.1f}x, docker/berth {:.1f}x (run --rm against berth with remove)\n",
             median(rows[0].times), median(rows[0].times) - floor, median(rows[1].times) - floor,
             median(rows[7].times) / median(rows[1].times), median(rows[8].times) / median(rows[1].times));
  return 0;
}

int usage(int code) {
  fmt::print(code ? stderr : stdout,
             "usage: bench_runtime pull  [--rounds N] [--cache DIR]\n"
             "       bench_runtime start [--rounds N]\n"
             "Runs berth and the tools people use on the same work, in namespaces of its own; needs root.\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(2);
  const std::string mode = argv[1];
  if (mode == "--help" || mode == "-h") return usage(0);
  int rounds = mode == "pull" ? 3 : 20;
  fs::path cache = "/var/tmp/berth-bench";
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (a == "--cache" && i + 1 < argc) cache = argv[++i];
    else return usage(2);
  }
  try {
    if (::geteuid() != 0) fail("needs root (namespaces, mounts, runc)");
    if (mode == "pull") return bench_pull(rounds, cache);
    if (mode == "start") return bench_start(rounds);
  } catch (const Failure& e) {
    fmt::print(stderr, "bench_runtime: error: {}\n", e.what());
    return 1;
  }
  return usage(2);
}
