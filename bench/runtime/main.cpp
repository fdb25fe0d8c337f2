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
//   bench_runtime daemon [--rounds N] [--containers N]
//       berthd + berthctl (daemon.cpp): run --rm end to end with a network,
//       N containers at once, resident memory, re-adoption after kill -9,
//       GET /v1/containers?detail=1 latency; against podman and docker
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/image/load.hpp"
#include "berth/runtime/image/pull.hpp"
#include "berth/runtime/image/reference.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "daemon.hpp"
#include "floor.hpp"
#include "harness.hpp"

namespace {

using namespace berth;
using namespace berth::bench;
namespace json = boost::json;

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

  // The floor: runc run of a bundle made in advance (floor.hpp).
  prepare_floor(s, containers, store, name);
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
    rows[2].times.push_back(run_floor(s, fmt::format("f{}", round), log).ms);
    rows[3].times.push_back(
        timed_exec(podman(s, {"run", "--rm", "--network", "none", "--ulimit", nofile_limit(), "--ulimit", nproc_limit(), "busybox:test", "/bin/true"}), log).ms);
    rows[4].times.push_back(
        timed_exec(dockerd.argv({"run", "--rm", "--network", "none", "--ulimit", nofile_limit(), "busybox:test", "/bin/true"}), log).ms);
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
             "       bench_runtime daemon [--rounds N] [--containers N]\n"
             "Runs berth and the tools people use on the same work, in namespaces of its own; needs root.\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(2);
  const std::string mode = argv[1];
  if (mode == "--help" || mode == "-h") return usage(0);
  int rounds = mode == "pull" ? 3 : 20;
  int containers = 100;
  fs::path cache = "/var/tmp/berth-bench";
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (a == "--cache" && i + 1 < argc) cache = argv[++i];
    else if (a == "--containers" && i + 1 < argc) containers = std::max(1, std::atoi(argv[++i]));
    else return usage(2);
  }
  try {
    if (::geteuid() != 0) fail("needs root (namespaces, mounts, runc)");
    if (mode == "pull") return bench_pull(rounds, cache);
    if (mode == "start") return bench_start(rounds);
    if (mode == "daemon") return bench_daemon(rounds, containers);
  } catch (const Failure& e) {
    fmt::print(stderr, "bench_runtime: error: {}\n", e.what());
    return 1;
  }
  return usage(2);
}
