// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/instance/env.hpp"
#include "berth/net/firewall/firewall.hpp"

#include <filesystem>
#include <string>
#include <vector>

/// What `dockyard create` writes for an instance: daemon.json, the firewall
/// (an nftables table of its own, or the original's iptables rules), and a
/// self-contained systemd unit (every path expanded; nothing refers to
/// dockyard or its env file at run time).
namespace berth::instance {

enum class FirewallMode { Nftables, Iptables };

struct RenderOptions {
  FirewallMode firewall = FirewallMode::Nftables;
  bool sysbox = false;  ///< register sysbox-runc and require dockyard-sysbox.service
  std::filesystem::path iptables = "/usr/sbin/iptables";
  std::filesystem::path ip = "/usr/sbin/ip";
};

/// Paths of an instance's layout.
struct Layout {
  std::filesystem::path root, socket, data_root, runtime, bin, etc, lib, log, run;
  std::filesystem::path daemon_json, env_file, pidfile;
  std::filesystem::path firewall;  ///< the instance's copy of berth-firewall
  std::filesystem::path containerd_config, containerd_pidfile, containerd_root, containerd_state, containerd_socket;
};
[[nodiscard]] Layout layout_of(const InstanceEnv& env);

/// dockerd's configuration: iptables off, the instance's bridge, fixed CIDR,
/// address pools, exec root, data root, pidfile, socket, group, and the
/// instance's own containerd socket.
[[nodiscard]] std::string render_daemon_json(const InstanceEnv& env, const RenderOptions& options);

/// The instance's address zone in its own nftables table (`inet <prefix>docker`,
/// through libnet's Firewall): the bridge's subnet and the pool; traffic into
/// them only from the instance itself or as replies (so nothing new comes in
/// from anywhere else, other instances included); masquerade of the fixed
/// CIDR and the pool when leaving the instance.
[[nodiscard]] net::FirewallZone firewall_zone(const InstanceEnv& env);

/// One iptables rule: its table ("filter" or another) and chain, and the
/// match and target after the -I/-C/-D verb.
struct IptablesRule {
  std::string table;
  std::string chain;
  std::vector<std::string> spec;
};
/// The original dockyard's four rules, scoped to the bridge name, and a fifth
/// that isolates instances from each other whatever the FORWARD policy and
/// the order other instances inserted their rules in: the mangle table runs
/// before every filter rule, and drops new connections into this bridge
/// from anywhere else. In insertion order (each -I goes to the top, so the
/// drop, inserted first, ends up below this instance's accepts).
[[nodiscard]] std::vector<IptablesRule> iptables_rules(const InstanceEnv& env);

/// A command the instance runs before dockerd starts or after it stopped:
/// by systemd (ExecStartPre / ExecStopPost) or, without systemd, by dockyard
/// itself, so both paths apply exactly the same things.
struct Step {
  std::vector<std::string> argv;
  /// Skip the step when this command succeeds (iptables -C before -I).
  std::vector<std::string> unless;
  /// A failure is not an error (the bridge may exist; the rule may be gone).
  bool may_fail = false;
};
/// Runtime directories, the bridge and its address, the firewall.
[[nodiscard]] std::vector<Step> start_steps(const InstanceEnv& env, const RenderOptions& options);
/// Removes the firewall (the bridge stays, as docker0 does).
[[nodiscard]] std::vector<Step> stop_steps(const InstanceEnv& env, const RenderOptions& options);
/// The environment dockerd runs with: PATH starts with the instance's own
/// bin directory, so dockerd finds its own containerd, runc, docker-init and
/// docker-proxy; DOCKER_CONFIG points into the instance.
[[nodiscard]] std::vector<std::string> daemon_environment(const InstanceEnv& env);
/// dockerd's command line.
[[nodiscard]] std::vector<std::string> daemon_command(const InstanceEnv& env);

/// The instance's containerd: its content store under the data root, its
/// state and socket under the exec root; the CRI plugin off (dockerd is its
/// only client).
[[nodiscard]] std::string render_containerd_config(const InstanceEnv& env);
/// containerd's command line.
[[nodiscard]] std::vector<std::string> containerd_command(const InstanceEnv& env);
/// The unit `<prefix>containerd.service`, which `<prefix>docker.service` requires.
[[nodiscard]] std::string render_containerd_unit(const InstanceEnv& env);

/// The unit `<prefix>docker.service`.
[[nodiscard]] std::string render_unit(const InstanceEnv& env, const RenderOptions& options);

/// Where the shared sysbox daemons live (one set per host).
struct SysboxPaths {
  std::filesystem::path bin_dir = "/usr/local/lib/dockyard";
  std::filesystem::path state_dir = "/var/lib/dockyard-sysbox";
  std::filesystem::path log_dir = "/var/log/dockyard-sysbox";
  std::filesystem::path unit = "/etc/systemd/system/dockyard-sysbox.service";
};
/// `dockyard-sysbox.service`: sysbox-mgr and sysbox-fs for every instance;
/// StopWhenUnneeded, so systemd stops it after the last instance that
/// Requires= it has stopped.
[[nodiscard]] std::string render_sysbox_unit(const SysboxPaths& paths);

}  // namespace berth::instance
