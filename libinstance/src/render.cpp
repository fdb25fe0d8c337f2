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
  l.firewall_file = l.etc / "firewall.nft";
  l.pidfile = l.run / "dockerd.pid";
  // dockerd starts its own containerd with the socket under its exec root,
  // so every instance gets a containerd of its own at this path.
  l.containerd_socket = e.exec_root() / "containerd" / "containerd.sock";
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
  };
  if (o.sysbox)
    d["runtimes"] = json::object{{"sysbox-runc", json::object{{"path", (l.bin / "sysbox-runc").string()}}}};
  return json::serialize(d) + "\n";
}

std::string render_nft_ruleset(const InstanceEnv& e) {
  const std::string ours = fmt::format("{{ {}, {} }}", e.bridge_cidr.subnet().to_string(), e.pool_base.to_string());
  const std::string masq = fmt::format("{{ {}, {} }}", e.fixed_cidr.to_string(), e.pool_base.to_string());
  // "table; delete table; table {...}" in one file: nft applies a file as one
  // transaction, so the table is replaced atomically whether or not it exists.
  return fmt::format(
      "# dockyard instance {0}: applied by ExecStartPre, removed by ExecStopPost\n"
      "table inet {1}\n"
      "delete table inet {1}\n"
      "table inet {1} {{\n"
      "\tchain forward {{\n"
      "\t\ttype filter hook forward priority filter; policy accept;\n"
      "\t\tct state established,related ip daddr {2} accept\n"
      "\t\tip saddr {2} ip daddr {2} accept\n"
      "\t\tip daddr {2} drop\n"
      "\t}}\n"
      "\tchain postrouting {{\n"
      "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
      "\t\tip saddr {3} ip daddr != {2} masquerade\n"
      "\t}}\n"
      "}}\n",
      e.prefix, e.table(), ours, masq);
}

std::vector<std::vector<std::string>> iptables_rules(const InstanceEnv& e) {
  const std::string br = e.bridge();
  return {
      {"FORWARD", "-i", br, "-o", br, "-j", "ACCEPT"},
      {"FORWARD", "-i", br, "!", "-o", br, "-j", "ACCEPT"},
      {"FORWARD", "-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
      {"-t", "nat", "POSTROUTING", "-s", e.fixed_cidr.to_string(), "!", "-o", br, "-j", "MASQUERADE"},
  };
}

std::string render_unit(const InstanceEnv& e, const RenderOptions& o) {
  const Layout l = layout_of(e);
  std::string firewall_up, firewall_down;
  if (o.firewall == FirewallMode::Nftables) {
    firewall_up = fmt::format("ExecStartPre={} -f {}\n", o.nft.string(), l.firewall_file.string());
    firewall_down = fmt::format("ExecStopPost=-{} delete table inet {}\n", o.nft.string(), e.table());
  } else {
    // -C before -I: a restart never inserts a rule twice.
    for (auto rule : iptables_rules(e)) {
      std::vector<std::string> table;
      if (rule.front() == "-t") {
        table = {rule[0], rule[1]};
        rule.erase(rule.begin(), rule.begin() + 2);
      }
      const std::string chain = rule.front();
      const std::string rest = join(std::vector<std::string>(rule.begin() + 1, rule.end()));
      const std::string t = table.empty() ? "" : join(table) + " ";
      const std::string ipt = o.iptables.string();
      firewall_up += fmt::format("ExecStartPre=/bin/sh -c '{0} {1}-C {2} {3} || {0} {1}-I {2} {3}'\n", ipt, t, chain, rest);
      firewall_down += fmt::format("ExecStopPost=-{} {}-D {} {}\n", ipt, t, chain, rest);
    }
  }
  const std::string ip = o.ip.string();
  return fmt::format(
      "# dockyard instance {prefix}: dockerd with its own containerd, bridge, firewall and socket.\n"
      "[Unit]\n"
      "Description=dockyard instance {prefix} (dockerd on {socket})\n"
      "After=network-online.target{sysbox_after}\n"
      "Wants=network-online.target\n"
      "{sysbox_requires}"
      "\n"
      "[Service]\n"
      "Type=notify\n"
      "Environment=PATH={bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
      "Environment=DOCKER_CONFIG={lib}/docker\n"
      "ExecStartPre=/bin/mkdir -p {exec_root} {run} {log}\n"
      "ExecStartPre=-{ip} link add {bridge} type bridge\n"
      "ExecStartPre={ip} address replace {bridge_cidr} dev {bridge}\n"
      "ExecStartPre={ip} link set {bridge} up\n"
      "{firewall_up}"
      "ExecStart={bin}/dockerd --config-file {daemon_json}\n"
      "ExecReload=/bin/kill -s HUP $MAINPID\n"
      "{firewall_down}"
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
      fmt::arg("sysbox_after", o.sysbox ? " dockyard-sysbox.service" : ""),
      fmt::arg("sysbox_requires", o.sysbox ? "Requires=dockyard-sysbox.service\n" : ""), fmt::arg("bin", l.bin.string()),
      fmt::arg("lib", l.lib.string()), fmt::arg("exec_root", e.exec_root().string()), fmt::arg("run", l.run.string()),
      fmt::arg("log", l.log.string()), fmt::arg("ip", ip), fmt::arg("bridge", e.bridge()),
      fmt::arg("bridge_cidr", e.bridge_cidr.to_string()), fmt::arg("firewall_up", firewall_up),
      fmt::arg("daemon_json", l.daemon_json.string()), fmt::arg("firewall_down", firewall_down));
}

}  // namespace berth::instance
