// SPDX-License-Identifier: Apache-2.0
// The unit manager through systemctl and journalctl. Why not sd-bus: the
// verbs are few, each is one short call, and systemctl already waits for a
// start job and says why it failed in one line; linking libsystemd would
// pin the host's systemd version (DEPENDENCIES.md).
#include "berth/runtime/systemd/unit_manager.hpp"

#include "berth/core/process.hpp"

#include <fmt/format.h>

namespace berth::runtime::systemd {
namespace {

using namespace std::chrono_literals;

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return s;
}

class SystemctlManager final : public UnitManager {
public:
  SystemctlManager(Scope scope, std::filesystem::path dir) : scope_(scope), dir_(std::move(dir)) {}

  Scope scope() const override { return scope_; }
  bool available() const override {
    if (scope_ == Scope::System) return systemd_running();
    auto r = core::run({.program = "systemctl", .args = {"--user", "is-system-running"}, .timeout = 10s});
    // "running", "degraded", "starting": a manager answers; no bus means none runs.
    return r && !trimmed(r->out).empty() && trimmed(r->out) != "offline";
  }
  const std::filesystem::path& unit_dir() const override { return dir_; }

  core::Result<void> daemon_reload() override { return call({"daemon-reload"}); }
  core::Result<void> enable(const std::vector<std::string>& units) override {
    return call(with({"enable", "--no-reload"}, units));
  }
  core::Result<void> disable(const std::vector<std::string>& units, bool stop_now) override {
    return call(with(stop_now ? std::vector<std::string>{"disable", "--now"} : std::vector<std::string>{"disable"},
                     units));
  }
  core::Result<void> start(const std::vector<std::string>& units) override {
    auto r = call(with({"start"}, units));
    if (r) return r;
    auto e = std::move(r).error();
    if (auto why = last_log_line(units); !why.empty()) e.context += fmt::format(" (its log ends: {})", why);
    return e;
  }
  core::Result<void> stop(const std::vector<std::string>& units) override { return call(with({"stop"}, units)); }
  core::Result<void> reset_failed(const std::vector<std::string>& units) override {
    return call(with({"reset-failed"}, units));
  }

  std::string active_state(const std::string& unit) override {
    // is-active exits non-zero for anything but "active"; its output is still the state.
    auto r = core::run({.program = "systemctl", .args = args({"is-active", unit}), .timeout = 30s});
    if (!r) return "unknown";
    std::string s(trimmed(r->out));
    return s.empty() ? "unknown" : s;
  }
  bool is_enabled(const std::string& unit) override {
    auto r = core::run({.program = "systemctl", .args = args({"is-enabled", unit}), .timeout = 30s});
    return r && r->success() && trimmed(r->out) == "enabled";
  }

  std::string last_log_line(const std::vector<std::string>& units) override {
    for (const auto& unit : units) {
      // Only what the unit's processes wrote in its latest run (its
      // invocation id), not systemd's own lines about it: dockerd's "failed
      // to start daemon: ..." or an ExecStartPre program's error.
      auto id = core::run(
          {.program = "systemctl", .args = args({"show", "-p", "InvocationID", "--value", unit}), .timeout = 10s});
      if (!id || !id->success() || trimmed(id->out).empty()) continue;
      std::vector<std::string> journal{"--no-pager", "-q", "-o", "cat", "-n", "1",
                                       "_SYSTEMD_INVOCATION_ID=" + std::string(trimmed(id->out))};
      if (scope_ == Scope::User) journal.insert(journal.begin(), "--user");
      auto r = core::run({.program = "journalctl", .args = journal, .timeout = 10s});
      if (!r || !r->success() || trimmed(r->out).empty()) continue;
      std::string line(trimmed(r->out));
      if (line.size() > 300) line = line.substr(line.size() - 300);
      return line;
    }
    return "";
  }

private:
  static std::vector<std::string> with(std::vector<std::string> verb, const std::vector<std::string>& units) {
    verb.insert(verb.end(), units.begin(), units.end());
    return verb;
  }
  std::vector<std::string> args(std::vector<std::string> a) const {
    if (scope_ == Scope::User) a.insert(a.begin(), "--user");
    return a;
  }

  /// `systemctl ARGS...`; a failure names the command and says systemctl's reason.
  core::Result<void> call(std::vector<std::string> a) const {
    a = args(std::move(a));
    std::string command = "systemctl";
    for (const auto& x : a) command += " " + x;
    auto r = core::run({.program = "systemctl", .args = std::move(a), .timeout = 180s});
    if (!r) return std::move(r).error();
    if (r->success()) return {};
    // systemctl says why in its first line ("Job for X failed because the
    // control process exited with error code."); the rest points to journalctl.
    std::string_view err = trimmed(r->err);
    err = trimmed(err.substr(0, err.find('\n')));
    if (err.ends_with('.')) err.remove_suffix(1);  // our error goes on after it
    return core::make_error(core::Errc::child_failed,
                            err.empty() ? fmt::format("{}: exit code {}", command, r->exit_code)
                                        : fmt::format("{}: {}", command, err));
  }

  Scope scope_;
  std::filesystem::path dir_;
};

}  // namespace

std::filesystem::path user_unit_dir(std::string_view home, std::string_view xdg_config_home) {
  if (!xdg_config_home.empty()) return std::filesystem::path(xdg_config_home) / "systemd" / "user";
  return std::filesystem::path(home) / ".config" / "systemd" / "user";
}

std::unique_ptr<UnitManager> make_unit_manager(Scope scope, std::filesystem::path unit_dir) {
  if (unit_dir.empty()) unit_dir = "/etc/systemd/system";
  return std::make_unique<SystemctlManager>(scope, std::move(unit_dir));
}

}  // namespace berth::runtime::systemd
