// SPDX-License-Identifier: Apache-2.0
// The container monitor's process (see monitor.hpp for why it is berth's
// own and not conmon). Single-threaded, after exec: plain C++ is safe here.
#include "berth/runtime/container/monitor.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/core/unique_fd.hpp"
#include "container/log_file.hpp"
#include "container/log_writer.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BERTH_LIBEXEC_DIR
#define BERTH_LIBEXEC_DIR "/usr/local/libexec"
#endif

namespace berth::runtime::container {
namespace {

namespace fs = std::filesystem;

void say(int fd, const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// The runtime's own words from what it wrote to stderr: logrus lines
/// (`time="..." level=error msg="runc run failed: ..."`) give their msg.
std::string runtime_error(const std::string& stderr_text, int status) {
  std::string last;
  for (std::size_t start = 0; start < stderr_text.size();) {
    auto end = stderr_text.find('\n', start);
    if (end == std::string::npos) end = stderr_text.size();
    std::string line = stderr_text.substr(start, end - start);
    start = end + 1;
    if (auto m = line.find("msg=\""); m != std::string::npos) {
      line = line.substr(m + 5);
      if (auto q = line.rfind('"'); q != std::string::npos) line.resize(q);
      std::string unescaped;
      for (std::size_t i = 0; i < line.size(); ++i) unescaped += (line[i] == '\\' && i + 1 < line.size()) ? line[++i] : line[i];
      line = unescaped;
    }
    if (!line.empty()) last = line;
  }
  if (last.empty()) last = WIFEXITED(status) ? fmt::format("it exited {}", WEXITSTATUS(status)) : "it was killed";
  return last;
}

/// Writes `path` whole or not at all (a temporary file renamed into place),
/// so a reader sees no pid or exit file or a whole one. Not fsynced, unlike
/// core::write_file_atomic: these files matter for this boot only (the
/// container does not outlive a crash either), and the waiting caller would
/// wait for the disk.
core::Result<void> replace_file(const fs::path& path, std::string_view text) {
  fs::path tmp = path;
  tmp += ".tmp";
  if (auto r = core::write_file(tmp, text, 0600); !r) return r.error();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return core::errno_error(errno, fmt::format("rename '{}'", tmp.string()));
  return {};
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

int run_monitor(const MonitorOptions& o) {
  const int sync = o.sync_fd;
  if (::fcntl(sync, F_GETFD) < 0) return 2;
  ::fcntl(sync, F_SETFD, FD_CLOEXEC);
  auto fail = [&](const std::string& why) {
    say(sync, "error " + why + "\n");
    return 1;
  };
  // Detach: a child of our own in a new session, its starter reaps us at once.
  const pid_t child = ::fork();
  if (child < 0) return fail(fmt::format("fork: {}", std::strerror(errno)));
  if (child > 0) ::_exit(0);
  ::setsid();
  (void)!::chdir("/");  // pins no mount of the caller's
  // The container's first process is the runtime's child until the runtime
  // exits; then it is ours to wait for.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return fail("cannot become a subreaper");
  if (auto r = replace_file(o.monitor_pid, std::to_string(::getpid()) + "\n"); !r) return fail(r.error().message());

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  core::UniqueFd signals(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  LogFile log(o.log, o.log_max_size, o.log_max_files);
  if (!signals) return fail(fmt::format("signalfd: {}", std::strerror(errno)));
  if (!log.open()) return fail(fmt::format("'{}': {}", o.log.string(), std::strerror(errno)));
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return fail("pipe");
  core::UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);

  std::vector<std::string> argv{o.runtime.string()};
  argv.insert(argv.end(), o.runtime_args.begin(), o.runtime_args.end());
  for (const char* a : {"run", "--detach", "--bundle"}) argv.emplace_back(a);
  argv.push_back(o.bundle.string());
  argv.emplace_back("--pid-file");
  argv.push_back(o.pid_file.string());
  argv.push_back(o.id);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t runtime = ::fork();
  if (runtime < 0) return fail("fork");
  if (runtime == 0) {
    // Passed through to the container by a detached runtime: its stdio.
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(err_w.get(), 2) < 0) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    say(2, fmt::format("cannot run '{}': {}\n", argv[0], std::strerror(errno)));
    ::_exit(127);
  }
  out_w.reset();
  err_w.reset();
  for (int fd : {out_r.get(), err_r.get()}) ::fcntl(fd, F_SETFL, O_NONBLOCK);

  LogWriter writer([&](std::string_view record) { log.write(record); });
  std::string runtime_said;  // its stderr until it exits, for its error
  std::optional<int> runtime_status;
  pid_t container = 0;
  std::optional<int> container_status;
  // The container's first process is reparented to us as soon as the
  // runtime's intermediate process exits, and may end before the runtime
  // has told us its PID: statuses wait here until then.
  std::map<pid_t, int> ended;
  bool out_open = true, err_open = true;
  auto drain = [&](int fd, LogWriter::Stream s, bool& open) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        writer.write(s, std::string_view(buf, static_cast<std::size_t>(n)));
        if (s == LogWriter::Stderr && container == 0 && runtime_said.size() < 8192)
          runtime_said.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        writer.finish(s);
        open = false;
      }
      return;  // EAGAIN: all there is for now
    }
  };
  auto reap = [&] {
    for (;;) {
      int status = 0;
      const pid_t p = ::waitpid(-1, &status, WNOHANG);
      if (p <= 0) return;
      if (p == runtime) runtime_status = status;
      else if (container != 0 && p == container) container_status = status;
      else if (container == 0) ended[p] = status;
    }
  };
  // After its first process has ended, what is left in the pipes comes
  // within this long (the rest of its pid namespace dies with it).
  int linger_ms = -1;
  for (;;) {
    if (runtime_status && container == 0) {
      if (!WIFEXITED(*runtime_status) || WEXITSTATUS(*runtime_status) != 0) {
        drain(err_r.get(), LogWriter::Stderr, err_open);
        return fail(runtime_error(runtime_said, *runtime_status));
      }
      auto text = core::read_file(o.pid_file);
      container = text ? std::atoi(text->c_str()) : 0;
      if (container <= 0) return fail("the runtime wrote no pid file");
      say(sync, fmt::format("pid {}\n", container));
      ::close(sync);
      if (auto it = ended.find(container); it != ended.end()) container_status = it->second;
      ended.clear();
    }
    if (container_status && linger_ms < 0) linger_ms = 200;
    if (container_status && !out_open && !err_open) break;
    pollfd fds[3] = {{signals.get(), POLLIN, 0}, {out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0}};
    const int n = ::poll(fds, 3, container_status ? linger_ms : -1);
    if (n < 0 && errno != EINTR) break;
    if (n == 0) break;  // lingered long enough
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signals.get(), &info, sizeof info) > 0) {
      }
      reap();
    }
    if (fds[1].revents) drain(out_r.get(), LogWriter::Stdout, out_open);
    if (fds[2].revents) drain(err_r.get(), LogWriter::Stderr, err_open);
  }
  writer.finish(LogWriter::Stdout);
  writer.finish(LogWriter::Stderr);
  if (!container_status) return 1;  // poll failed: no status to record
  return replace_file(o.exit_file, std::to_string(exit_code_of(*container_status)) + "\n") ? 0 : 1;
}

fs::path find_monitor(const fs::path& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(self.parent_path() / "berth-monitor");
    candidates.push_back(self.parent_path().parent_path() / "libexec" / "berth" / "berth-monitor");
    // In a build tree, the commands sit in cli/<name>/.
    candidates.push_back(self.parent_path().parent_path() / "berth-monitor" / "berth-monitor");
  }
  candidates.push_back(fs::path(BERTH_LIBEXEC_DIR) / "berth" / "berth-monitor");
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  auto found = core::find_program("berth-monitor");
  return found ? *found : fs::path();
}

}  // namespace berth::runtime::container
