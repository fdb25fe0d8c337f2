// SPDX-License-Identifier: Apache-2.0
#include "berth/core/detach.hpp"
#include "berth/core/fs.hpp"
#include "instance_internal.hpp"

#include <fmt/format.h>

namespace berth::instance {
namespace {

RenderOptions render_options(const InstanceRecord& r, const HostPaths& host) {
  RenderOptions o = host.tools;
  o.firewall = r.options.firewall;
  o.sysbox = r.options.sysbox;
  return o;
}

std::optional<pid_t> running_pid(const InstanceEnv& env, detail::Daemon which = detail::Daemon::Dockerd) {
  auto pid = detail::daemon_pid(env, which);
  if (pid && core::process_alive(*pid)) return pid;
  return std::nullopt;
}

/// Without systemd: containerd first (detached, with the pid file dockyard
/// writes for it), then dockerd pointed at its socket.
core::Result<void> start_containerd(const InstanceEnv& env, const HostPaths& host) {
  if (running_pid(env, detail::Daemon::Containerd)) return {};
  const Layout l = layout_of(env);
  const auto cmd = containerd_command(env);
  auto pid = core::spawn_detached({.program = cmd.front(), .args = {cmd.begin() + 1, cmd.end()}, .env = daemon_environment(env)},
                                  l.log / "containerd.log");
  if (!pid) return std::move(pid).error().wrap("start containerd");
  BERTH_TRY(core::write_file_atomic(l.containerd_pidfile, fmt::format("{}\n", *pid)), "start containerd");
  BERTH_TRY(detail::wait_for_listener(l.containerd_socket, host.start_timeout, [&] { return core::process_alive(*pid); }),
            "start containerd");
  return {};
}

}  // namespace

core::Result<void> start(const InstanceRecord& r, const HostPaths& host, const Progress& progress) {
  const InstanceEnv& env = r.env;
  const std::string what = "start " + env.prefix;
  if (r.options.systemd) {
    if (progress) progress(fmt::format("{}: starting {}", env.prefix, env.unit()));
    // Enabled here, not at create: an instance created with --no-start stays
    // off, across reboots too, until it is started.
    if (!host.units->is_enabled(env.unit()) || !host.units->is_enabled(env.containerd_unit()))
      BERTH_TRY(host.units->enable({env.containerd_unit(), env.unit()}), what);
    if (auto started = host.units->start({env.unit(), env.containerd_unit()}); !started)
      return std::move(started).error().wrap(what);
    auto alive = [&] {
      auto s = host.units->active_state(env.unit());
      return s == "active" || s == "activating" || s == "reloading";
    };
    BERTH_TRY(detail::wait_for_socket(env, host, host.start_timeout, alive, progress), what);
    return {};
  }
  if (auto pid = running_pid(env)) {
    BERTH_TRY(detail::wait_for_socket(env, host, host.start_timeout, [&] { return core::process_alive(*pid); }, progress),
              what);
    return {};
  }
  if (r.options.sysbox) BERTH_TRY(detail::sysbox_acquire(env.prefix, host), what);
  if (progress) progress(fmt::format("{}: applying bridge and {} rules", env.prefix, firewall_name(r.options.firewall)));
  BERTH_TRY(detail::run_steps(start_steps(env, render_options(r, host))), what);
  BERTH_TRY(start_containerd(env, host), what);
  const auto cmd = daemon_command(env);
  auto pid = core::spawn_detached({.program = cmd.front(),
                                   .args = {cmd.begin() + 1, cmd.end()},
                                   .env = daemon_environment(env)},
                                  layout_of(env).log / "dockerd.log");
  if (!pid) return std::move(pid).error().wrap(what);
  BERTH_TRY(detail::wait_for_socket(env, host, host.start_timeout, [&] { return core::process_alive(*pid); }, progress),
            what);
  return {};
}

core::Result<void> stop(const InstanceRecord& r, const HostPaths& host, const Progress& progress) {
  const InstanceEnv& env = r.env;
  const std::string what = "stop " + env.prefix;
  if (progress) progress(fmt::format("{}: stopping dockerd", env.prefix));
  if (r.options.systemd) {
    BERTH_TRY(host.units->stop({env.unit(), env.containerd_unit()}), what);
    return {};
  }
  if (auto pid = running_pid(env)) BERTH_TRY(core::terminate_process(*pid, std::chrono::seconds(30)), what);
  if (auto pid = running_pid(env, detail::Daemon::Containerd))
    BERTH_TRY(core::terminate_process(*pid, std::chrono::seconds(30)), what);
  BERTH_TRY(detail::run_steps(stop_steps(env, render_options(r, host))), what);
  if (r.options.sysbox) BERTH_TRY(detail::sysbox_release(env.prefix, host), what);
  return {};
}

core::Result<InstanceStatus> status(const InstanceRecord& r, const HostPaths& host) {
  InstanceStatus s;
  s.pid = running_pid(r.env);
  if (r.options.systemd)
    s.state = host.units->active_state(r.env.unit());
  else
    s.state = s.pid ? "active" : "inactive";
  s.answers = host.docker(layout_of(r.env).socket)->ping(std::chrono::seconds(2));
  return s;
}

}  // namespace berth::instance
