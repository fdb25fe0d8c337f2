// SPDX-License-Identifier: Apache-2.0
// A network backend that lives in memory: one subnet, addresses handed out
// in order, attachments kept by container id; idempotent as the real ones
// are, so callers above libnet (the daemon) can be tested without a kernel.
// It can be told to fail setup or teardown.
#pragma once

#include "berth/core/names.hpp"
#include "berth/net/backend.hpp"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>
#include <string>

namespace berth::test {

class FakeBackend final : public net::Backend {
public:
  explicit FakeBackend(std::string network = "berth", net::Subnet subnet = *net::Subnet::parse("10.88.0.0/16"))
      : network_(std::move(network)), subnet_(std::move(subnet)) {}

  std::string_view driver() const override { return "fake"; }
  core::Result<void> ensure_network() override {
    ensured = true;
    return {};
  }

  core::Result<net::Attachment> setup(const net::SetupRequest& req) override {
    const std::string what = fmt::format("attach container '{}' to network '{}'", req.container_id, network_);
    BERTH_TRY(core::validate_container_id(req.container_id), what);
    if (fail_setup) return fail_setup->wrap(what);
    if (auto it = attached_.find(req.container_id); it != attached_.end()) return it->second;
    std::set<std::uint16_t> taken;
    for (const auto& [id, a] : attached_)
      for (const auto& p : a.ports) taken.insert(static_cast<std::uint16_t>(p.host_port));
    for (const auto& p : req.ports)
      if (taken.count(static_cast<std::uint16_t>(p.host_port)))
        return core::make_error(core::Errc::conflict,
                                fmt::format("{}: port {} is already published", what, p.host_port));
    net::Attachment a;
    a.container_id = req.container_id;
    a.network = network_;
    a.ifname = req.ifname;
    a.host_veth = fmt::format("fake{}", next_);  // names what the fake made, as a host veth would
    a.netns = req.netns;
    a.ports = req.ports;
    a.hostname = req.hostname;
    a.aliases = req.aliases;
    // The lowest addresses in order, after the gateway (the first host).
    const auto address = req.options.ipv4 ? *req.options.ipv4 : *subnet_.nth(2 + next_);
    ++next_;
    a.addresses.push_back({address, subnet_.prefix_length()});
    a.gateways.push_back(*subnet_.nth(1));
    attached_[req.container_id] = a;
    return a;
  }

  core::Result<void> check(const net::SetupRequest& req) override {
    if (!attached_.count(req.container_id))
      return core::make_error(core::Errc::not_found, fmt::format("container '{}' is not attached", req.container_id));
    return {};
  }

  core::Result<std::vector<net::Attachment>> attachments() override {
    std::vector<net::Attachment> out;
    for (const auto& [id, a] : attached_) out.push_back(a);
    return out;
  }

  core::Result<void> teardown(const net::TeardownRequest& req) override {
    const std::string what = fmt::format("detach container '{}' from network '{}'", req.container_id, network_);
    BERTH_TRY(core::validate_container_id(req.container_id), what);
    attached_.erase(req.container_id);  // goes on: the record is gone even when a step fails
    if (fail_teardown) return fail_teardown->wrap(what);
    return {};
  }

  core::Result<void> remove_network() override {
    if (!attached_.empty())
      return core::make_error(core::Errc::conflict, fmt::format("remove network '{}': {} container(s) are attached",
                                                                network_, attached_.size()));
    ensured = false;
    return {};
  }

  bool ensured = false;
  std::optional<core::Error> fail_setup, fail_teardown;

private:
  std::string network_;
  net::Subnet subnet_;
  std::map<std::string, net::Attachment> attached_;
  unsigned next_ = 0;
};

}  // namespace berth::test
