// SPDX-License-Identifier: Apache-2.0
#include "berth/core/detach.hpp"
#include "berth/core/error_list.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/accounts.hpp"
#include "berth/net/firewall/firewall.hpp"
#include "berth/net/link/links.hpp"
#include "instance_internal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <fstream>
#include <sstream>

#include <sys/mount.h>
#include <unistd.h>

namespace berth::instance {
namespace {

bool under(const std::string& path, const std::filesystem::path& dir) {
  const std::string d = dir.string();
  return path == d || (path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/');
}

/// Processes the instance left behind: its own binaries (dockerd, containerd,
/// shims) and anything still in its unit's cgroup.
void kill_leftovers(const InstanceEnv& env) {
  const Layout l = layout_of(env);
  const std::array<std::string, 2> cgroups{"/" + env.unit(), "/" + env.containerd_unit()};
  for (int round = 0; round < 2; ++round) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      const pid_t pid = std::stoi(name);
      if (pid == ::getpid()) continue;
      std::error_code e2;
      const auto exe = std::filesystem::read_symlink(entry.path() / "exe", e2).string();
      bool ours = !e2 && under(exe, l.bin);
      if (!ours) {
        std::ifstream cg(entry.path() / "cgroup");
        std::string line;
        while (!ours && std::getline(cg, line))
          for (const auto& tail : cgroups)
            ours = ours || line.ends_with(tail) || line.find(tail + "/") != std::string::npos;
      }
      if (ours) ::kill(pid, round == 0 ? SIGTERM : SIGKILL);
    }
    if (round == 0) ::usleep(500 * 1000);
  }
}

/// Mounts dockerd left under the instance's directories (overlay layers,
/// netns files, shm), deepest first, detached so a busy one cannot block.
void unmount_under(const std::vector<std::filesystem::path>& dirs) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> points;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    for (const auto& d : dirs)
      if (under(point, d)) points.push_back(point);
  }
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& p : points) ::umount2(p.c_str(), MNT_DETACH);
}

core::Result<void> remove_tree(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  if (ec) return core::make_error(ec, "remove " + p.string());
  return {};
}

}  // namespace

core::Result<void> destroy(const InstanceEnv& env, const HostPaths& host, const Progress& progress) {
  const std::string what = "destroy " + env.prefix;
  BERTH_TRY(validate(env), what);
  auto lock = host.inventory.lock();
  if (!lock) return std::move(lock).error().wrap(what);
  auto record = host.inventory.load(env.prefix);
  if (!record) return std::move(record).error().wrap(what);
  if (*record && (*record)->env.root != env.root)
    return core::make_error(core::Errc::conflict, fmt::format("{}: prefix {} belongs to the instance at {}", what,
                                                              env.prefix, (*record)->env.root.string()));
  const Layout l = layout_of(env);
  const auto unit = detail::unit_path(env, host);
  const auto containerd_unit = host.units->unit_dir() / env.containerd_unit();
  const bool has_unit = std::filesystem::exists(unit) || std::filesystem::exists(containerd_unit);
  const bool units_here = has_unit && host.units->available();
  // Every step runs, whatever failed before it, and every failure is
  // reported; the inventory entry goes last and only when all went well,
  // so that destroy can be run again to finish the job.
  core::ErrorList errors;

  // Containers first, through the API while dockerd still runs: they are
  // stopped and their mounts and network namespaces released properly.
  if (auto engine = host.docker(l.socket); engine->ping(std::chrono::seconds(2))) {
    if (auto ids = engine->list_containers()) {
      if (progress && !ids->empty())
        progress(fmt::format("{}: removing {} container(s)", env.prefix, ids->size()));
      for (const auto& id : *ids) (void)engine->remove_container(id);  // leftovers are killed below
    }
  }
  if (progress) progress(fmt::format("{}: stopping dockerd", env.prefix));
  if (units_here)  // one by one: either may be gone already
    for (const auto& u : {env.unit(), env.containerd_unit()}) (void)host.units->disable({u}, true);
  for (auto which : {detail::Daemon::Dockerd, detail::Daemon::Containerd})
    if (auto pid = detail::daemon_pid(env, which))
      errors.add_if(core::terminate_process(*pid, std::chrono::seconds(30)));
  kill_leftovers(env);

  // Both firewall kinds, in case the record is gone: the instance's table
  // (a missing one is fine) and its iptables rules (each -D may fail harmlessly).
  if (auto fw = net::make_nft_firewall({.table = env.table()}))
    errors.add_if((*fw)->remove());
  else
    errors.add(std::move(fw).error());
  RenderOptions o = host.tools;
  o.firewall = FirewallMode::Iptables;
  if (core::find_program(o.iptables)) (void)detail::run_steps(stop_steps(env, o));
  if (auto links = net::Links::open())
    errors.add_if(links->remove_if_present(env.bridge()));
  else
    errors.add(std::move(links).error());

  if (has_unit) {
    for (const auto& u : {unit, containerd_unit}) {
      std::error_code ec;
      std::filesystem::remove(u, ec);
      if (ec) errors.add(core::make_error(ec, "remove " + u.string()));
    }
    if (units_here) {
      (void)host.units->daemon_reload();
      (void)host.units->reset_failed({env.unit(), env.containerd_unit()});
    }
  }
  if (*record && (*record)->options.sysbox && !(*record)->options.systemd)
    errors.add_if(detail::sysbox_release(env.prefix, host));

  if (progress) progress(fmt::format("{}: removing {}", env.prefix, env.root.string()));
  unmount_under({l.root, env.exec_root()});
  // Only the layout's own entries: a root such as /srv may hold other things.
  for (const auto& p : {l.socket, l.data_root, l.runtime, l.root / "sysbox", env.exec_root()})
    errors.add_if(remove_tree(p));
  std::error_code ec;
  std::filesystem::remove(l.root, ec);  // only if empty now; otherwise it was not ours alone

  errors.add_if(remove_system_account(env.group()));
  if (!errors.empty()) return errors.result(what);
  BERTH_TRY(host.inventory.remove(env.prefix), what);
  BERTH_TRY(detail::remove_sysbox_if_unused(host), what);
  return {};
}

}  // namespace berth::instance
