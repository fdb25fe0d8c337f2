// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime::systemd {

/// Which systemd: the host's (PID 1, units in /etc/systemd/system) or the
/// calling user's (units in ~/.config/systemd/user).
enum class Scope { System, User };

/// True when systemd runs this host as PID 1 (/run/systemd/system exists).
[[nodiscard]] bool systemd_running();

/// One systemd manager's units: their files' directory and the verbs berth
/// needs. Every failure names the verb and the units, with systemctl's own
/// reason. Implementations: `make_unit_manager` (systemctl); tests use fakes
/// (tests/mocks). Not thread-safe.
class UnitManager {
public:
  virtual ~UnitManager() = default;

  [[nodiscard]] virtual Scope scope() const = 0;
  /// Whether this manager runs here (for the system scope: systemd is PID 1).
  [[nodiscard]] virtual bool available() const = 0;
  /// Where unit files go.
  [[nodiscard]] virtual const std::filesystem::path& unit_dir() const = 0;

  [[nodiscard]] virtual core::Result<void> daemon_reload() = 0;
  /// Enables units for boot, without a reload and without starting them.
  [[nodiscard]] virtual core::Result<void> enable(const std::vector<std::string>& units) = 0;
  /// Disables units, and stops them with `stop_now`.
  [[nodiscard]] virtual core::Result<void> disable(const std::vector<std::string>& units, bool stop_now) = 0;
  /// Starts units and waits for their start jobs; a failure adds the last
  /// line the units' processes logged (dockerd's own words, say).
  [[nodiscard]] virtual core::Result<void> start(const std::vector<std::string>& units) = 0;
  [[nodiscard]] virtual core::Result<void> stop(const std::vector<std::string>& units) = 0;
  [[nodiscard]] virtual core::Result<void> reset_failed(const std::vector<std::string>& units) = 0;

  /// "active", "inactive", "failed", "activating", ...; "unknown" when systemd cannot say.
  [[nodiscard]] virtual std::string active_state(const std::string& unit) = 0;
  [[nodiscard]] virtual bool is_enabled(const std::string& unit) = 0;
  /// The last line that the first of `units` to have one logged in its
  /// latest run ("" when none did, or there is no journal).
  [[nodiscard]] virtual std::string last_log_line(const std::vector<std::string>& units) = 0;
};

/// Where a user's units go: $XDG_CONFIG_HOME/systemd/user, or
/// ~/.config/systemd/user when XDG_CONFIG_HOME is empty.
[[nodiscard]] std::filesystem::path user_unit_dir(std::string_view home, std::string_view xdg_config_home);

/// The manager of `scope` through systemctl (and journalctl), with its unit
/// files in `unit_dir` (empty: /etc/systemd/system; for the user scope pass
/// `user_unit_dir(...)`).
[[nodiscard]] std::unique_ptr<UnitManager> make_unit_manager(Scope scope, std::filesystem::path unit_dir = {});

}  // namespace berth::runtime::systemd
