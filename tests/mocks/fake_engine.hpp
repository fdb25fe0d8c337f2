// SPDX-License-Identifier: Apache-2.0
// A dockerd that lives in memory: containers by id, removals recorded.
#pragma once

#include "berth/runtime/docker/engine.hpp"

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace berth::test {

/// What the fakes of one dockerd share (the factory hands out one fake per call).
struct FakeDockerd {
  std::mutex mutex;
  bool answering = true;
  std::set<std::string> containers;
  std::vector<std::string> removed;
};

class FakeEngine final : public runtime::docker::Engine {
public:
  FakeEngine(std::filesystem::path socket, std::shared_ptr<FakeDockerd> d)
      : socket_(std::move(socket)), d_(std::move(d)) {}

  const std::filesystem::path& socket() const override { return socket_; }
  bool ping(std::chrono::milliseconds) override {
    std::lock_guard lock(d_->mutex);
    return d_->answering;
  }
  core::Result<std::vector<std::string>> list_containers() override {
    std::lock_guard lock(d_->mutex);
    if (!d_->answering) return core::errno_error(ECONNREFUSED, "GET /containers/json on '" + socket_.string() + "'");
    return std::vector<std::string>(d_->containers.begin(), d_->containers.end());
  }
  core::Result<void> remove_container(std::string_view id) override {
    std::lock_guard lock(d_->mutex);
    d_->containers.erase(std::string(id));
    d_->removed.emplace_back(id);
    return {};
  }

  /// A factory for HostPaths::docker whose engines all share `d`.
  static runtime::docker::EngineFactory factory(std::shared_ptr<FakeDockerd> d) {
    return [d](const std::filesystem::path& socket) { return std::make_unique<FakeEngine>(socket, d); };
  }

private:
  std::filesystem::path socket_;
  std::shared_ptr<FakeDockerd> d_;
};

}  // namespace berth::test
