// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "report.hpp"

#include "berth/core/fs.hpp"
#include "berth/runtime/daemon/daemon_options.hpp"
#include "berth/runtime/daemon/run_request.hpp"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include <pthread.h>
#include <unistd.h>

namespace berth::cli {

namespace {

namespace po = boost::program_options;
using runtime::daemon::WorkloadSpec;

/// Splits argv where the image is: berthctl's options before it, the
/// container's command after it (its own dashes are not berthctl's).
int image_index(int argc, char** argv, const po::options_description& desc) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return i + 1 < argc ? i + 1 : -1;
    if (!a.starts_with("-") || a == "-") return i;
    if (a.find('=') != std::string_view::npos) continue;
    // An option that takes a value swallows the next word ("-p 80:80", "--name web").
    // Boost names a short option with its dash ("-p"), a long one without.
    std::string name(a.starts_with("--") ? a.substr(2) : a.substr(0, 2));
    const auto* opt = desc.find_nothrow(name, false);
    if (opt && opt->semantic()->max_tokens() > 0) {
      if (!a.starts_with("--") && a.size() > 2) continue;  // -p80:80
      ++i;
    }
  }
  return -1;
}

core::Result<WorkloadSpec> spec_from(const po::variables_map& vm, std::string image, std::vector<std::string> command) {
  using core::Errc;
  using core::make_error;
  WorkloadSpec s;
  s.image = std::move(image);
  s.args = std::move(command);
  auto text = [&](const char* k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  auto list = [&](const char* k) { return vm.count(k) ? vm[k].as<std::vector<std::string>>() : std::vector<std::string>{}; };
  s.name = text("name");
  s.hostname = text("hostname");
  s.user = text("user");
  s.working_dir = text("workdir");
  s.network = text("network");
  if (vm.count("entrypoint")) s.entrypoint = {text("entrypoint")};
  s.read_only = vm.count("read-only") > 0;
  s.cap_add = list("cap-add");
  s.cap_drop = list("cap-drop");
  for (const auto& f : list("env-file")) {
    auto content = core::read_file(f);
    if (!content) return std::move(content).error().wrap(fmt::format("--env-file '{}'", f));
    auto env = runtime::daemon::parse_env_file(*content, [](const std::string& key) -> std::optional<std::string> {
      if (const char* v = std::getenv(key.c_str())) return std::string(v);
      return std::nullopt;
    });
    if (!env) return std::move(env).error().wrap(fmt::format("--env-file '{}'", f));
    s.env.insert(s.env.end(), env->begin(), env->end());
  }
  for (const auto& e : list("env")) {
    // -e KEY alone takes KEY from berthctl's environment, as Docker does.
    if (e.find('=') == std::string::npos) {
      if (const char* v = std::getenv(e.c_str())) s.env.push_back(e + "=" + v);
    } else {
      s.env.push_back(e);
    }
  }
  for (const auto& p : list("publish")) {
    auto m = net::parse_port_mapping(p);
    if (!m) return std::move(m).error().wrap("--publish");
    s.ports.push_back(*m);
  }
  for (const auto& v : list("volume")) {
    auto m = runtime::daemon::parse_volume(v);
    if (!m) return std::move(m).error().wrap("--volume");
    s.volumes.push_back(*m);
  }
  if (auto r = runtime::daemon::parse_restart_policy(text("restart")); !r) return std::move(r).error().wrap("--restart");
  else s.restart = *r;
  if (vm.count("memory")) {
    auto bytes = runtime::daemon::parse_size(text("memory"));
    if (!bytes) return std::move(bytes).error().wrap("--memory");
    s.memory_bytes = *bytes;
  }
  if (vm.count("cpus")) {
    const double cpus = vm["cpus"].as<double>();
    if (!(cpus > 0)) return make_error(Errc::invalid_argument, "--cpus: must be more than 0");
    s.cpus = cpus;
  }
  for (const auto& l : list("label")) {
    auto eq = l.find('=');
    s.labels.emplace_back(l.substr(0, eq), eq == std::string::npos ? "" : l.substr(eq + 1));
  }
  if (vm.count("interactive") || vm.count("tty"))
    return make_error(Errc::invalid_argument,
                      "-i and -t are not supported yet: berth's monitor gives a container no stdin or terminal");
  // Detached, --rm is the daemon's; in the foreground this client removes it once it has its exit code.
  s.auto_remove = vm.count("rm") && vm.count("detach");
  return s;
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
      "interactive,i", "keep stdin open (not supported yet)")("tty,t", "a terminal (not supported yet)")(
      "quiet,q", "no pull progress");
  const int at = image_index(argc, argv, desc);
  const int options_end = at < 0 ? argc : at;
  po::variables_map vm;
  std::vector<std::string> none;
  if (auto done = parse_verb("run", options_end, argv, desc, vm, none, 0, 0)) return *done;
  if (at < 0) {
    fmt::print(stderr, "berthctl: error: run: needs an image\n");
    return 2;
  }
  std::vector<std::string> command(argv + at + 1, argv + argc);
  auto spec = spec_from(vm, argv[at], std::move(command));
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
