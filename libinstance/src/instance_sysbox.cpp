// SPDX-License-Identifier: Apache-2.0
// sysbox-mgr and sysbox-fs have fixed socket paths, so one pair serves every
// instance. Under systemd the shared unit is Required= by each instance and
// StopWhenUnneeded; without systemd an flock-protected file lists the
// instances using it, and the first starts the pair, the last stops it.
#include "berth/core/detach.hpp"
#include "berth/core/fs.hpp"
#include "berth/instance/binaries.hpp"
#include "instance_internal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace berth::instance::detail {
namespace {

std::filesystem::path refcount_file(const HostPaths& host) { return host.refcount_dir / "dockyard-refcount"; }
std::filesystem::path pid_file(const HostPaths& host, const std::string& daemon) {
  return host.refcount_dir / ("dockyard-" + daemon + ".pid");
}

core::Result<std::set<std::string>> read_users(const HostPaths& host) {
  std::set<std::string> users;
  auto text = core::read_file(refcount_file(host));
  if (!text) {
    if (text.error().code == std::errc::no_such_file_or_directory) return users;
    return std::move(text).error();
  }
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line))
    if (validate_prefix(line)) users.insert(line);
  return users;
}

core::Result<void> write_users(const HostPaths& host, const std::set<std::string>& users) {
  std::string text;
  for (const auto& u : users) text += u + "\n";
  return core::write_file_atomic(refcount_file(host), text);
}

}  // namespace

core::Result<void> install_sysbox(const std::filesystem::path& source_dir, const InstanceEnv& env, bool systemd,
                                  const HostPaths& host) {
  BERTH_TRY(install_binaries({{"sysbox-runc", source_dir / "sysbox-runc"}}, layout_of(env).bin), "");
  BERTH_TRY(core::make_directories(host.sysbox.bin_dir), "");
  BERTH_TRY(install_binaries({{"sysbox-mgr", source_dir / "sysbox-mgr"}, {"sysbox-fs", source_dir / "sysbox-fs"}},
                             host.sysbox.bin_dir),
            "");
  if (systemd) {
    BERTH_TRY(core::write_file_atomic(host.sysbox.unit, render_sysbox_unit(host.sysbox)), "");
    BERTH_TRY(host.units->daemon_reload(), "");
  }
  return {};
}

core::Result<void> sysbox_acquire(const std::string& prefix, const HostPaths& host) {
  BERTH_TRY(core::make_directories(host.refcount_dir), "sysbox");
  auto lock = core::FileLock::acquire(host.refcount_dir / "dockyard-refcount.lock");
  if (!lock) return std::move(lock).error().wrap("sysbox");
  auto users = read_users(host);
  if (!users) return std::move(users).error().wrap("sysbox");
  for (const char* daemon : {"sysbox-mgr", "sysbox-fs"}) {
    auto pid = read_pidfile(pid_file(host, daemon));
    if (pid && core::process_alive(*pid)) continue;
    BERTH_TRY(core::make_directories(host.sysbox.log_dir), "sysbox");
    BERTH_TRY(core::make_directories(host.sysbox.state_dir), "sysbox");
    auto started = core::spawn_detached({.program = host.sysbox.bin_dir / daemon},
                                        host.sysbox.log_dir / (std::string(daemon) + ".log"));
    if (!started) return std::move(started).error().wrap("sysbox");
    BERTH_TRY(core::write_file_atomic(pid_file(host, daemon), fmt::format("{}\n", *started)), "sysbox");
  }
  users->insert(prefix);
  BERTH_TRY(write_users(host, *users), "sysbox");
  return {};
}

core::Result<void> sysbox_release(const std::string& prefix, const HostPaths& host) {
  if (!std::filesystem::exists(host.refcount_dir)) return {};
  auto lock = core::FileLock::acquire(host.refcount_dir / "dockyard-refcount.lock");
  if (!lock) return std::move(lock).error().wrap("sysbox");
  auto users = read_users(host);
  if (!users) return std::move(users).error().wrap("sysbox");
  users->erase(prefix);
  BERTH_TRY(write_users(host, *users), "sysbox");
  if (!users->empty()) return {};
  for (const char* daemon : {"sysbox-fs", "sysbox-mgr"}) {
    if (auto pid = read_pidfile(pid_file(host, daemon)))
      BERTH_TRY(core::terminate_process(*pid, std::chrono::seconds(10)), "sysbox");
    std::error_code ec;
    std::filesystem::remove(pid_file(host, daemon), ec);
  }
  return {};
}

core::Result<void> remove_sysbox_if_unused(const HostPaths& host) {
  auto all = host.inventory.list();
  if (!all) return std::move(all).error();
  if (std::any_of(all->begin(), all->end(), [](const auto& r) { return r.options.sysbox; })) return {};
  std::error_code ec;
  if (std::filesystem::exists(host.sysbox.unit, ec)) {
    if (host.units->available()) (void)host.units->stop({host.sysbox.unit.filename().string()});
    std::filesystem::remove(host.sysbox.unit, ec);
    if (host.units->available()) (void)host.units->daemon_reload();
  }
  for (const auto& d : {host.sysbox.bin_dir, host.sysbox.state_dir, host.sysbox.log_dir}) {
    std::filesystem::remove_all(d, ec);
    if (ec) return core::make_error(ec, "remove " + d.string());
  }
  if (auto users = read_users(host); users && users->empty()) {
    std::filesystem::remove(host.refcount_dir / "dockyard-refcount", ec);
    std::filesystem::remove(host.refcount_dir / "dockyard-refcount.lock", ec);
    std::filesystem::remove(host.refcount_dir, ec);  // only when empty
  }
  return {};
}

}  // namespace berth::instance::detail
