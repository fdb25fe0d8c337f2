// SPDX-License-Identifier: Apache-2.0
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/instance/accounts.hpp"
#include "berth/instance/binaries.hpp"
#include "instance_internal.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include <sys/stat.h>
#include <unistd.h>

namespace berth::instance {
namespace {

bool succeeds(std::vector<std::string> argv) {
  auto r = core::run({.program = argv.front(), .args = {argv.begin() + 1, argv.end()}, .timeout = std::chrono::seconds(30)});
  return r && r->success();
}

std::string output_of(std::vector<std::string> argv) {
  auto r = core::run({.program = argv.front(), .args = {argv.begin() + 1, argv.end()}, .timeout = std::chrono::seconds(30)});
  return r && r->success() ? r->out : std::string{};
}

void expect_file(std::vector<std::string>& problems, const std::filesystem::path& p, const std::string& want) {
  auto have = core::read_file(p);
  if (!have)
    problems.push_back(fmt::format("{} is missing", p.string()));
  else if (*have != want)
    problems.push_back(fmt::format("{} differs from what dockyard writes", p.string()));
}

void expect_owner(std::vector<std::string>& problems, const std::filesystem::path& p, mode_t mode, gid_t gid,
                  const std::string& group) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    problems.push_back(fmt::format("{} is missing", p.string()));
    return;
  }
  if ((st.st_mode & 07777) != mode || st.st_uid != 0 || st.st_gid != gid)
    problems.push_back(fmt::format("{} is not root:{} {:04o}", p.string(), group, mode));
}

}  // namespace

core::Result<std::vector<std::string>> verify(const InstanceRecord& r, const HostPaths& host) {
  const InstanceEnv& env = r.env;
  const Layout l = layout_of(env);
  RenderOptions render = host.tools;
  render.firewall = r.options.firewall;
  render.sysbox = r.options.sysbox;
  std::vector<std::string> problems;

  expect_file(problems, l.env_file, render_env(env));
  expect_file(problems, l.daemon_json, render_daemon_json(env, render));
  if (r.options.firewall == FirewallMode::Nftables && ::access(l.firewall.c_str(), X_OK) != 0)
    problems.push_back(fmt::format("{} is missing", l.firewall.string()));
  expect_file(problems, l.containerd_config, render_containerd_config(env));
  for (const auto& name : docker_binary_names())
    if (::access((l.bin / name).c_str(), X_OK) != 0) problems.push_back(fmt::format("{} is missing", (l.bin / name).string()));

  const auto gid = group_id(env.group());
  if (!gid) problems.push_back(fmt::format("group {} is missing", env.group()));
  if (!user_exists(env.group())) problems.push_back(fmt::format("user {} is missing", env.group()));
  if (gid) expect_owner(problems, l.root, 0750, *gid, env.group());

  auto st = status(r, host);
  if (!st) return std::move(st).error().wrap("verify " + env.prefix);
  const bool running = st->state == "active";
  if (r.options.systemd) {
    expect_file(problems, detail::unit_path(env, host), render_unit(env, render));
    expect_file(problems, host.units->unit_dir() / env.containerd_unit(), render_containerd_unit(env));
    for (const auto& u : {env.unit(), env.containerd_unit()})
      if (!host.units->is_enabled(u)) problems.push_back(fmt::format("{} is not enabled", u));
  }
  if (!running) {
    problems.push_back(fmt::format("dockerd is not running ({})", st->state));
    return problems;
  }
  if (r.options.systemd ? host.units->active_state(env.containerd_unit()) != "active"
                        : !detail::daemon_pid(env, detail::Daemon::Containerd))
    problems.push_back("the instance's containerd is not running");
  const std::string ip = host.tools.ip.string();
  if (output_of({ip, "-o", "-4", "address", "show", "dev", env.bridge()}).find(env.bridge_cidr.to_string()) ==
      std::string::npos)
    problems.push_back(fmt::format("bridge {} is missing or lacks {}", env.bridge(), env.bridge_cidr.to_string()));
  if (r.options.firewall == FirewallMode::Nftables) {
    auto fw = net::make_nft_firewall({.table = env.table()});
    if (!fw) return std::move(fw).error().wrap("verify " + env.prefix);
    (*fw)->adopt({.zones = {firewall_zone(env)}});
    auto diffs = (*fw)->verify();
    if (!diffs) return std::move(diffs).error().wrap("verify " + env.prefix);
    for (const auto& d : *diffs) problems.push_back(fmt::format("firewall: {}", d));
  } else {
    for (const auto& rule : iptables_rules(env)) {
      std::vector<std::string> argv{host.tools.iptables.string(), "-w", "-t", rule.table, "-C", rule.chain};
      argv.insert(argv.end(), rule.spec.begin(), rule.spec.end());
      if (!succeeds(argv))
        problems.push_back(fmt::format("iptables rule missing: -t {} {} {}", rule.table, rule.chain,
                                       fmt::join(rule.spec, " ")));
    }
  }
  if (gid) expect_owner(problems, l.socket, 0660, *gid, env.group());
  if (!st->answers) problems.push_back(fmt::format("{} does not answer", l.socket.string()));
  return problems;
}

}  // namespace berth::instance
