// SPDX-License-Identifier: Apache-2.0
// A systemd that lives in memory: units are enabled, started and stopped by
// name, every call is recorded, and a unit can be told to fail its start.
#pragma once

#include "berth/runtime/systemd/unit_manager.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace berth::test {

class FakeUnitManager final : public runtime::systemd::UnitManager {
public:
  explicit FakeUnitManager(std::filesystem::path dir, bool available = true)
      : dir_(std::move(dir)), available_(available) {}

  runtime::systemd::Scope scope() const override { return runtime::systemd::Scope::System; }
  bool available() const override { return available_; }
  const std::filesystem::path& unit_dir() const override { return dir_; }

  core::Result<void> daemon_reload() override {
    calls.push_back("daemon-reload");
    return {};
  }
  core::Result<void> enable(const std::vector<std::string>& units) override {
    record("enable", units);
    enabled.insert(units.begin(), units.end());
    return {};
  }
  core::Result<void> disable(const std::vector<std::string>& units, bool stop_now) override {
    record(stop_now ? "disable --now" : "disable", units);
    for (const auto& u : units) {
      enabled.erase(u);
      if (stop_now) active.erase(u);
    }
    return {};
  }
  core::Result<void> start(const std::vector<std::string>& units) override {
    record("start", units);
    for (const auto& u : units) {
      if (auto f = failing.find(u); f != failing.end())
        return core::make_error(core::Errc::child_failed,
                                fmt::format("systemctl start {}: {} (its log ends: {})", u, "Job failed", f->second));
      active.insert(u);
    }
    return {};
  }
  core::Result<void> stop(const std::vector<std::string>& units) override {
    record("stop", units);
    for (const auto& u : units) active.erase(u);
    return {};
  }
  core::Result<void> reset_failed(const std::vector<std::string>& units) override {
    record("reset-failed", units);
    return {};
  }
  std::string active_state(const std::string& unit) override { return active.count(unit) ? "active" : "inactive"; }
  bool is_enabled(const std::string& unit) override { return enabled.count(unit) > 0; }
  std::string last_log_line(const std::vector<std::string>& units) override {
    for (const auto& u : units)
      if (auto f = failing.find(u); f != failing.end()) return f->second;
    return "";
  }

  std::vector<std::string> calls;          ///< "start a.service b.service", in order
  std::set<std::string> enabled, active;
  std::map<std::string, std::string> failing;  ///< unit -> the line its start logs

private:
  void record(const std::string& verb, const std::vector<std::string>& units) {
    std::string line = verb;
    for (const auto& u : units) line += " " + u;
    calls.push_back(line);
  }
  std::filesystem::path dir_;
  bool available_;
};

}  // namespace berth::test
