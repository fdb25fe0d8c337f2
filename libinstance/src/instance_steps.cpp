// SPDX-License-Identifier: Apache-2.0
#include "berth/core/process.hpp"
#include "berth/instance/docker_api.hpp"
#include "instance_internal.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <thread>

namespace berth::instance::detail {

core::Result<void> run_steps(const std::vector<Step>& steps) {
  for (const auto& s : steps) {
    if (!s.unless.empty()) {
      auto check = core::run({.program = s.unless.front(),
                              .args = {s.unless.begin() + 1, s.unless.end()},
                              .timeout = std::chrono::seconds(60)});
      if (check && check->success()) continue;
    }
    auto r = core::run_checked(
        {.program = s.argv.front(), .args = {s.argv.begin() + 1, s.argv.end()}, .timeout = std::chrono::seconds(60)});
    if (!r && !s.may_fail) return std::move(r).error();
  }
  return {};
}

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return s;
}

}  // namespace

core::Result<std::string> systemctl(std::vector<std::string> args) {
  std::string command = "systemctl";
  for (const auto& a : args) command += " " + a;
  auto r = core::run({.program = "systemctl", .args = std::move(args), .timeout = std::chrono::seconds(180)});
  if (!r) return std::move(r).error();
  if (r->success()) return r->out;
  // systemctl says why in its first line ("Job for X failed because the
  // control process exited with error code."); the rest points to journalctl.
  std::string_view err = trimmed(r->err);
  err = trimmed(err.substr(0, err.find('\n')));
  if (err.ends_with('.')) err.remove_suffix(1);  // our error goes on after it
  return core::make_error(core::Errc::child_failed,
                          err.empty() ? fmt::format("{}: exit code {}", command, r->exit_code)
                                      : fmt::format("{}: {}", command, err));
}

std::string last_unit_log_line(const std::vector<std::string>& units) {
  for (const auto& unit : units) {
    // Only what the unit's processes wrote in its latest run (its invocation
    // id), not systemd's own lines about it: dockerd's "failed to start daemon:
    // ..." or an ExecStartPre program's error.
    auto id = core::run({.program = "systemctl",
                         .args = {"show", "-p", "InvocationID", "--value", unit},
                         .timeout = std::chrono::seconds(10)});
    if (!id || !id->success() || trimmed(id->out).empty()) continue;
    auto r = core::run({.program = "journalctl",
                        .args = {"--no-pager", "-q", "-o", "cat", "-n", "1",
                                 "_SYSTEMD_INVOCATION_ID=" + std::string(trimmed(id->out))},
                        .timeout = std::chrono::seconds(10)});
    if (!r || !r->success() || trimmed(r->out).empty()) continue;
    std::string line(trimmed(r->out));
    if (line.size() > 300) line = line.substr(line.size() - 300);
    return line;
  }
  return "";
}

std::optional<pid_t> read_pidfile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc{} || pid <= 0) return std::nullopt;
  return pid;
}

std::optional<pid_t> daemon_pid(const InstanceEnv& env, Daemon which) {
  const Layout l = layout_of(env);
  auto pid = read_pidfile(which == Daemon::Dockerd ? l.pidfile : l.containerd_pidfile);
  if (!pid) return std::nullopt;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(*pid) + "/exe", ec);
  // " (deleted)": a re-run of create replaced the binary (by rename) under the running daemon.
  const std::string want = (l.bin / (which == Daemon::Dockerd ? "dockerd" : "containerd")).string();
  if (ec || (exe.string() != want && exe.string() != want + " (deleted)")) return std::nullopt;
  return pid;
}

core::Result<void> wait_for_listener(const std::filesystem::path& socket, std::chrono::seconds timeout,
                                     const std::function<bool()>& still_starting) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string path = socket.string();
  while (std::chrono::steady_clock::now() < deadline) {
    if (accepts_connections(socket)) return {};
    if (still_starting && !still_starting())
      return core::make_error(core::Errc::child_failed, path + ": the daemon stopped before it listened");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return core::make_error(core::Errc::timed_out, fmt::format("{} did not listen within {} s", path, timeout.count()));
}

namespace {

std::string last_log_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  if (last.size() > 300) last = last.substr(last.size() - 300);
  return last;
}

}  // namespace

core::Result<void> wait_for_socket(const InstanceEnv& env, std::chrono::seconds timeout,
                                   const std::function<bool()>& still_starting, const Progress& progress) {
  const Layout l = layout_of(env);
  if (progress) progress(fmt::format("{}: waiting for {} to answer", env.prefix, l.socket.string()));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (docker_answers(l.socket, std::chrono::seconds(2))) return {};
    if (still_starting && !still_starting()) {
      const std::string last = last_log_line(l.log / "dockerd.log");
      return core::make_error(core::Errc::child_failed,
                              fmt::format("dockerd of {} stopped before its socket answered{}{}", env.prefix,
                                          last.empty() ? "" : ": ", last));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(250));
  }
  return core::make_error(core::Errc::timed_out, fmt::format("{} did not answer within {} s", l.socket.string(),
                                                             timeout.count()));
}

std::filesystem::path unit_path(const InstanceEnv& env, const HostPaths& host) { return host.unit_dir / env.unit(); }

}  // namespace berth::instance::detail
