// SPDX-License-Identifier: Apache-2.0
// Boost.Process v2 ties a child to a parent object and reaps it; a daemon
// started by `dockyard start --no-systemd` must outlive the command, so this
// is the classic double fork written out with async-signal-safe calls only.
#include "berth/core/detach.hpp"

#include "berth/core/unique_fd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace berth::core {
namespace {

std::vector<char*> c_strings(std::vector<std::string>& words) {
  std::vector<char*> out;
  out.reserve(words.size() + 1);
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

bool read_all(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

Result<void> run_in_detached_child(const std::function<void()>& fn) {
  const pid_t child = ::fork();
  if (child < 0) return errno_error(errno, "fork");
  if (child == 0) {
    if (::fork() == 0) fn();
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return {};
}

Result<void> release_descriptors_after_exit() {
  const std::string what = "hand open descriptors to a child";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error(errno, what);
  const int until_exit = fds[0];  // end of file once every copy of fds[1] is closed: when we have exited
  auto started = run_in_detached_child([&] {
    ::close(fds[1]);
    for (int fd = 0; fd <= 2; ++fd)
      if (fd != until_exit) ::close(fd);  // a runtime reading our output sees its end when we exit
    char c;
    while (::read(until_exit, &c, 1) < 0 && errno == EINTR) {
    }
    ::close_range(3, UINT_MAX, 0);
  });
  ::close(fds[0]);
  if (!started) {
    ::close(fds[1]);
    return std::move(started).error().wrap(what);
  }
  // fds[1] stays open on purpose: it closes when we exit.
  return {};
}

Result<pid_t> spawn_detached(const Command& cmd, const std::filesystem::path& log) {
  auto exe = find_program(cmd.program);
  if (!exe) return std::move(exe).error();
  // Everything the children need is prepared before fork: after it, only
  // async-signal-safe calls are allowed in a multi-threaded program.
  std::vector<std::string> argv_s{exe->string()};
  argv_s.insert(argv_s.end(), cmd.args.begin(), cmd.args.end());
  auto argv = c_strings(argv_s);
  std::vector<std::string> env_s = cmd.env.value_or(std::vector<std::string>{});
  auto envp = c_strings(env_s);
  char** child_env = cmd.env ? envp.data() : environ;
  const std::string log_s = log.string();
  const std::string cwd_s = cmd.cwd.empty() ? "/" : cmd.cwd.string();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error(errno, "pipe");
  UniqueFd rd{fds[0]}, wr{fds[1]};

  pid_t middle = ::fork();
  if (middle < 0) return errno_error(errno, "fork");
  if (middle == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon < 0) {
      int e = errno;
      pid_t none = -1;
      (void)!::write(fds[1], &none, sizeof none);
      (void)!::write(fds[1], &e, sizeof e);
      ::_exit(1);
    }
    if (daemon > 0) {
      (void)!::write(fds[1], &daemon, sizeof daemon);
      ::_exit(0);
    }
    int e = 0;
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = ::open(log_s.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (in < 0 || out < 0) e = errno;
    if (e == 0 && (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0)) e = errno;
    if (e == 0 && ::chdir(cwd_s.c_str()) != 0) e = errno;
    if (e == 0) {
      ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC: keeps the status pipe until exec */);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::execve(argv[0], argv.data(), child_env);
      e = errno;
    }
    (void)!::write(fds[1], &e, sizeof e);
    ::_exit(127);
  }
  wr.reset();
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t daemon = -1;
  if (!read_all(rd.get(), &daemon, sizeof daemon)) return make_error(Errc::child_failed, "start " + argv_s[0]);
  int exec_errno = 0;
  if (read_all(rd.get(), &exec_errno, sizeof exec_errno))  // data means failure; EOF means exec worked
    return errno_error(exec_errno, fmt::format("start '{}' (log {})", argv_s[0], log_s));
  return daemon;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie still answers kill(0); its state letter says it is gone.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

Result<void> terminate_process(pid_t pid, std::chrono::milliseconds grace) {
  if (!process_alive(pid)) return {};
  if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) return errno_error(errno, fmt::format("signal pid {}", pid));
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_alive(pid)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) return errno_error(errno, fmt::format("kill pid {}", pid));
  for (int i = 0; i < 100 && process_alive(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return {};
}

}  // namespace berth::core
