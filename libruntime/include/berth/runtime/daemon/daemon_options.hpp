// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/native/native_backend.hpp"
#include "berth/runtime/daemon/policy.hpp"

#include <cstdint>
#include <map>

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
  std::string exec_root = "/run/berth";  ///< network namespaces and the runtime's state (tmpfs)
  std::string log_max_size = "";      ///< a container log's size before it is rotated: "10m", "512k"; "" never
  unsigned log_max_files = 1;         ///< files a container log keeps, rotated ones included
  bool stop_on_exit = false;          ///< stop every container when berthd stops (off: they keep running)
};

struct DaemonOptions {
  NetDriver net_driver = NetDriver::Native;
  std::filesystem::path cni_bin_dir, cni_conf_dir;
  net::NetworkOptions network;  ///< the default network: its name, and BERTH_CONTAINER_SUBNET / BERTH_GATEWAY_IP
  DnsMode dns = DnsMode::Auto;
  std::filesystem::path base_dir, socket, exec_root;
  std::string socket_group;
  std::string runtime;  ///< "runc", "crun", or "" (crun on a cgroup v2 host, runc otherwise)
  std::int64_t log_max_size = 0;
  unsigned log_max_files = 1;
  bool stop_on_exit = false;
};

/// Checks every setting; the first bad one is one error naming the flag.
/// `environment` is the process's (BERTH_CONTAINER_SUBNET, BERTH_GATEWAY_IP).
[[nodiscard]] core::Result<DaemonOptions> daemon_options(const DaemonSettings& settings,
                                                         const std::map<std::string, std::string>& environment = {});

/// "10m", "512k", "1g", "4096" (bytes) → bytes; an error names the text.
[[nodiscard]] core::Result<std::int64_t> parse_size(std::string_view text);

/// Whether this process may run berthd's own runtime: root, or the
/// capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN; otherwise an error saying
/// what it lacks (`Errc::invalid_argument`, exit code 1).
[[nodiscard]] core::Result<void> check_privileges();

}  // namespace berth::runtime::daemon
