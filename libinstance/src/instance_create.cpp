// SPDX-License-Identifier: Apache-2.0
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/accounts.hpp"
#include "berth/instance/binaries.hpp"
#include "berth/instance/gen_env.hpp"
#include "berth/instance/host_view.hpp"
#include "instance_internal.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace berth::instance {
namespace {

using core::Errc;

core::Result<void> make_dir(const std::filesystem::path& p, mode_t mode, gid_t gid = 0) {
  BERTH_TRY(core::make_directories(p, mode), "create " + p.string());
  // make_directories keeps an existing directory's mode; a re-run must still end up right.
  if (::chmod(p.c_str(), mode) != 0 || ::chown(p.c_str(), 0, gid) != 0)
    return core::errno_error(errno, "set owner of " + p.string());
  return {};
}

/// Lays out the instance and writes everything it runs from.
core::Result<void> lay_out(const InstanceEnv& env, const InstanceOptions& mode,
                           std::map<std::string, std::filesystem::path> binaries, const HostPaths& host) {
  if (mode.firewall == FirewallMode::Nftables) {
    auto fw = find_firewall_program(host.firewall_program);
    if (!fw) return std::move(fw).error();
    binaries["berth-firewall"] = *fw;
  }
  const Layout l = layout_of(env);
  auto gid = group_id(env.group());
  if (!gid) return core::make_error(Errc::not_found, "group " + env.group() + " vanished");
  // The root is root:<prefix>docker 0750: only the instance's group reaches docker.sock in it.
  BERTH_TRY(make_dir(l.root, 0750, *gid), "lay out");
  BERTH_TRY(make_dir(l.data_root, 0710), "lay out");
  for (const auto& d : {l.runtime, l.bin, l.etc, l.lib, l.log, l.run}) BERTH_TRY(make_dir(d, 0755), "lay out");
  BERTH_TRY(make_dir(l.lib / "docker", 0700), "lay out");
  BERTH_TRY(install_binaries(binaries, l.bin), "lay out");
  RenderOptions render = host.tools;
  render.firewall = mode.firewall;
  render.sysbox = mode.sysbox;
  BERTH_TRY(core::write_file_atomic(l.env_file, render_env(env), 0644), "lay out");
  BERTH_TRY(core::write_file_atomic(l.daemon_json, render_daemon_json(env, render), 0644), "lay out");
  BERTH_TRY(core::write_file_atomic(l.containerd_config, render_containerd_config(env), 0644), "lay out");
  if (mode.systemd) {
    bool changed = false;
    for (const auto& [name, text] : {std::pair{env.containerd_unit(), render_containerd_unit(env)},
                                     std::pair{env.unit(), render_unit(env, render)}}) {
      const auto path = host.units->unit_dir() / name;
      auto before = core::read_file(path);
      changed = changed || (before && *before != text);
      BERTH_TRY(core::write_file_atomic(path, text, 0644), "lay out");
    }
    // A reload costs systemd ~0.1 s and serialises concurrent creates. A new
    // unit needs none (systemd 252 loads a unit file it has not seen when it
    // is first started); only a changed one does.
    if (changed) BERTH_TRY(host.units->daemon_reload(), "lay out");
    // Enabled by start(): an instance created with --no-start stays off until then.
  }
  return {};
}

/// Refuses what can never work before anything on the host changes.
core::Result<std::map<std::string, std::filesystem::path>> preflight(const InstanceEnv& env,
                                                                     const CreateOptions& options,
                                                                     const InstanceOptions& mode,
                                                                     const HostPaths& host) {
  BERTH_TRY(validate(env), "");
  if (mode.systemd && !host.units->available())
    return core::make_error(Errc::invalid_argument, "systemd does not run this host (use --no-systemd)");
  if (mode.firewall == FirewallMode::Nftables) {
    if (auto found = find_firewall_program(host.firewall_program); !found)
      return std::move(found).error().wrap("firewall nftables");
  } else if (auto found = core::find_program(host.tools.iptables); !found) {
    return std::move(found).error().wrap("firewall iptables");
  }
  if (options.sysbox_dir)
    for (const char* name : {"sysbox-runc", "sysbox-mgr", "sysbox-fs"})
      if (::access((*options.sysbox_dir / name).c_str(), X_OK) != 0)
        return core::errno_error(errno, fmt::format("--sysbox-dir: {}", (*options.sysbox_dir / name).string()));
  return find_docker_binaries(options.binary_dirs.empty() ? default_binary_dirs() : options.binary_dirs);
}

}  // namespace

core::Result<void> create(const InstanceEnv& env, const CreateOptions& options, const HostPaths& host,
                          const Progress& progress) {
  const std::string what = "create " + env.prefix;
  InstanceOptions mode = options.mode;
  if (options.sysbox_dir) mode.sysbox = true;
  auto binaries = preflight(env, options, mode, host);
  if (!binaries) return std::move(binaries).error().wrap(what);

  bool fresh = false;
  {
    auto lock = host.inventory.lock();
    if (!lock) return std::move(lock).error().wrap(what);
    auto existing = host.inventory.load(env.prefix);
    if (!existing) return std::move(existing).error().wrap(what);
    if (*existing) {
      if ((*existing)->env != env)
        return core::make_error(Errc::conflict, fmt::format("{}: prefix {} belongs to the instance at {}", what,
                                                            env.prefix, (*existing)->env.root.string()));
      if ((*existing)->options != mode)
        return core::make_error(Errc::conflict,
                                fmt::format("{}: the instance exists with other options (systemd {}, firewall {}, "
                                            "sysbox {}); destroy it first",
                                            what, (*existing)->options.systemd, firewall_name((*existing)->options.firewall),
                                            (*existing)->options.sysbox));
    } else {
      const Layout l = layout_of(env);
      if (::access((l.bin / "dockerd").c_str(), F_OK) == 0 || ::access(l.env_file.c_str(), F_OK) == 0)
        return core::make_error(Errc::already_exists,
                                fmt::format("{}: {} already holds a dockyard instance", what, env.root.string()));
      auto view = read_host_view({.inventory_dir = host.inventory.dir(), .unit_dirs = {host.units->unit_dir()}});
      if (!view) return std::move(view).error().wrap(what);
      // The operator chose (or gen-env checked) Docker's pools; here only real collisions count.
      BERTH_TRY(check_collisions(env, *view, /*allow_docker_pools=*/true), what);
      // Recorded first: a concurrent create sees the claim, and destroy finds
      // the instance even if this one fails halfway.
      BERTH_TRY(host.inventory.save({env, mode}), what);
      fresh = true;
    }
  }

  auto build = [&]() -> core::Result<void> {
    if (progress) progress(fmt::format("{}: creating user and group {}", env.prefix, env.group()));
    BERTH_TRY(ensure_system_account(env.group()), "");
    if (progress) progress(fmt::format("{}: laying out {}", env.prefix, env.root.string()));
    BERTH_TRY(lay_out(env, mode, *binaries, host), "");
    if (options.sysbox_dir) BERTH_TRY(detail::install_sysbox(*options.sysbox_dir, env, mode.systemd, host), "sysbox");
    if (options.start) BERTH_TRY(start({env, mode}, host, progress), "");
    return {};
  };
  if (auto r = build(); !r) {
    if (fresh) (void)destroy(env, host, {});  // nothing half-created stays behind
    return std::move(r).error().wrap(what);
  }
  return {};
}

}  // namespace berth::instance
