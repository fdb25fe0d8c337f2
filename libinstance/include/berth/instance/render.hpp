// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/instance/env.hpp"

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
  std::filesystem::path nft = "/usr/sbin/nft";
  std::filesystem::path iptables = "/usr/sbin/iptables";
  std::filesystem::path ip = "/usr/sbin/ip";
};

/// Paths of an instance's layout.
struct Layout {
  std::filesystem::path root, socket, data_root, runtime, bin, etc, lib, log, run;
  std::filesystem::path daemon_json, env_file, firewall_file, pidfile, containerd_socket;
};
[[nodiscard]] Layout layout_of(const InstanceEnv& env);

/// dockerd's configuration: iptables off, the instance's bridge, fixed CIDR,
/// address pools, exec root, data root, pidfile, socket and group.
[[nodiscard]] std::string render_daemon_json(const InstanceEnv& env, const RenderOptions& options);

/// The instance's nftables table (`inet <prefix>docker`), as an `nft -f`
/// file that replaces the table atomically: forwarding within the instance
/// and out of it, established traffic back in, nothing new in from anywhere
/// else (other instances included), masquerade when leaving the instance.
[[nodiscard]] std::string render_nft_ruleset(const InstanceEnv& env);

/// The original dockyard's four iptables rules, scoped to the bridge name,
/// as argument lists for `iptables` after the -I/-C/-D verb.
[[nodiscard]] std::vector<std::vector<std::string>> iptables_rules(const InstanceEnv& env);

/// The unit `<prefix>docker.service`.
[[nodiscard]] std::string render_unit(const InstanceEnv& env, const RenderOptions& options);

}  // namespace berth::instance
