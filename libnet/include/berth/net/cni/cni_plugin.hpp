// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/native/native_backend.hpp"

#include <map>
#include <string>
#include <vector>

/// berth's native backend as a CNI plugin (the `berth-cni` executable):
/// ADD, DEL, CHECK and VERSION of CNI 1.0.0, STATUS and GC of 1.1.0.
///
/// Network configuration keys (all optional but "name"):
///   bridge (berth0), subnet (10.88.0.0/16), gateway (first host), subnet6,
///   gateway6, internal (false), mtu (kernel default), firewallTable (berth),
///   stateDir (/var/lib/berth/cni), uplinks ([] = default-route interfaces),
///   capabilities.portMappings + runtimeConfig.portMappings
///   ([{hostPort, containerPort, protocol, hostIP}]).
namespace berth::net::cni {

/// One plugin call: the CNI_* environment and the configuration on stdin.
struct Invocation {
  std::string command;
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;
  std::string path;
  std::string config;  ///< stdin
};

/// What the plugin prints on stdout and exits with.
struct Outcome {
  int exit_code = 0;
  std::string out;
};

/// Reads CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH.
[[nodiscard]] Invocation invocation_from_environment(const std::map<std::string, std::string>& env,
                                                     std::string config);

/// The parsed configuration of a berth-cni network.
struct PluginConfig {
  std::string cni_version;
  NativeBackendOptions backend;
  std::vector<PortMapping> port_mappings;
  /// GC's cni.dev/valid-attachments: (container id, ifname).
  std::vector<std::pair<std::string, std::string>> valid_attachments;
};

/// Parses the configuration on stdin; errors name the key.
[[nodiscard]] core::Result<PluginConfig> parse_plugin_config(std::string_view json);

/// Runs one call. Never fails: an error becomes CNI's error JSON and a
/// non-zero exit code, as the spec wants. For a plugin process that exits
/// right after: DEL leaves the kernel's last wait on the veth and GC and DEL
/// the release of the firewall's socket to detached children.
[[nodiscard]] Outcome run_plugin(const Invocation& call);

}  // namespace berth::net::cni
