// SPDX-License-Identifier: Apache-2.0
// A firewall that lives in memory: it keeps the state it is given, records
// every call, and fails a call when told to, so a test can see what a
// backend asks of its firewall and what it does when the firewall fails.
#pragma once

#include "berth/net/firewall/firewall.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace berth::test {

class FakeFirewall final : public net::Firewall {
public:
  std::string table() const override { return "inet fake"; }

  void adopt(net::FirewallState state) override {
    std::lock_guard lock(mutex_);
    state_ = std::move(state);
  }
  net::FirewallState state() const override {
    std::lock_guard lock(mutex_);
    return state_;
  }

  core::Result<void> add_network(const net::FirewallNetwork& n) override {
    return call("add_network " + n.name, [&] {
      std::erase_if(state_.networks, [&](const auto& x) { return x.name == n.name; });
      state_.networks.push_back(n);
    });
  }
  core::Result<void> remove_network(std::string_view name) override {
    return call("remove_network " + std::string(name),
                [&] { std::erase_if(state_.networks, [&](const auto& x) { return x.name == name; }); });
  }
  core::Result<void> connect(std::string_view a, std::string_view b) override {
    return call(fmt::format("connect {} {}", a, b), [&] { state_.connections.emplace_back(a, b); });
  }
  core::Result<void> disconnect(std::string_view a, std::string_view b) override {
    return call(fmt::format("disconnect {} {}", a, b), [&] {
      std::erase_if(state_.connections, [&](const auto& c) { return c == std::pair<std::string, std::string>(a, b); });
    });
  }
  core::Result<void> add_zone(const net::FirewallZone& z) override {
    return call("add_zone " + z.name, [&] { state_.zones.push_back(z); });
  }
  core::Result<void> remove_zone(std::string_view name) override {
    return call("remove_zone " + std::string(name),
                [&] { std::erase_if(state_.zones, [&](const auto& z) { return z.name == name; }); });
  }
  core::Result<void> add_ports(std::span<const net::PublishedPort> ports) override {
    std::string what = "add_ports";
    for (const auto& p : ports) what += fmt::format(" {}:{}->{}", p.owner, p.host_port, p.container_port);
    return call(what, [&] { state_.ports.insert(state_.ports.end(), ports.begin(), ports.end()); });
  }
  core::Result<void> remove_ports(std::string_view owner) override {
    return call("remove_ports " + std::string(owner),
                [&] { std::erase_if(state_.ports, [&](const auto& p) { return p.owner == owner; }); });
  }
  core::Result<std::vector<std::string>> verify() override {
    std::lock_guard lock(mutex_);
    calls.push_back("verify");
    return std::vector<std::string>{};
  }
  core::Result<void> repair() override { return call("repair", [] {}); }
  core::Result<void> remove() override { return call("remove", [&] { state_ = {}; }); }
  core::Result<void> start_monitor(std::function<void(const core::Result<std::vector<std::string>>&)>) override {
    return call("start_monitor", [] {});
  }

  /// Makes every later call whose record starts with `prefix` fail with `error`.
  void fail(std::string prefix, core::Error error) {
    std::lock_guard lock(mutex_);
    failures_.emplace_back(std::move(prefix), std::move(error));
  }

  /// Every call, in order ("add_ports web:8080->80", "remove_ports web").
  std::vector<std::string> calls;

private:
  template <class F>
  core::Result<void> call(std::string what, F&& apply) {
    std::lock_guard lock(mutex_);
    calls.push_back(what);
    for (const auto& [prefix, error] : failures_)
      if (what.starts_with(prefix)) return error;
    apply();
    return {};
  }

  mutable std::mutex mutex_;
  net::FirewallState state_;
  std::vector<std::pair<std::string, core::Error>> failures_;
};

}  // namespace berth::test
