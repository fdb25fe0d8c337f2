// SPDX-License-Identifier: Apache-2.0
#include "berth/core/http.hpp"
#include "berth/core/process.hpp"
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
    if (core::http::accepts_connections(socket)) return {};
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

core::Result<void> wait_for_socket(const InstanceEnv& env, const HostPaths& host, std::chrono::seconds timeout,
                                   const std::function<bool()>& still_starting, const Progress& progress) {
  const Layout l = layout_of(env);
  if (progress) progress(fmt::format("{}: waiting for {} to answer", env.prefix, l.socket.string()));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(20);
  auto engine = host.docker(l.socket);
  while (std::chrono::steady_clock::now() < deadline) {
    if (engine->ping(std::chrono::seconds(2))) return {};
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

std::filesystem::path unit_path(const InstanceEnv& env, const HostPaths& host) {
  return host.units->unit_dir() / env.unit();
}

}  // namespace berth::instance::detail
