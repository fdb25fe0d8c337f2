// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/policy.hpp"

#include <filesystem>
#include <string>

/// berthd's settings: the flags as typed (DaemonSettings) and what they
/// mean once checked (DaemonOptions).
namespace berth::runtime::daemon {

/// berthd's flags, as the nyxd seed names them, with their defaults.
struct DaemonSettings {
  std::string net_driver = "native";  ///< native | cni
  std::string cni_bin_dir = "/usr/lib/cni";
  std::string cni_conf_dir = "/etc/cni/net.d";
  std::string network = "berth";     ///< the default network's name
  std::string dns = "auto";           ///< auto | embedded | cni | off
  std::string base_dir = "/var/lib/berth";
  std::string socket = "/run/berth/berthd.sock";
  std::string socket_group = "berth";
  std::string runtime = "auto";       ///< runc | crun | auto
};

struct DaemonOptions {
  NetDriver net_driver = NetDriver::Native;
  std::filesystem::path cni_bin_dir, cni_conf_dir;
  std::string network;
  DnsMode dns = DnsMode::Auto;
  std::filesystem::path base_dir, socket;
  std::string socket_group;
  std::string runtime;  ///< "runc", "crun", or "" (crun on a cgroup v2 host, runc otherwise)
};

/// Checks every setting; the first bad one is one error naming the flag.
[[nodiscard]] core::Result<DaemonOptions> daemon_options(const DaemonSettings& settings);

/// Whether this process may run berthd's own runtime: root, or the
/// capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN; otherwise an error saying
/// what it lacks (`Errc::invalid_argument`, exit code 1).
[[nodiscard]] core::Result<void> check_privileges();

}  // namespace berth::runtime::daemon
