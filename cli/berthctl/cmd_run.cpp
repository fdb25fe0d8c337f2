// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "report.hpp"

#include "berth/core/fs.hpp"
#include "berth/runtime/daemon/run_flags.hpp"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <pthread.h>
#include <unistd.h>

namespace berth::cli {

namespace {

namespace po = boost::program_options;

runtime::daemon::RunFlags flags_from(const po::variables_map& vm, std::string image, std::vector<std::string> command) {
  auto text = [&](const char* k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  auto list = [&](const char* k) { return vm.count(k) ? vm[k].as<std::vector<std::string>>() : std::vector<std::string>{}; };
  auto maybe = [&](const char* k) { return vm.count(k) ? std::optional(text(k)) : std::nullopt; };
  runtime::daemon::RunFlags f;
  f.image = std::move(image);
  f.command = std::move(command);
  f.name = text("name");
  f.hostname = text("hostname");
  f.user = text("user");
  f.workdir = text("workdir");
  f.network = text("network");
  f.restart = text("restart");
  f.entrypoint = maybe("entrypoint");
  f.memory = maybe("memory");
  if (vm.count("cpus")) f.cpus = vm["cpus"].as<double>();
  f.env = list("env");
  f.env_files = list("env-file");
  f.publish = list("publish");
  f.volumes = list("volume");
  f.labels = list("label");
  f.cap_add = list("cap-add");
  f.cap_drop = list("cap-drop");
  f.detach = vm.count("detach") > 0;
  f.auto_remove = vm.count("rm") > 0;
  f.read_only = vm.count("read-only") > 0;
  f.interactive = vm.count("interactive") > 0;
  f.tty = vm.count("tty") > 0;
  f.health_cmd = maybe("health-cmd");
  f.health_http = maybe("health-http");
  if (vm.count("health-tcp")) f.health_tcp = vm["health-tcp"].as<int>();
  f.health_interval = maybe("health-interval");
  f.health_timeout = maybe("health-timeout");
  f.health_start_period = maybe("health-start-period");
  if (vm.count("health-retries")) f.health_retries = vm["health-retries"].as<unsigned>();
  f.no_healthcheck = vm.count("no-healthcheck") > 0;
  return f;
}

/// Ctrl+C (or SIGTERM) while a container runs in the foreground: the first
/// stops it through berthd, the second kills it.
class Interrupts {
public:
  Interrupts(const Client& client, std::string id) : client_(client), id_(std::move(id)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Interrupts() {
    done_ = true;
    thread_.join();
    for (auto& t : actions_) t.join();
  }

private:
  void loop() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int seen = 0;
    while (!done_) {
      timespec tick{0, 50'000'000};
      if (::sigtimedwait(&set, nullptr, &tick) < 0) continue;
      ++seen;
      if (seen == 1) {
        actions_.emplace_back([this] { (void)client_.stop(id_, std::nullopt); });
      } else {
        actions_.emplace_back([this] { (void)client_.kill(id_, "KILL"); });
      }
    }
  }
  const Client& client_;
  std::string id_;
  std::atomic<bool> done_{false};
  std::vector<std::thread> actions_;
  std::thread thread_;
};

}  // namespace

int cmd_run(const Client& client, int argc, char** argv) {
  po::options_description desc(
      "usage: berthctl run [options] IMAGE [COMMAND [ARG...]]\n\n"
      "Runs a container on berthd's network (pulling the image first when the store lacks it).\n"
      "In the foreground it shows the pull, then the container's output, and exits with the\n"
      "container's exit code; Ctrl+C stops the container, a second Ctrl+C kills it.\n"
      "-d prints the container's name and returns.\n\noptions");
  desc.add_options()("help,h", "show this help")("detach,d", "run in the background; print its name")(
      "name", po::value<std::string>(), "its name (also its DNS name); default: image-8hex")(
      "publish,p", po::value<std::vector<std::string>>(), "publish a port: [IP:]HOST:CONTAINER[/udp]")(
      "env,e", po::value<std::vector<std::string>>(), "set a variable: KEY=VALUE (KEY alone: from here)")(
      "env-file", po::value<std::vector<std::string>>(), "variables from a file of KEY=VALUE lines")(
      "network", po::value<std::string>(), "the network (default: berthd's)")(
      "hostname", po::value<std::string>(), "its host name")(
      "restart", po::value<std::string>(), "no, on-failure[:N], always or unless-stopped")(
      "rm", "remove it once it has ended")(
      "volume,v", po::value<std::vector<std::string>>(), "bind mount: /HOST/PATH:/PATH[:ro]")(
      "user,u", po::value<std::string>(), "user[:group] to run as")(
      "workdir,w", po::value<std::string>(), "working directory")(
      "entrypoint", po::value<std::string>(), "replace the image's entrypoint")(
      "memory,m", po::value<std::string>(), "memory limit (512m, 1g)")(
      "cpus", po::value<double>(), "CPU limit (1.5)")(
      "read-only", "mount its root file system read-only")(
      "cap-add", po::value<std::vector<std::string>>(), "add a capability")(
      "cap-drop", po::value<std::vector<std::string>>(), "drop a capability (ALL)")(
      "label,l", po::value<std::vector<std::string>>(), "a label KEY=VALUE")(
      "health-cmd", po::value<std::string>(), "health check: a shell command in the container (0: healthy)")(
      "health-http", po::value<std::string>(), "health check: GET [http://HOST][:PORT]/PATH answers 2xx or 3xx")(
      "health-tcp", po::value<int>(), "health check: the container accepts a connection on this port")(
      "health-interval", po::value<std::string>(), "time between checks (default 30s)")(
      "health-timeout", po::value<std::string>(), "a check that takes longer fails (default 30s)")(
      "health-retries", po::value<unsigned>(), "failures in a row that make it unhealthy (default 3)")(
      "health-start-period", po::value<std::string>(), "failures this soon after start do not count (default 0s)")(
      "no-healthcheck", "no health check")(
      "interactive,i", "keep stdin open (not supported yet)")("tty,t", "a terminal (not supported yet)")(
      "quiet,q", "no pull progress");
  const int at = first_operand(argc, argv, desc);
  const int options_end = at < 0 ? argc : at;
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("run", options_end, argv, desc, vm, none, 0, 0)) return *done;
  if (at < 0) {
    fmt::print(stderr, "berthctl: error: run: needs an image\n");
    return 2;
  }
  std::vector<std::string> command(argv + at + 1, argv + argc);
  const runtime::daemon::RunFlagSources sources{
      .env = [](const std::string& key) -> std::optional<std::string> {
        if (const char* v = std::getenv(key.c_str())) return std::string(v);
        return std::nullopt;
      },
      .read_file = [](const std::string& path) { return core::read_file(path); }};
  auto spec = runtime::daemon::spec_from_flags(flags_from(vm, argv[at], std::move(command)), sources);
  if (!spec) return report(kTool, spec.error());
  const bool detach = vm.count("detach") > 0;
  // Before any thread: signals are taken by Interrupts' sigtimedwait, not delivered.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (!detach) ::pthread_sigmask(SIG_BLOCK, &set, nullptr);

  runtime::daemon::PullDisplay display(::isatty(STDERR_FILENO) != 0);
  const bool quiet = vm.count("quiet") > 0;
  auto id = client.run(*spec, [&](const runtime::daemon::RunEvent& e) {
    if (!quiet) fmt::print(stderr, "{}", display.update(e));
  });
  // Docker's code for "the daemon could not run it".
  if (!id) return report(kTool, id.error()), 125;
  if (detach) {
    fmt::print("{}\n", *id);
    return 0;
  }
  int code;
  {
    Interrupts interrupts(client, *id);
    auto followed = client.logs(*id, std::nullopt, true, [](std::string_view stream, std::string_view text) {
      std::FILE* to = stream == "stderr" ? stderr : stdout;
      std::fwrite(text.data(), 1, text.size(), to);
      std::fflush(to);
      return true;
    });
    if (!followed) report(kTool, followed.error());
    auto waited = client.wait(*id);
    if (!waited) return report(kTool, waited.error()), 125;
    code = *waited;
  }
  if (vm.count("rm"))
    if (auto r = client.remove(*id, true); !r) report(kTool, r.error());
  return code;
}

}  // namespace berth::cli
