// SPDX-License-Identifier: Apache-2.0
#include "berth/core/process.hpp"

#include "process_v2.hpp"
// Boost 1.81 defines process_environment::on_setup in this .ipp but includes
// it from neither the header-only path nor src.hpp; it must be compiled in
// exactly one translation unit, and this is it.
#include <boost/process/v2/impl/environment.ipp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::core {
namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

std::string describe(const Command& cmd) { return fmt::format("run '{}'", cmd.program.string()); }

void decode_status(int native, Output& out) {
  if (WIFSIGNALED(native)) {
    out.exit_code = -1;
    out.term_signal = WTERMSIG(native);
  } else {
    out.exit_code = WEXITSTATUS(native);
  }
}

std::vector<bp::environment::key_value_pair> to_env(const std::vector<std::string>& env) {
  std::vector<bp::environment::key_value_pair> kv;
  kv.reserve(env.size());
  for (const auto& e : env) kv.emplace_back(e);
  return kv;
}

/// Reads a pipe to its end into `sink`.
void pump(asio::readable_pipe& pipe, std::string& sink, std::array<char, 8192>& buf) {
  pipe.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
    if (ec) return;
    sink.append(buf.data(), n);
    pump(pipe, sink, buf);
  });
}

/// Boost.Process 1.81 closes a child's descriptors only above its own
/// error pipe (its close_all compares each whitelist entry with itself), so
/// a child inherited whatever we had open without O_CLOEXEC below that:
/// the pipes of a run() going on in another thread among them, which then
/// saw no end while the child lived (a daemon started beside a run() kept
/// that run() waiting for ever). In the child, before exec, every
/// descriptor above stderr becomes close-on-exec.
struct CloseOnExecAll {
  template <class Launcher, class Path, class Argv>
  boost::system::error_code on_exec_setup(Launcher&, const Path&, Argv&&) {
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      // A kernel before 5.11: one by one, up to the limit.
      const long max = ::sysconf(_SC_OPEN_MAX);
      for (int fd = 3; fd < (max > 0 ? max : 4096); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return {};
  }
};

/// Starts `cmd` with `stdio`. Boost.Process v2 exits the child with ::exit()
/// when execve fails (pitfall 3): flush our stdio first and resolve the
/// program up front so that path is never taken for a missing binary.
template <class... Inits>
Result<bp::process> launch(asio::io_context& ctx, const Command& cmd, const std::filesystem::path& exe,
                           Inits&&... inits) {
  std::fflush(nullptr);
  boost::system::error_code ec;
  bp::process proc = [&] {
    if (cmd.env) {
      auto kv = to_env(*cmd.env);
      if (!cmd.cwd.empty())
        return bp::default_process_launcher()(ctx, ec, exe, cmd.args, std::forward<Inits>(inits)..., CloseOnExecAll{},
                                              bp::process_environment(kv), bp::process_start_dir(cmd.cwd));
      return bp::default_process_launcher()(ctx, ec, exe, cmd.args, std::forward<Inits>(inits)..., CloseOnExecAll{},
                                            bp::process_environment(kv));
    }
    if (!cmd.cwd.empty())
      return bp::default_process_launcher()(ctx, ec, exe, cmd.args, std::forward<Inits>(inits)..., CloseOnExecAll{},
                                            bp::process_start_dir(cmd.cwd));
    return bp::default_process_launcher()(ctx, ec, exe, cmd.args, std::forward<Inits>(inits)..., CloseOnExecAll{});
  }();
  if (ec) return make_error(std::error_code(ec.value(), std::generic_category()), describe(cmd));
  return proc;
}

}  // namespace

Result<std::filesystem::path> find_program(const std::filesystem::path& name) {
  if (name.empty()) return make_error(Errc::invalid_argument, "run: no program given");
  if (name.has_parent_path()) {
    if (::access(name.c_str(), X_OK) != 0) return errno_error(errno, fmt::format("run '{}'", name.string()));
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return make_error(Errc::not_found, fmt::format("run '{}': program not found in PATH", name.string()));
}

Result<Output> run(const Command& cmd) {
  auto exe = find_program(cmd.program);
  if (!exe) return exe.error();

  asio::io_context ctx;
  asio::writable_pipe in(ctx);
  asio::readable_pipe out(ctx);
  asio::readable_pipe err(ctx);
  auto proc = launch(ctx, cmd, *exe, bp::process_stdio{in, out, err});
  if (!proc) return proc.error();

  // A child that exits without reading its stdin would kill us with SIGPIPE
  // on the write. Block it in this thread (the child, already forked, keeps
  // the normal mask) and swallow a pending one afterwards.
  struct SigpipeGuard {
    sigset_t pipe{}, old{};
    SigpipeGuard() {
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, &old);
    }
    ~SigpipeGuard() {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) && !sigismember(&old, SIGPIPE)) {
        timespec zero{0, 0};
        sigtimedwait(&pipe, nullptr, &zero);
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  } sigpipe_guard;

  Output result;
  std::array<char, 8192> out_buf{}, err_buf{};
  pump(out, result.out, out_buf);
  pump(err, result.err, err_buf);
  if (!cmd.stdin_data.empty()) {
    asio::async_write(in, asio::buffer(cmd.stdin_data),
                      [&](boost::system::error_code, std::size_t) { in.close(); });
  } else {
    in.close();
  }

  bool timed_out = false;
  bool exited = false;
  int native_status = 0;
  asio::steady_timer timer(ctx);
  if (cmd.timeout.count() > 0) {
    timer.expires_after(cmd.timeout);
    timer.async_wait([&](boost::system::error_code ec) {
      if (ec || exited) return;
      timed_out = true;
      ::kill(proc->id(), SIGKILL);
    });
  }
  // The handler's int is the "portable" code (WTERMSIG and WEXITSTATUS look
  // alike); the native status is read from the process afterwards.
  boost::system::error_code wait_ec;
  proc->async_wait([&](boost::system::error_code ec, int) {
    exited = true;
    wait_ec = ec;
    timer.cancel();
  });
  ctx.run();
  if (wait_ec) return make_error(std::error_code(wait_ec.value(), std::generic_category()), describe(cmd));
  native_status = proc->native_exit_code();
  // async_wait reaped the child; make the process object agree so its
  // destructor does not try to kill a pid that may be reused.
  proc->detach();

  if (timed_out)
    return make_error(Errc::timed_out, fmt::format("{}: killed after {} ms", describe(cmd), cmd.timeout.count()));
  decode_status(native_status, result);
  return result;
}

std::string_view last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto nl = text.rfind('\n');
  return nl == std::string_view::npos ? text : text.substr(nl + 1);
}

Result<Output> run_checked(const Command& cmd) {
  auto r = run(cmd);
  if (!r) return r;
  if (r->success()) return r;
  const std::string_view last = last_line(r->err);
  std::string status = r->term_signal ? fmt::format("killed by signal {}", r->term_signal)
                                      : fmt::format("exit code {}", r->exit_code);
  return make_error(Errc::child_failed,
                    last.empty() ? fmt::format("{}: {}", describe(cmd), status)
                                 : fmt::format("{}: {}: {}", describe(cmd), status, last));
}

struct Child::Impl {
  asio::io_context ctx;
  std::optional<bp::process> proc;
  bool reaped = false;
  Output status;
};

Child::Child(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Child::Child(Child&&) noexcept = default;
Child& Child::operator=(Child&&) noexcept = default;

Child::~Child() {
  if (!impl_ || !impl_->proc) return;
  if (!impl_->reaped) {
    ::kill(impl_->proc->id(), SIGKILL);
    boost::system::error_code ec;
    impl_->proc->wait(ec);
  }
  impl_->proc->detach();
}

Result<Child> Child::spawn(const Command& cmd, const Options& options) {
  auto exe = find_program(cmd.program);
  if (!exe) return exe.error();
  auto open_out = [&](const std::filesystem::path& p) -> Result<FILE*> {
    FILE* f = std::fopen(p.empty() ? "/dev/null" : p.c_str(), "ae");
    if (!f) return errno_error(errno, fmt::format("{}: open '{}'", describe(cmd), p.string()));
    return f;
  };
  auto out = open_out(options.stdout_path);
  if (!out) return out.error();
  auto err = open_out(options.stderr_path);
  if (!err) {
    std::fclose(*out);
    return err.error();
  }
  auto impl = std::make_unique<Impl>();
  auto proc = launch(impl->ctx, cmd, *exe, bp::process_stdio{nullptr, *out, *err});
  std::fclose(*out);
  std::fclose(*err);
  if (!proc) return proc.error();
  impl->proc.emplace(std::move(*proc));
  return Child(std::move(impl));
}

pid_t Child::pid() const noexcept { return impl_->proc->id(); }

bool Child::running() {
  if (impl_->reaped) return false;
  int status = 0;
  pid_t r = ::waitpid(impl_->proc->id(), &status, WNOHANG);
  if (r == impl_->proc->id()) {
    impl_->reaped = true;
    decode_status(status, impl_->status);
    return false;
  }
  return true;
}

Result<void> Child::kill(int signal) {
  if (impl_->reaped) return {};
  if (::kill(impl_->proc->id(), signal) != 0)
    return errno_error(errno, fmt::format("signal process {}", impl_->proc->id()));
  return {};
}

Result<Output> Child::wait() {
  if (!impl_->reaped) {
    int status = 0;
    pid_t pid = impl_->proc->id();
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return errno_error(errno, fmt::format("wait for process {}", pid));
    }
    impl_->reaped = true;
    decode_status(status, impl_->status);
  }
  return impl_->status;
}

}  // namespace berth::core
