// SPDX-License-Identifier: Apache-2.0
// A container is a record and a bundle until it starts (Docker's create);
// start runs berth-monitor (monitor.hpp), which runs the OCI runtime and
// stays with the container, and learns through its sync pipe whether the
// container runs. From then on the monitor's pid file says whether it still
// runs and its exit file how it ended: nothing of a running container
// depends on the process that started it.
#include "berth/runtime/container/containers.hpp"

#include "berth/core/error_list.hpp"
#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"
#include "berth/core/process.hpp"
#include "berth/core/store.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/runtime/image/install.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

extern char** environ;

namespace berth::runtime::container {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

core::RecordStore records(const fs::path& base) { return core::RecordStore(base / "containers"); }

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

/// Starts berth-monitor with its sync pipe as fd 3 and reads its one line:
/// "pid N" once the container runs, "error TEXT" when it could not.
Result<pid_t> run_monitor_process(const std::vector<std::string>& argv, const fs::path& monitor_log) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return core::errno_error(errno, "berth-monitor: pipe");
  core::UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> args;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string log = monitor_log.string();
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return core::errno_error(errno, "berth-monitor: fork");
  if (child == 0) {
    // Only async-signal-safe calls here: the caller may have threads.
    // dup2 onto itself would keep close-on-exec: clear it then.
    if (write_end.get() == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(write_end.get(), 3) < 0) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDWR);
    const int errors = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    if (errors >= 0) ::dup2(errors, 2);
    // Nothing else of the caller's goes with it: a daemon's listening socket
    // kept open by every monitor would outlive the daemon (a restarted one
    // would find its socket "in use"), and so would its DNS sockets.
    ::close_range(4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), environ);
    ::_exit(127);
  }
  write_end.reset();
  std::string said;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    said.append(buf, static_cast<std::size_t>(n));
    if (said.find('\n') != std::string::npos) break;
  }
  // The first process exits as soon as the monitor has detached.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  said = said.substr(0, said.find('\n'));
  if (said.starts_with("pid ")) {
    const int pid = std::atoi(said.c_str() + 4);
    if (pid > 0) return static_cast<pid_t>(pid);
  }
  if (said.starts_with("error ")) return make_error(Errc::child_failed, said.substr(6));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return make_error(Errc::child_failed, fmt::format("cannot run '{}'", argv.front()));
  return make_error(Errc::child_failed, fmt::format("berth-monitor said nothing (exit status {}; see '{}')", status, log));
}

/// The PID in the container's monitor pid file, or 0.
pid_t monitor_pid(const fs::path& d) {
  auto text = core::read_file(d / "monitor.pid");
  const int pid = text ? std::atoi(text->c_str()) : 0;
  return pid > 0 ? pid : 0;
}

/// Whether `pid` is this container's monitor: it names the container's exit
/// file (a PID used again by another process after a reboot does not).
bool is_monitor(const fs::path& d, pid_t pid) {
  if (pid <= 0) return false;
  auto cmdline = core::read_file(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline) return false;
  const std::string exit_file = (d / "exit").string();
  return cmdline->find(std::string(1, '\0') + exit_file + '\0') != std::string::npos;
}

bool monitor_alive(const fs::path& d) { return is_monitor(d, monitor_pid(d)); }

/// A pidfd of the container's live monitor, for waiting on it; invalid when
/// it has none. Opened before the check, so the descriptor is surely that
/// process and not one that took its PID after it.
core::UniqueFd monitor_pidfd(const fs::path& d) {
  const pid_t pid = monitor_pid(d);
  if (pid <= 0) return {};
  core::UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd || !is_monitor(d, pid)) return {};
  return fd;
}

/// The exit code of a container whose monitor died without writing one (Docker's).
constexpr int kLostExitCode = 255;

std::optional<int> read_exit(const fs::path& file) {
  auto text = core::read_file(file);
  if (!text) return std::nullopt;
  try {
    return std::stoi(*text);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

std::string_view status_name(Status s) {
  switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Stopped: return "stopped";
  }
  return "stopped";
}

Result<int> parse_signal(std::string_view text) {
  static const std::pair<const char*, int> kNames[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
      {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
      {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
      {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"PWR", SIGPWR}, {"SYS", SIGSYS}};
  std::string s(text);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s.starts_with("SIG")) s = s.substr(3);
  for (const auto& [name, n] : kNames)
    if (s == name) return n;
  if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit) && s.size() <= 2) {
    const int n = std::stoi(s);
    if (n >= 1 && n <= 64) return n;
  }
  return make_error(Errc::invalid_argument, fmt::format("'{}' is not a signal", text));
}

std::string default_runtime() {
  // A unified cgroup v2 mount at /sys/fs/cgroup has cgroup.controllers; a
  // hybrid host has v1 hierarchies there and v2 below it.
  return ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "crun" : "runc";
}

Result<Containers> Containers::open(RuntimeOptions o) {
  Containers c(std::move(o));
  const std::string name = c.o_.runtime.empty() ? default_runtime() : c.o_.runtime;
  auto path = core::find_program(name);
  if (!path) return std::move(path).error().wrap("OCI runtime");
  c.runtime_path_ = path->string();
  BERTH_TRY(core::make_directories(c.o_.base / "containers", 0700), "open containers");
  BERTH_TRY(core::make_directories(c.o_.state, 0700), "open containers");
  c.monitor_path_ = find_monitor(c.o_.monitor);
  if (c.monitor_path_.empty() || ::access(c.monitor_path_.c_str(), X_OK) != 0)
    return make_error(Errc::not_found, fmt::format("open containers: berth-monitor {}is not there (install berth with it)",
                                                   c.o_.monitor.empty() ? "" : "'" + c.o_.monitor.string() + "' "));
  return c;
}

Result<std::string> Containers::runtime(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--root", o_.state.string()});
  auto r = core::run_checked({.program = runtime_path_, .args = std::move(args), .timeout = std::chrono::seconds(60)});
  if (!r) return std::move(r).error();
  return std::move(r->out);
}

Result<void> Containers::write_etc_files(const fs::path& etc, oci::RunOptions& run, const CreateOptions& options) const {
  if (run.hostname.empty()) run.hostname = default_hostname(options.id);
  auto host = core::read_file(o_.host_resolv_conf);
  auto upstream = core::read_file(o_.resolved_upstream);
  const std::pair<const char*, std::string> files[] = {
      {"hostname", run.hostname + "\n"},
      {"hosts", hosts_file(run.hostname, options.etc)},
      {"resolv.conf", options.etc.resolv_conf ? *options.etc.resolv_conf
                                              : resolv_conf_from_host(host ? *host : "", upstream ? *upstream : "",
                                                                      options.etc.ipv6)}};
  for (const auto& [name, text] : files) {
    const fs::path destination = fs::path("/etc") / name;
    if (std::any_of(run.mounts.begin(), run.mounts.end(), [&](const auto& m) { return m.destination == destination; }))
      continue;  // the caller's own
    BERTH_TRY(core::write_file(etc / name, text, 0644), "the container's /etc files");
    run.mounts.push_back({etc / name, destination, run.read_only});
  }
  return {};
}

Result<ContainerState> Containers::create(const image::Store& images, const CreateOptions& options) {
  const std::string what = fmt::format("create container '{}'", options.id);
  BERTH_TRY(core::validate_container_id(options.id), what);
  const auto store = records(o_.base);
  auto lock = store.lock();
  if (!lock) return std::move(lock).error().wrap(what);
  if (auto existing = store.get(options.id + ".json"); !existing || *existing)
    return make_error(Errc::already_exists, fmt::format("{}: the id is taken", what));
  auto img = images.find(options.image);
  if (!img) return std::move(img).error().wrap(what);
  if (!*img) return make_error(Errc::not_found, fmt::format("{}: no image '{}' in the store", what, options.image));
  auto manifest = images.read_blob((*img)->manifest.digest);
  if (!manifest) return std::move(manifest).error().wrap(what);
  auto plan = image::plan_image(images, (*img)->manifest, *manifest);
  if (!plan) return std::move(plan).error().wrap(what);
  if (!options.run.hostname.empty()) BERTH_TRY(validate_hostname(options.run.hostname), what);

  const fs::path d = dir(options.id), rootfs = d / "bundle" / "rootfs";
  bool mounted = false;
  // Every step registers its undo: a create that fails leaves nothing.
  auto undo = [&](core::Error e) -> Result<ContainerState> {
    if (mounted) ::umount2(rootfs.c_str(), MNT_DETACH);
    (void)image::remove_tree(d);
    (void)store.remove(options.id + ".json");
    (void)images.release(options.id);
    return std::move(e).wrap(what);
  };
  // The layers held first, then looked for: a prune that ran before took
  // what it took (and the check below says so), one after keeps them.
  std::vector<std::string> diff_ids;
  for (const auto& l : plan->layers) diff_ids.push_back(l.diff_id);
  if (auto r = images.hold(options.id, diff_ids); !r) return undo(r.error());
  for (const auto& l : plan->layers)
    if (!images.has_layer(l.diff_id))
      return undo(make_error(Errc::not_found, fmt::format("layer {} of the image is not unpacked", l.diff_id)));
  for (const auto& sub : {d / "upper", d / "work", rootfs, d / "empty", d / "etc"})
    if (auto r = core::make_directories(sub, 0700); !r) return undo(r.error());
  // The root of an overlay takes its owner and mode from the upper
  // directory: everyone must be able to look in, as in Docker's.
  ::chmod((d / "upper").c_str(), 0755);
  ::chmod(rootfs.c_str(), 0755);
  // overlayfs: the image's layers top first, through their short names so
  // the options fit a page even with many layers.
  std::string lower;
  for (auto it = plan->layers.rbegin(); it != plan->layers.rend(); ++it) {
    auto link = images.layer_link(it->diff_id);
    if (!link) return undo(link.error());
    lower += (lower.empty() ? "" : ":") + link->string();
  }
  if (lower.empty()) lower = (d / "empty").string();  // an image without layers
  const std::string data =
      fmt::format("lowerdir={},upperdir={},workdir={}", lower, (d / "upper").string(), (d / "work").string());
  if (::mount("overlay", rootfs.c_str(), "overlay", 0, data.c_str()) != 0)
    return undo(core::errno_error(errno, fmt::format("mount the root file system ({} layers)", plan->layers.size())));
  mounted = true;

  auto names_of = [&](const char* file) -> Result<std::string> {
    // The image's file, never the host's through one of its links.
    auto t = core::read_file_in_root(rootfs, file, std::size_t{16} << 20);
    if (!t && t.error().code == std::errc::no_such_file_or_directory) return std::string();  // no names
    return t;
  };
  auto passwd = names_of("/etc/passwd");
  if (!passwd) return undo(passwd.error());
  auto group = names_of("/etc/group");
  if (!group) return undo(group.error());
  oci::SpecInput in{plan->config, rootfs, std::move(*passwd), std::move(*group), "amd64", kernel_release()};
  oci::RunOptions run = options.run;
  // A cgroup per base directory, as Docker's /docker/<id>: runc's default
  // (/<id> at each hierarchy's root) would give the containers named "web" of
  // two daemons (or of two tests) one cgroup.
  if (run.cgroups_path.empty())
    run.cgroups_path = fmt::format("/berth-{:08x}/{}",
                                   static_cast<std::uint32_t>(std::hash<std::string>{}(fs::absolute(o_.base).string())),
                                   options.id);
  if (auto r = write_etc_files(d / "etc", run, options); !r) return undo(r.error());
  if (run.rlimits.empty()) {
    // Docker's 1048576 open files, but never above what this host lets us set.
    rlimit own{};
    ::getrlimit(RLIMIT_NOFILE, &own);
    const std::uint64_t n = std::min<std::uint64_t>(1048576, own.rlim_max);
    run.rlimits.push_back({"RLIMIT_NOFILE", n, n});
  }
  if (run.seccomp_profile.empty() && !o_.seccomp_profile.empty())
    if (auto p = core::read_file(o_.seccomp_profile)) run.seccomp_profile = *p;
  auto spec = oci::render_spec(in, run);
  if (!spec) return undo(spec.error());
  if (auto r = core::write_file(d / "bundle" / "config.json", *spec, 0600); !r) return undo(r.error());

  ContainerState s;
  s.id = options.id;
  s.image = options.image;
  s.status = Status::Created;
  s.stop_signal = plan->config.stop_signal.empty() ? "SIGTERM" : plan->config.stop_signal;
  if (auto sig = parse_signal(s.stop_signal); !sig) return undo(sig.error().wrap("the image's StopSignal"));
  s.log = d / "ctr.log";
  s.rootfs = rootfs;
  s.created = static_cast<std::int64_t>(std::time(nullptr));
  json::object record{{"id", s.id},           {"image", s.image},           {"stop_signal", s.stop_signal},
                      {"log", s.log.string()}, {"rootfs", s.rootfs.string()}, {"created", s.created},
                      {"image_store", images.base().string()}};
  if (auto r = store.put(s.id + ".json", json::serialize(record)); !r) return undo(r.error());

  return s;
}

Result<void> Containers::start(const std::string& id) {
  const std::string what = fmt::format("start container '{}'", id);
  BERTH_TRY(core::validate_container_id(id), what);
  const fs::path d = dir(id);
  if (!fs::exists(d)) return make_error(Errc::not_found, fmt::format("no container '{}'", id));
  // One start at a time: a second one, in another process, would find the
  // runtime's id taken and, failing, delete the first one's container.
  auto lock = core::FileLock::acquire(d / "start.lock");
  if (!lock) return std::move(lock).error().wrap(what);
  auto s = state(id);
  if (!s) return std::move(s).error().wrap(what);
  if (s->status == Status::Running) return {};
  if (s->status == Status::Stopped) {
    // Started again, as Docker does: the runtime forgets the last run, the
    // root file system keeps what it wrote.
    (void)release_runtime(id);
    for (const char* f : {"exit", "monitor.pid", "pidfile"}) ::unlink((d / f).c_str());
  }
  std::vector<std::string> argv{monitor_path_.string(), "--id", id, "--runtime", runtime_path_,
                                "--runtime-arg", "--root", "--runtime-arg", o_.state.string(),
                                "--bundle", (d / "bundle").string(), "--pid-file", (d / "pidfile").string(),
                                "--monitor-pid", (d / "monitor.pid").string(), "--log", s->log.string(),
                                "--exit-file", (d / "exit").string(),
                                "--log-max-size", std::to_string(o_.log_max_size),
                                "--log-max-files", std::to_string(o_.log_max_files)};
  auto pid = run_monitor_process(argv, d / "monitor.log");
  if (!pid) {
    // Nothing runs: back to created, as Docker leaves a container whose start failed.
    (void)runtime({"delete", "--force", id});
    for (const char* f : {"exit", "monitor.pid", "pidfile"}) ::unlink((d / f).c_str());
    return make_error(Errc::child_failed, fmt::format("{}: the OCI runtime could not start it: {}", what, pid.error().message()));
  }
  return {};
}

Result<ContainerState> Containers::state(const std::string& id) const {
  const std::string what = fmt::format("container '{}'", id);
  BERTH_TRY(core::validate_container_id(id), what);
  auto text = records(o_.base).get(id + ".json");
  if (!text) return std::move(text).error().wrap(what);
  if (!*text) return make_error(Errc::not_found, fmt::format("no container '{}'", id));
  boost::system::error_code ec;
  auto doc = json::parse(**text, ec);
  const auto* o = ec ? nullptr : doc.if_object();
  if (!o) return make_error(Errc::corrupt, fmt::format("{}: its record is corrupt", what));
  ContainerState s;
  auto str = [&](const char* k) { return o->contains(k) && o->at(k).is_string() ? std::string(o->at(k).get_string()) : ""; };
  s.id = id;
  s.image = str("image");
  s.stop_signal = str("stop_signal");
  s.log = str("log");
  s.rootfs = str("rootfs");
  s.image_store = str("image_store");
  if (o->contains("created") && o->at("created").is_int64()) s.created = o->at("created").get_int64();
  const fs::path d = dir(id);
  // The monitor writes the exit file the moment the container ends; until
  // then its live monitor is a live container (asking the runtime would
  // cost a process start, as much again as the rest of this).
  s.exit_code = read_exit(d / "exit");
  if (s.exit_code) {
    s.status = Status::Stopped;
  } else if (!fs::exists(d / "monitor.pid")) {
    s.status = Status::Created;  // never started
  } else if (monitor_alive(d)) {
    s.status = Status::Running;
    if (auto pid = core::read_file(d / "pidfile")) s.pid = static_cast<pid_t>(std::atoi(pid->c_str()));
    if (s.pid && *s.pid <= 0) s.pid.reset();
  } else {
    s.exit_code = read_exit(d / "exit");  // written just before the monitor went
    s.status = Status::Stopped;           // without one: killed, or before a reboot
  }
  return s;
}

Result<std::vector<ContainerState>> Containers::list() const {
  auto names = records(o_.base).list(".json");
  if (!names) return std::move(names).error().wrap("list containers");
  std::vector<ContainerState> out;
  for (const auto& n : *names) {
    auto s = state(n.substr(0, n.size() - 5));
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

Result<int> Containers::wait(const std::string& id, std::chrono::milliseconds timeout) const {
  const std::string what = fmt::format("wait for container '{}'", id);
  const fs::path d = dir(id);
  // A running container is waited for through its monitor's pidfd (the
  // monitor exits right after it has written the exit file). Not inotify on
  // the directory: closing an inotify descriptor waits for an RCU grace
  // period, 10-20 ms here, as long as the rest of a short container's life.
  // Only a created container, which has no monitor yet, is watched that way.
  core::UniqueFd watch;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto s = state(id);
    if (!s) return std::move(s).error().wrap(what);
    if (s->exit_code) return *s->exit_code;
    // A monitor gone without an exit status (killed, or before a reboot);
    // a created container is waited for until it has run.
    if (s->status == Status::Stopped) return make_error(Errc::not_found, fmt::format("{}: it has no exit status", what));
    int wait_ms = 1000;
    if (timeout.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return make_error(Errc::timed_out, fmt::format("{}: it still runs", what));
      wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), wait_ms));
    }
    core::UniqueFd monitor = s->status == Status::Running ? monitor_pidfd(d) : core::UniqueFd();
    if (!monitor && !watch) {
      watch = core::UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
      // The monitor's pid file and the exit file are renamed into place.
      if (!watch || ::inotify_add_watch(watch.get(), d.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        return core::errno_error(errno, what);
      continue;  // look again: it may have started meanwhile
    }
    pollfd p{monitor ? monitor.get() : watch.get(), POLLIN, 0};
    if (::poll(&p, 1, wait_ms) > 0 && !monitor) {
      char buf[4096];
      while (::read(watch.get(), buf, sizeof buf) > 0) {
      }
    }
  }
}

core::UniqueFd Containers::exit_fd(const std::string& id) const { return monitor_pidfd(dir(id)); }

Result<void> Containers::kill(const std::string& id, std::string_view signal) {
  const std::string what = fmt::format("signal container '{}'", id);
  auto sig = parse_signal(signal);
  if (!sig) return std::move(sig).error().wrap(what);
  auto s = state(id);
  if (!s) return std::move(s).error().wrap(what);
  if (s->status != Status::Running) return make_error(Errc::conflict, fmt::format("{}: it is not running", what));
  if (auto r = runtime({"kill", id, std::to_string(*sig)}); !r) {
    // It may have ended in between.
    if (auto again = state(id); again && again->status == Status::Stopped)
      return make_error(Errc::conflict, fmt::format("{}: it is not running", what));
    return std::move(r).error().wrap(what);
  }
  return {};
}

Result<ExecResult> Containers::exec(const std::string& id, const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout) const {
  const std::string what = fmt::format("exec in container '{}'", id);
  if (argv.empty() || argv.front().empty()) return make_error(Errc::invalid_argument, fmt::format("{}: no command", what));
  auto s = state(id);
  if (!s) return std::move(s).error().wrap(what);
  if (s->status != Status::Running) return make_error(Errc::conflict, fmt::format("{}: it is not running", what));
  // Without --process, runc takes the process from the container's own
  // config.json (user, env, cwd, capabilities) and replaces its args.
  std::vector<std::string> args{"--root", o_.state.string(), "exec", id};
  args.insert(args.end(), argv.begin(), argv.end());
  auto r = core::run({.program = runtime_path_, .args = std::move(args), .timeout = timeout});
  if (!r) {
    if (r.error().is(Errc::timed_out))
      return make_error(Errc::timed_out, fmt::format("{}: '{}' did not end within {} ms", what, argv.front(), timeout.count()));
    return std::move(r).error().wrap(what);
  }
  ExecResult out{.exit_code = r->exit_code, .out = std::move(r->out), .err = std::move(r->err)};
  if (r->exit_code < 0) out.exit_code = 128 + r->term_signal;
  // runc says its own failures on stderr ("runc exec failed: ..."); a shell's
  // codes for a program that is missing (127) or cannot run (126).
  if (r->exit_code == 255 && out.err.find("exec failed") != std::string::npos) {
    if (out.err.find("executable file not found") != std::string::npos ||
        out.err.find("no such file or directory") != std::string::npos)
      out.exit_code = 127;
    else if (out.err.find("permission denied") != std::string::npos)
      out.exit_code = 126;
    else if (auto again = state(id); again && again->status != Status::Running)
      return make_error(Errc::conflict, fmt::format("{}: it is not running", what));
    else
      return make_error(Errc::child_failed, fmt::format("{}: {}", what, core::last_line(out.err)));
  }
  return out;
}

Result<int> Containers::stop(const std::string& id, std::chrono::milliseconds grace) {
  const std::string what = fmt::format("stop container '{}'", id);
  auto s = state(id);
  if (!s) return std::move(s).error().wrap(what);
  if (s->status == Status::Created) return 0;  // nothing runs, as `docker stop` has it
  if (s->status == Status::Stopped) {
    return s->exit_code.value_or(kLostExitCode);
  }
  if (auto r = kill(id, s->stop_signal); !r) {
    if (auto again = state(id); again && again->exit_code) return *again->exit_code;
    return std::move(r).error().wrap(what);
  }
  if (auto code = wait(id, grace)) return *code;
  (void)kill(id, "SIGKILL");
  auto code = wait(id, std::chrono::seconds(30));
  if (!code) return std::move(code).error().wrap(what);
  return *code;
}

Result<void> Containers::release_runtime(const std::string& id) const {
  BERTH_TRY(core::validate_container_id(id), fmt::format("release the runtime's state of '{}'", id));
  // runc and crun keep a container under <root>/<id>/ until `delete`: none
  // there, nothing to do, and no runtime process (tens of ms of Go start) to pay.
  std::error_code ec;
  if (!fs::exists(o_.state / id, ec)) return {};
  auto s = state(id);
  if (!s) return s.error();
  if (s->status == Status::Running) return make_error(Errc::conflict, fmt::format("container '{}' is running", id));
  auto r = runtime({"delete", "--force", id});
  if (!r) return std::move(r).error().wrap(fmt::format("release the runtime's state of '{}'", id));
  return {};
}

Result<std::vector<std::string>> Containers::remove_leftovers(const image::Store& images) const {
  const std::string what = "remove what unfinished creates left";
  const auto store = records(o_.base);
  // A create holds this lock from its first step to its record: none is halfway now.
  auto lock = store.lock();
  if (!lock) return std::move(lock).error().wrap(what);
  std::set<std::string> cleared;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o_.base / "containers", ec)) {
    const std::string id = e.path().filename().string();
    if (!e.is_directory() || !core::is_plain_name(id, core::kMaxContainerId)) continue;
    auto rec = store.get(id + ".json");
    if (!rec || *rec) continue;  // a container (or unreadable: left alone)
    const fs::path rootfs = e.path() / "bundle" / "rootfs";
    if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return core::errno_error(errno, fmt::format("{}: unmount '{}'", what, rootfs.string()));
    BERTH_TRY(image::remove_tree(e.path()), what);
    cleared.insert(id);
  }
  // A record whose first write was cut short: only its temporary file is there.
  for (const auto& e : fs::directory_iterator(o_.base / "containers", ec)) {
    const std::string name = e.path().filename().string();
    auto tmp = name.find(".json.tmp.");
    if (tmp == std::string::npos || !e.is_regular_file()) continue;
    const std::string id = name.substr(0, tmp);
    if (auto rec = store.get(id + ".json"); rec && !*rec) {
      store.remove_leftovers(id + ".json");
      cleared.insert(id);
    }
  }
  auto holders = images.holders();
  if (!holders) return std::move(holders).error().wrap(what);
  for (const auto& id : *holders) {
    auto rec = store.get(id + ".json");
    if (!rec || *rec) continue;
    BERTH_TRY(images.release(id), what);
    cleared.insert(id);
  }
  return std::vector<std::string>(cleared.begin(), cleared.end());
}

Result<void> Containers::remove(const std::string& id) {
  const std::string what = fmt::format("remove container '{}'", id);
  auto s = state(id);
  if (!s) return std::move(s).error().wrap(what);
  if (s->status == Status::Running) return make_error(Errc::conflict, fmt::format("{}: it is running; stop it first", what));
  core::ErrorList errors;
  // The runtime's state and cgroups of its last run (never started: none).
  if (s->status == Status::Stopped) (void)release_runtime(id);
  if (::umount2(s->rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    errors.add(core::errno_error(errno, fmt::format("unmount '{}'", s->rootfs.string())));
  if (errors.empty()) errors.add_if(image::remove_tree(dir(id)));
  if (errors.empty()) {
    // Its layers are free for prune once nothing of it is left.
    if (!s->image_store.empty())
      if (auto images = image::Store::open(s->image_store)) errors.add_if(images->release(id));
    errors.add_if(records(o_.base).remove(id + ".json"));
    records(o_.base).remove_leftovers(id + ".json");
  }
  return errors.result(what);
}

}  // namespace berth::runtime::container
