// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/backend.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth::net {

struct CniBackendOptions {
  /// The network: the "name" of a conflist (or single .conf) in `conf_dir`.
  std::string network;
  std::filesystem::path conf_dir = "/etc/cni/net.d";
  /// Where plugins are looked up, in order (also passed as CNI_PATH).
  std::vector<std::filesystem::path> bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  /// Cached ADD results (prevResult for DEL and CHECK, across restarts).
  std::filesystem::path state_dir = "/var/lib/berth/cni";
  /// A plugin running longer is killed and the call fails.
  std::chrono::milliseconds plugin_timeout{30000};
  /// The network was declared internal; CNI cannot enforce that, so setup warns.
  bool internal = false;
  /// Receives warnings that are not errors (libraries do not print).
  std::function<void(const std::string&)> warn;
};

/// Runs standard CNI plugins (spec 1.0.0: ADD in order, DEL in reverse,
/// CHECK, VERSION negotiation) as a `net::Backend`. Not thread-safe.
[[nodiscard]] core::Result<std::unique_ptr<Backend>> make_cni_backend(CniBackendOptions options);

}  // namespace berth::net
