// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/fs.hpp"
#include "berth/core/store.hpp"
#include "berth/instance/env.hpp"
#include "berth/instance/render.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace berth::instance {

/// How an instance was created.
struct InstanceOptions {
  bool systemd = true;  ///< a unit runs it; false: dockyard starts dockerd itself
  FirewallMode firewall = FirewallMode::Nftables;
  bool sysbox = false;  ///< sysbox-runc registered; the shared sysbox daemons are required
  friend bool operator==(const InstanceOptions&, const InstanceOptions&) = default;
};

struct InstanceRecord {
  InstanceEnv env;
  InstanceOptions options;
};

[[nodiscard]] std::string_view firewall_name(FirewallMode mode);
[[nodiscard]] core::Result<FirewallMode> parse_firewall(std::string_view name);

/// The host's list of instances: `<dir>/<prefix>.env` (the env file, which
/// gen-env reads to avoid other instances) and `<dir>/<prefix>.json` (how it
/// was created). Written atomically; `lock()` serialises creates and destroys.
class Inventory {
public:
  explicit Inventory(std::filesystem::path dir = "/etc/dockyard/instances")
      : records_(std::move(dir), {.directory = 0755, .record = 0644}) {}
  [[nodiscard]] const std::filesystem::path& dir() const { return records_.dir(); }
  [[nodiscard]] core::Result<core::FileLock> lock() const;
  [[nodiscard]] core::Result<void> save(const InstanceRecord& record) const;
  /// The instance with this prefix, or nullopt.
  [[nodiscard]] core::Result<std::optional<InstanceRecord>> load(const std::string& prefix) const;
  /// Every instance, by prefix.
  [[nodiscard]] core::Result<std::vector<InstanceRecord>> list() const;
  /// Forgets an instance; an unknown one is fine.
  [[nodiscard]] core::Result<void> remove(const std::string& prefix) const;

private:
  core::RecordStore records_;
};

}  // namespace berth::instance
