// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/render.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace berth::instance {
namespace {

namespace json = boost::json;

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

Layout layout_of(const InstanceEnv& e) {
  Layout l;
  l.root = e.root;
  l.socket = e.root / "docker.sock";
  l.data_root = e.root / "docker";
  l.runtime = e.root / "docker-runtime";
  l.bin = l.runtime / "bin";
  l.etc = l.runtime / "etc";
  l.lib = l.runtime / "lib";
  l.log = l.runtime / "log";
  l.run = l.runtime / "run";
  l.daemon_json = l.etc / "daemon.json";
  l.env_file = l.etc / "dockyard.env";
  l.firewall = l.bin / "berth-firewall";
  l.pidfile = l.run / "dockerd.pid";
  l.containerd_config = l.etc / "containerd.toml";
  l.containerd_pidfile = l.run / "containerd.pid";
  l.containerd_root = l.data_root / "containerd";
  l.containerd_state = e.exec_root() / "containerd";
  l.containerd_socket = l.containerd_state / "containerd.sock";
  return l;
}

std::string render_daemon_json(const InstanceEnv& e, const RenderOptions& o) {
  const Layout l = layout_of(e);
  json::object d{
      {"bridge", e.bridge()},
      {"fixed-cidr", e.fixed_cidr.to_string()},
      {"default-address-pools",
       json::array{json::object{{"base", e.pool_base.to_string()}, {"size", e.pool_size}}}},
      {"iptables", false},
      {"ip6tables", false},
      {"ip-forward", true},
      {"exec-root", e.exec_root().string()},
      {"data-root", l.data_root.string()},
      {"pidfile", l.pidfile.string()},
      {"hosts", json::array{"unix://" + l.socket.string()}},
      {"group", e.group()},
      {"containerd", l.containerd_socket.string()},
  };
  if (o.sysbox)
    d["runtimes"] = json::object{{"sysbox-runc", json::object{{"path", (l.bin / "sysbox-runc").string()}}}};
  return json::serialize(d) + "\n";
}

net::FirewallZone firewall_zone(const InstanceEnv& e) {
  return {e.prefix, {e.bridge_cidr.subnet(), e.pool_base}, {e.fixed_cidr, e.pool_base}};
}

std::vector<IptablesRule> iptables_rules(const InstanceEnv& e) {
  const std::string br = e.bridge();
  return {
      {"mangle", "FORWARD", {"-o", br, "!", "-i", br, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"}},
      {"filter", "FORWARD", {"-i", br, "-o", br, "-j", "ACCEPT"}},
      {"filter", "FORWARD", {"-i", br, "!", "-o", br, "-j", "ACCEPT"}},
      {"filter", "FORWARD", {"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
      {"nat", "POSTROUTING", {"-s", e.fixed_cidr.to_string(), "!", "-o", br, "-j", "MASQUERADE"}},
  };
}

namespace {

std::vector<std::string> iptables_argv(const RenderOptions& o, const IptablesRule& r, const char* verb) {
  std::vector<std::string> argv{o.iptables.string(), "-w"};
  if (r.table != "filter") argv.insert(argv.end(), {"-t", r.table});
  argv.insert(argv.end(), {verb, r.chain});
  argv.insert(argv.end(), r.spec.begin(), r.spec.end());
  return argv;
}

}  // namespace

std::vector<Step> start_steps(const InstanceEnv& e, const RenderOptions& o) {
  const Layout l = layout_of(e);
  const std::string ip = o.ip.string(), br = e.bridge();
  std::vector<Step> steps{
      {.argv = {"/bin/mkdir", "-p", e.exec_root().string(), l.run.string(), l.log.string()}},
      {.argv = {ip, "link", "add", br, "type", "bridge"}, .unless = {ip, "link", "show", "dev", br}},
      {.argv = {ip, "address", "replace", e.bridge_cidr.to_string(), "dev", br}},
      {.argv = {ip, "link", "set", br, "up"}},
  };
  if (o.firewall == FirewallMode::Nftables) {
    std::vector<std::string> argv{l.firewall.string(), "--table", e.table(), "zone", e.prefix};
    const auto zone = firewall_zone(e);
    for (const auto& s : zone.subnets) argv.insert(argv.end(), {"--subnet", s.to_string()});
    for (const auto& s : zone.masquerade) argv.insert(argv.end(), {"--masquerade", s.to_string()});
    steps.push_back({.argv = std::move(argv)});
  } else {
    for (const auto& r : iptables_rules(e))
      steps.push_back({.argv = iptables_argv(o, r, "-I"), .unless = iptables_argv(o, r, "-C")});
  }
  return steps;
}

std::vector<Step> stop_steps(const InstanceEnv& e, const RenderOptions& o) {
  std::vector<Step> steps;
  if (o.firewall == FirewallMode::Nftables) {
    steps.push_back({.argv = {layout_of(e).firewall.string(), "--table", e.table(), "remove"}, .may_fail = true});
  } else {
    for (const auto& r : iptables_rules(e)) steps.push_back({.argv = iptables_argv(o, r, "-D"), .may_fail = true});
  }
  return steps;
}

std::vector<std::string> daemon_environment(const InstanceEnv& e) {
  const Layout l = layout_of(e);
  return {"PATH=" + l.bin.string() + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "DOCKER_CONFIG=" + (l.lib / "docker").string()};
}

std::string render_containerd_config(const InstanceEnv& e) {
  const Layout l = layout_of(e);
  return fmt::format(
      "# dockyard instance {prefix}: the containerd of its dockerd, and of nothing else.\n"
      "version = 2\n"
      "root = \"{root}\"\n"
      "state = \"{state}\"\n"
      "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
      "oom_score = -500\n"
      "\n"
      "[grpc]\n"
      "  address = \"{socket}\"\n"
      "\n"
      "[ttrpc]\n"
      "  address = \"{socket}.ttrpc\"\n"
      "\n"
      "[plugins.\"io.containerd.internal.v1.opt\"]\n"
      "  path = \"{root}/opt\"\n",
      fmt::arg("prefix", e.prefix), fmt::arg("root", l.containerd_root.string()),
      fmt::arg("state", l.containerd_state.string()), fmt::arg("socket", l.containerd_socket.string()));
}

std::vector<std::string> containerd_command(const InstanceEnv& e) {
  const Layout l = layout_of(e);
  return {(l.bin / "containerd").string(), "--config", l.containerd_config.string()};
}

std::vector<std::string> daemon_command(const InstanceEnv& e) {
  const Layout l = layout_of(e);
  return {(l.bin / "dockerd").string(), "--config-file", l.daemon_json.string()};
}

namespace {

/// One ExecStartPre/ExecStopPost line. systemd runs argv without a shell, so
/// only the "unless" form needs /bin/sh, and its words are plain (validated
/// prefix, paths and CIDRs): nothing to quote.
std::string exec_line(const char* key, const Step& s) {
  std::string cmd = s.unless.empty() ? join(s.argv) : fmt::format("/bin/sh -c '{} || {}'", join(s.unless), join(s.argv));
  return fmt::format("{}={}{}\n", key, s.may_fail ? "-" : "", cmd);
}

std::string environment_lines(const InstanceEnv& e) {
  std::string env;
  for (const auto& v : daemon_environment(e)) env += "Environment=" + v + "\n";
  return env;
}

}  // namespace

std::string render_unit(const InstanceEnv& e, const RenderOptions& o) {
  const Layout l = layout_of(e);
  std::string pre, post;
  for (const auto& s : start_steps(e, o)) pre += exec_line("ExecStartPre", s);
  for (const auto& s : stop_steps(e, o)) post += exec_line("ExecStopPost", s);
  const std::string env = environment_lines(e);
  return fmt::format(
      "# dockyard instance {prefix}: dockerd with its own containerd ({containerd_unit}), bridge, firewall and socket.\n"
      "[Unit]\n"
      "Description=dockyard instance {prefix} (dockerd on {socket})\n"
      "After=network-online.target {containerd_unit}{sysbox_after}\n"
      "Wants=network-online.target\n"
      "Requires={containerd_unit}\n"
      "{sysbox_requires}"
      "\n"
      "[Service]\n"
      "Type=notify\n"
      "{env}"
      "{pre}"
      "ExecStart={start}\n"
      "ExecReload=/bin/kill -s HUP $MAINPID\n"
      "{post}"
      "Restart=on-failure\n"
      "RestartSec=2\n"
      "TimeoutStartSec=120\n"
      "Delegate=yes\n"
      "KillMode=process\n"
      "OOMScoreAdjust=-500\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n",
      fmt::arg("prefix", e.prefix), fmt::arg("socket", l.socket.string()),
      fmt::arg("containerd_unit", e.containerd_unit()), fmt::arg("sysbox_after", o.sysbox ? " dockyard-sysbox.service" : ""),
      fmt::arg("sysbox_requires", o.sysbox ? "Requires=dockyard-sysbox.service\n" : ""), fmt::arg("env", env),
      fmt::arg("pre", pre), fmt::arg("start", join(daemon_command(e))), fmt::arg("post", post));
}

std::string render_containerd_unit(const InstanceEnv& e) {
  const Layout l = layout_of(e);
  const std::string env = environment_lines(e);
  return fmt::format(
      "# dockyard instance {prefix}: the containerd of its dockerd ({docker_unit}).\n"
      "[Unit]\n"
      "Description=containerd of dockyard instance {prefix}\n"
      "After=local-fs.target\n"
      "\n"
      "[Service]\n"
      "Type=notify\n"
      "{env}"
      "ExecStartPre=/bin/mkdir -p {state}\n"
      "ExecStart={start}\n"
      "Restart=always\n"
      "RestartSec=2\n"
      "Delegate=yes\n"
      "KillMode=process\n"
      "LimitNOFILE=infinity\n"
      "OOMScoreAdjust=-500\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n",
      fmt::arg("prefix", e.prefix), fmt::arg("docker_unit", e.unit()), fmt::arg("env", env),
      fmt::arg("state", l.containerd_state.string()), fmt::arg("start", join(containerd_command(e))));
}

std::string render_sysbox_unit(const SysboxPaths& p) {
  const std::string bin = p.bin_dir.string(), log = p.log_dir.string();
  return fmt::format(
      "# sysbox-mgr and sysbox-fs for every dockyard instance (their sockets are fixed: one pair per host).\n"
      "[Unit]\n"
      "Description=sysbox for dockyard instances (shared)\n"
      "StopWhenUnneeded=yes\n"
      "\n"
      "[Service]\n"
      "Type=simple\n"
      "ExecStartPre=/bin/mkdir -p {state} {log}\n"
      "ExecStart=/bin/sh -c '{bin}/sysbox-mgr >>{log}/sysbox-mgr.log 2>&1 & exec {bin}/sysbox-fs >>{log}/sysbox-fs.log 2>&1'\n"
      "KillMode=control-group\n"
      "Restart=on-failure\n"
      "RestartSec=2\n",
      fmt::arg("state", p.state_dir.string()), fmt::arg("log", log), fmt::arg("bin", bin));
}

}  // namespace berth::instance
