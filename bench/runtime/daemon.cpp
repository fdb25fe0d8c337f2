// SPDX-License-Identifier: Apache-2.0
// bench_runtime daemon: berth's daemon as a user drives it, against podman
// and docker on the same work, in namespaces of the benchmark's own.
//   - `berthctl run --rm busybox:test /bin/true` end to end through berthd,
//     with a network attached (veth, address, DNS name, firewall), against
//     `runc run` of a bundle made in advance (the floor), `podman run --rm`
//     and `docker run --rm` (both --network none: the bench's dockerd has no
//     bridge, and podman's networks would need netavark's firewall on the host)
//   - N containers started at once (`run -d ... sleep`): total time
//   - berthd's resident memory idle and with N containers
//   - kill -9 of berthd with N containers: until its API answers again with
//     every container re-adopted
//   - GET /v1/containers?detail=1 with N containers: p50 and p99
#include "daemon.hpp"

#include "floor.hpp"
#include "harness.hpp"

#include "berth/core/http.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/image/load.hpp"

#include <boost/json.hpp>

namespace berth::bench {

namespace {

long vm_rss_kb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return 0;
}

/// Runs `count` programs at once (argv from `make`); the wall time until the last has ended.
double all_at_once(int count, const std::function<std::vector<std::string>(int)>& make, const fs::path& log) {
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  std::vector<std::string> failures;
  std::mutex m;
  for (int i = 0; i < count; ++i)
    threads.emplace_back([&, i] {
      try {
        timed_exec(make(i), log);
      } catch (const Failure& f) {
        std::lock_guard g(m);
        failures.push_back(f.what());
      }
    });
  for (auto& t : threads) t.join();
  if (!failures.empty()) fail(failures.front());
  return ms(Clock::now() - t0);
}

class Berthd {
public:
  explicit Berthd(const Scratch& s) : s_(s) { start(); }
  ~Berthd() {
    if (child_) {
      (void)child_->kill(SIGTERM);
      (void)child_->wait();
    }
  }
  void start() {
    child_.emplace(must(core::Child::spawn(
        {.program = BERTH_BERTHD,
         .args = {"--base-dir", (s_ / "berthd").string(), "--exec-root", (s_ / "berthd-exec").string(), "--socket",
                  socket().string()}},
        {.stderr_path = s_ / "berthd.log"})));
  }
  void kill9() {
    (void)child_->kill(SIGKILL);
    (void)child_->wait();
    child_.reset();
  }
  [[nodiscard]] fs::path socket() const { return s_ / "berthd.sock"; }
  [[nodiscard]] pid_t pid() { return child_->pid(); }
  [[nodiscard]] std::vector<std::string> ctl(std::vector<std::string> args) const {
    args.insert(args.begin(), {BERTH_BERTHCTL, "-H", socket().string()});
    return args;
  }
  /// How many containers GET /v1/containers?detail=1 shows running; -1 when berthd does not answer.
  [[nodiscard]] int running() const {
    auto r = core::http::request(socket(), {.target = "/v1/containers?detail=1"}, {.timeout = std::chrono::seconds(5)});
    if (!r || r->status != 200) return -1;
    int n = 0;
    const auto doc = boost::json::parse(r->body);  // kept: a range-for would not keep the temporary alive
    for (const auto& i : doc.at("items").as_array())
      if (i.at("status") == "running") ++n;
    return n;
  }

private:
  const Scratch& s_;
  std::optional<core::Child> child_;
};

}  // namespace

int bench_daemon(int rounds, int count) {
  own_namespaces();
  Scratch s;
  const fs::path log = s / "tools.log";
  sh(fmt::format("{} {} >/dev/null", BERTH_MAKE_TEST_IMAGE, (s / "img").string()));
  const std::string name = "docker.io/library/busybox:test";
  auto store = must(runtime::image::Store::open(s / "berth" / "images"));
  must(runtime::image::load_images(store, s / "img" / "oci", {.name = "busybox:test"}));
  auto containers = must(runtime::container::Containers::open(
      {.base = s / "berth", .state = s / "berth-runc", .monitor = BERTH_MONITOR}));
  prepare_floor(s, containers, store, name);

  Berthd berthd(s);
  wait_until([&] { return berthd.running() >= 0; }, "berthd");
  timed_exec(berthd.ctl({"load", "-i", (s / "img" / "docker.tar").string()}), log);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long idle_kb = vm_rss_kb(berthd.pid());
  Dockerd dockerd(s);
  timed_exec(dockerd.argv({"load", "-q", "-i", (s / "img" / "docker.tar").string()}), log);
  timed_exec(podman(s, {"load", "-q", "-i", (s / "img" / "docker.tar").string()}), log);
  struct Cleanup {  // also on the way out of a failed run
    const Scratch& s;
    Dockerd& d;
    ~Cleanup() {
      (void)std::system(fmt::format("{} rm -f $({} ps -aq) >/dev/null 2>&1", fmt::join(d.argv({}), " "),
                                    fmt::join(d.argv({}), " "))
                            .c_str());
      podman_reset(s);
    }
  } cleanup{s, dockerd};

  std::vector<Row> rows{{"berthctl run --rm (through berthd, network)", {}, 0},
                        {"runc run (bundle made in advance)", {}, 0},
                        {"podman run --rm (--network none)", {}, 0},
                        {"docker run --rm (--network none)", {}, 0}};
  for (int round = 0; round < rounds; ++round) {
    rows[0].times.push_back(timed_exec(berthd.ctl({"run", "--rm", "-q", "busybox:test", "/bin/true"}), log).ms);
    rows[1].times.push_back(run_floor(s, fmt::format("f{}", round), log).ms);
    rows[2].times.push_back(
        timed_exec(podman(s, {"run", "--rm", "--network", "none", "--ulimit", nofile_limit(), "--ulimit",
                              nproc_limit(), "busybox:test", "/bin/true"}),
                   log)
            .ms);
    rows[3].times.push_back(timed_exec(dockerd.argv({"run", "--rm", "--network", "none", "--ulimit", nofile_limit(),
                                                     "busybox:test", "/bin/true"}),
                                       log)
                                .ms);
  }
  fmt::print("bench/runtime daemon: `run --rm busybox:test /bin/true`, median of {} rounds\n", rounds);
  print_rows(rows, "");
  const double berth = median(rows[0].times), floor = median(rows[1].times);
  fmt::print("berth {:.1f} ms = floor + {:.1f} ms (target <= floor + 25 ms); podman/berth {:.1f}x (target >= 3), "
             "docker/berth {:.1f}x (target >= 5)\n\n",
             berth, berth - floor, median(rows[2].times) / berth, median(rows[3].times) / berth);

  // N at once.
  const double berth_n = all_at_once(
      count, [&](int i) { return berthd.ctl({"run", "-d", "-q", "--name", fmt::format("c{}", i), "busybox:test", "sleep", "1000"}); },
      log);
  if (berthd.running() != count) fail(fmt::format("berthd runs {} of {} containers", berthd.running(), count));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long loaded_kb = vm_rss_kb(berthd.pid());
  std::vector<double> lat;
  for (int i = 0; i < 200; ++i) {
    const auto t0 = Clock::now();
    auto r = core::http::request(berthd.socket(), {.target = "/v1/containers?detail=1"});
    if (!r || r->status != 200) fail("GET /v1/containers?detail=1 failed");
    lat.push_back(ms(Clock::now() - t0));
  }
  std::sort(lat.begin(), lat.end());
  berthd.kill9();
  const auto t0 = Clock::now();
  berthd.start();
  while (berthd.running() != count) {
    if (ms(Clock::now() - t0) > 60'000) fail("berthd did not re-adopt its containers within 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double adopt_ms = ms(Clock::now() - t0);
  const long adopted_kb = vm_rss_kb(berthd.pid());
  const double podman_n = all_at_once(
      count, [&](int i) {
        return podman(s, {"run", "-d", "--network", "none", "--ulimit", nofile_limit(), "--ulimit", nproc_limit(),
                          "--name", fmt::format("p{}", i), "busybox:test", "sleep", "1000"});
      },
      log);
  const double docker_n = all_at_once(
      count, [&](int i) {
        return dockerd.argv({"run", "-d", "--network", "none", "--ulimit", nofile_limit(), "--name",
                             fmt::format("d{}", i), "busybox:test", "sleep", "1000"});
      },
      log);
  const long dockerd_kb = vm_rss_kb(dockerd.pid());
  std::vector<std::string> rm{"rm", "-f"};
  for (int i = 0; i < count; ++i) rm.push_back(fmt::format("c{}", i));
  timed_exec(berthd.ctl(rm), log);

  fmt::print("{} containers started at once (run -d ... sleep 1000): berth {:.0f} ms, podman {:.0f} ms ({:.1f}x), "
             "docker {:.0f} ms ({:.1f}x)\n",
             count, berth_n, podman_n, podman_n / berth_n, docker_n, docker_n / berth_n);
  fmt::print("berthd resident memory: idle {:.1f} MiB (target < 10), with {} containers {:.1f} MiB (target < 30), "
             "after re-adopting them {:.1f} MiB; dockerd alone with {} containers {:.1f} MiB (without containerd)\n",
             idle_kb / 1024.0, count, loaded_kb / 1024.0, adopted_kb / 1024.0, count, dockerd_kb / 1024.0);
  fmt::print("kill -9 of berthd with {} containers -> API answers with all re-adopted: {:.0f} ms (target < 200)\n",
             count, adopt_ms);
  fmt::print("GET /v1/containers?detail=1 with {} containers: p50 {:.2f} ms, p99 {:.2f} ms (target p99 < 1)\n", count,
             lat[lat.size() / 2], lat[lat.size() * 99 / 100]);
  return 0;
}

}  // namespace berth::bench
