// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <sys/types.h>

namespace berth::core {

/// A program to run and how.
struct Command {
  /// Absolute path, or a bare name looked up in PATH.
  std::filesystem::path program;
  std::vector<std::string> args;
  /// The child's whole environment as "KEY=VALUE"; nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
  /// Written to the child's stdin, which is then closed.
  std::string stdin_data;
  /// Past this the child is killed (SIGKILL) and `Errc::timed_out` returned; 0 means no limit.
  std::chrono::milliseconds timeout{0};
  /// Working directory; empty keeps ours.
  std::filesystem::path cwd;
};

/// What a finished program left behind.
struct Output {
  int exit_code = -1;   ///< exit status, or -1 when a signal ended it
  int term_signal = 0;  ///< the signal that ended it, or 0
  std::string out;
  std::string err;
  [[nodiscard]] bool success() const noexcept { return exit_code == 0; }
};

/// Runs `cmd` to completion, capturing stdout and stderr. A non-zero exit is
/// not an error here (see `run_checked`); failing to start one, or a timeout, is.
/// Runs the child in the calling thread's network namespace.
[[nodiscard]] Result<Output> run(const Command& cmd);

/// Like `run`, but a non-zero exit becomes `Errc::child_failed` whose context
/// names the program and quotes the last line of its stderr.
[[nodiscard]] Result<Output> run_checked(const Command& cmd);

/// The last non-empty line of a program's output, trailing blanks gone
/// (what it said last is usually why it failed).
[[nodiscard]] std::string_view last_line(std::string_view text);

/// Finds `name` in PATH (or checks an explicit path) and returns the executable.
[[nodiscard]] Result<std::filesystem::path> find_program(const std::filesystem::path& name);

/// A running child process. The destructor kills (SIGKILL) and reaps a child
/// that is still running. stdout/stderr go to the given files (or /dev/null).
/// Move-only; not thread-safe.
class Child {
public:
  struct Options {
    std::filesystem::path stdout_path;  ///< empty: /dev/null
    std::filesystem::path stderr_path;  ///< empty: /dev/null
  };
  [[nodiscard]] static Result<Child> spawn(const Command& cmd, const Options& options);
  [[nodiscard]] static Result<Child> spawn(const Command& cmd) { return spawn(cmd, Options{}); }

  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  ~Child();

  [[nodiscard]] pid_t pid() const noexcept;
  [[nodiscard]] bool running();
  /// Sends `signal` to the child.
  [[nodiscard]] Result<void> kill(int signal);
  /// Waits for the child to end and reaps it.
  [[nodiscard]] Result<Output> wait();

private:
  struct Impl;
  explicit Child(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::core
