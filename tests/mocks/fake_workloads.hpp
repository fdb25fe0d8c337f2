// SPDX-License-Identifier: Apache-2.0
// berthd's workloads in memory: a run is recorded and "runs" until it is
// stopped or killed, with the exit code the test chooses; nothing touches
// the kernel. For the control API's tests (shapes, errors, routing) without
// root. The real Workloads has its own tests in namespaces.
#pragma once

#include "berth/core/names.hpp"
#include "berth/runtime/daemon/workloads.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>

namespace berth::test {

class FakeWorkloads final : public runtime::daemon::Workloads {
public:
  explicit FakeWorkloads(runtime::image::Store images) : images_(std::move(images)) {}

  int exit_code = 0;  ///< what a stopped or killed workload exits with

  std::string driver() const override { return "fake"; }
  const runtime::image::Store& images() const override { return images_; }
  unsigned log_max_files() const override { return 1; }

  core::Result<runtime::daemon::WorkloadState> run(
      runtime::daemon::WorkloadSpec spec,
      const std::function<void(const runtime::daemon::RunEvent&)>& progress) override {
    std::lock_guard g(m_);
    if (spec.name.empty()) spec.name = runtime::daemon::generate_name(spec.image);
    if (by_name_.contains(spec.name))
      return core::make_error(core::Errc::conflict, fmt::format("the name '{}' is in use by a container", spec.name));
    if (progress) progress({.phase = "pull", .message = "pulling " + spec.image});
    runtime::daemon::WorkloadState s;
    s.container.id = spec.name;
    s.container.image = spec.image;
    s.container.status = runtime::container::Status::Running;
    s.container.pid = 4242;
    s.container.stop_signal = "SIGTERM";
    s.record.spec = spec;
    s.record.network = "berth";
    by_name_[spec.name] = s;
    return s;
  }
  core::Result<runtime::daemon::WorkloadState> inspect(const std::string& name) const override {
    std::lock_guard g(m_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return core::make_error(core::Errc::not_found, fmt::format("no such container '{}'", name));
    return it->second;
  }
  core::Result<std::vector<runtime::daemon::WorkloadState>> list() const override {
    std::lock_guard g(m_);
    std::vector<runtime::daemon::WorkloadState> out;
    for (const auto& [n, s] : by_name_) out.push_back(s);
    return out;
  }
  core::Result<int> stop(const std::string& name, std::chrono::milliseconds) override {
    BERTH_TRY(end(name), "stop");
    return exit_code;
  }
  core::Result<void> kill(const std::string& name, std::string_view) override { return end(name); }
  core::Result<void> remove(const std::string& name, bool force) override {
    std::lock_guard g(m_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return core::make_error(core::Errc::not_found, fmt::format("no such container '{}'", name));
    if (it->second.container.status == runtime::container::Status::Running && !force)
      return core::make_error(core::Errc::conflict, fmt::format("container '{}' is running", name));
    by_name_.erase(it);
    return {};
  }
  core::Result<void> on_exit(const std::string& name, std::function<void(int)> done) override {
    auto s = inspect(name);
    if (!s) return s.error();
    done(s->container.exit_code.value_or(0));
    return {};
  }
  core::Result<runtime::container::ExecResult> exec(const std::string& name, const std::vector<std::string>& argv,
                                                    std::chrono::milliseconds) override {
    auto s = inspect(name);
    if (!s) return s.error();
    if (s->container.status != runtime::container::Status::Running)
      return core::make_error(core::Errc::conflict, fmt::format("exec in container '{}': it is not running", name));
    std::string joined;
    for (const auto& a : argv) joined += (joined.empty() ? "" : " ") + a;
    return runtime::container::ExecResult{.exit_code = exit_code, .out = "ran " + joined + "\n", .err = ""};
  }
  void stop_all(std::chrono::milliseconds) override {}
  core::Result<runtime::image::StoredImage> pull(const std::string& reference,
                                                 const std::function<void(const runtime::daemon::RunEvent&)>&) override {
    return core::make_error(core::Errc::not_found, fmt::format("no registry here for '{}'", reference));
  }
  core::Result<void> remove_image(const std::string& reference, bool) override {
    return core::make_error(core::Errc::not_found, fmt::format("no such image '{}'", reference));
  }

private:
  core::Result<void> end(const std::string& name) {
    std::lock_guard g(m_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return core::make_error(core::Errc::not_found, fmt::format("no such container '{}'", name));
    it->second.container.status = runtime::container::Status::Stopped;
    it->second.container.exit_code = exit_code;
    it->second.container.pid.reset();
    return {};
  }
  runtime::image::Store images_;
  mutable std::mutex m_;
  std::map<std::string, runtime::daemon::WorkloadState> by_name_;
};

}  // namespace berth::test
