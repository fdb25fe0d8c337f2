// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/backend.hpp"
#include "berth/net/native/native_backend.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/daemon/health.hpp"
#include "berth/runtime/daemon/policy.hpp"
#include "berth/runtime/daemon/workload.hpp"
#include "berth/runtime/image/pull.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

/// berthd's workloads: containers with their network, DNS names, restart
/// policy and records. A run goes image (pulled when missing) → network
/// namespace → the network backend's setup (ports, internal) →
/// /etc/resolv.conf, hosts, hostname → bundle → start → DNS; what a failed
/// step made is undone. The daemon's record is written before anything else
/// is made, so a daemon killed at any moment finds, at its next start,
/// everything it had begun: open() re-adopts what runs (its network checked
/// and repaired, its name back in DNS, its exit watched) and releases what
/// belongs to nothing (a network namespace, an attachment, a container
/// without a record). Containers never stop because the daemon does.
///
/// Thread-safe: calls on different workloads run side by side (the network
/// backend is taken one call at a time); calls on one workload one after the
/// other. Blocking: the control API calls it from worker threads.
namespace berth::runtime::daemon {

struct WorkloadsOptions {
  std::filesystem::path base_dir = "/var/lib/berth";
  /// Network namespaces (`<exec_root>/netns/<name>`) and the runtime's state.
  std::filesystem::path exec_root = "/run/berth";
  std::string runtime;  ///< "runc", "crun", "" (as the host wants)
  std::filesystem::path monitor;  ///< berth-monitor; empty: found next to the program
  NetDriver driver = NetDriver::Native;
  DnsMode dns = DnsMode::Auto;
  /// The default network (native driver): name, bridge, subnet, gateway.
  net::NetworkOptions network;
  /// The CNI driver: the conflist named `network.name` in conf_dir.
  std::filesystem::path cni_conf_dir = "/etc/cni/net.d";
  std::vector<std::filesystem::path> cni_bin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  std::int64_t log_max_size = 0;
  unsigned log_max_files = 1;
  image::PullOptions pull;
  /// The embedded DNS server's port (53; tests may pick another) and upstreams (unset: the host's resolv.conf).
  std::uint16_t dns_port = 53;
  std::optional<std::vector<net::IpAddress>> dns_upstreams;
  std::filesystem::path host_resolv_conf = "/etc/resolv.conf";
  /// Told what the workloads do on their own (restarts, re-adoption, what was released); from any thread.
  std::function<void(std::string_view message, std::string_view detail)> on_event;
};

/// One step of a run, for a client's progress: a pull's events, then "run".
struct RunEvent {
  std::string phase;  ///< "pull", "layer" (digest, current, total), "pulled", "run"
  std::string message;
  std::string digest;
  std::int64_t current = 0, total = 0;
};

/// A workload as `ps` and inspect show it.
struct WorkloadState {
  container::ContainerState container;
  WorkloadRecord record;
  std::optional<net::Attachment> attachment;
  Health health = Health::None;          ///< None: it has no health check, or it does not run
  std::optional<HealthStatus> health_detail;  ///< while its checks run
  bool restarting = false;  ///< ended, and its policy starts it again after a backoff
};

class Workloads {
public:
  [[nodiscard]] static core::Result<std::unique_ptr<Workloads>> open(WorkloadsOptions options);
  virtual ~Workloads() = default;

  /// "native" or "cni", with the default network's name and subnet, for the daemon's start line.
  [[nodiscard]] virtual std::string driver() const = 0;
  [[nodiscard]] virtual const image::Store& images() const = 0;
  /// How many files a container's log keeps (for reading it back with its rotated files).
  [[nodiscard]] virtual unsigned log_max_files() const = 0;

  /// Runs a workload; its state once it runs. A name in use is `Errc::conflict`.
  [[nodiscard]] virtual core::Result<WorkloadState> run(WorkloadSpec spec,
                                                        const std::function<void(const RunEvent&)>& progress) = 0;
  [[nodiscard]] virtual core::Result<WorkloadState> inspect(const std::string& name) const = 0;
  [[nodiscard]] virtual core::Result<std::vector<WorkloadState>> list() const = 0;
  /// The stop signal, `grace`, KILL; then its network and DNS name are
  /// released. No restart policy starts it again. Its exit code.
  [[nodiscard]] virtual core::Result<int> stop(const std::string& name, std::chrono::milliseconds grace) = 0;
  /// Sends a signal; KILL, TERM, INT or its stop signal count as a stop for its restart policy.
  [[nodiscard]] virtual core::Result<void> kill(const std::string& name, std::string_view signal) = 0;
  /// Deletes a stopped workload and everything it had; a running one is
  /// `Errc::conflict` unless `force` (then it is killed first).
  [[nodiscard]] virtual core::Result<void> remove(const std::string& name, bool force) = 0;
  /// Calls `done` with the exit code once the workload has ended (at once
  /// when it is not running), from the thread that saw it end. An unknown
  /// name is an error, returned at once.
  [[nodiscard]] virtual core::Result<void> on_exit(const std::string& name, std::function<void(int)> done) = 0;
  /// Runs `argv` in a running workload as its own process runs (user,
  /// environment, working directory), no stdin; past `timeout` it is killed.
  [[nodiscard]] virtual core::Result<container::ExecResult> exec(const std::string& name,
                                                                 const std::vector<std::string>& argv,
                                                                 std::chrono::milliseconds timeout) = 0;
  /// Stops every running workload at once (berthd's opt-in --stop-on-exit).
  virtual void stop_all(std::chrono::milliseconds grace) = 0;
  /// Pulls an image into the store.
  [[nodiscard]] virtual core::Result<image::StoredImage> pull(const std::string& reference,
                                                              const std::function<void(const RunEvent&)>& progress) = 0;
  /// Forgets an image name; refused (`Errc::conflict`) while a workload uses it, unless `force`.
  [[nodiscard]] virtual core::Result<void> remove_image(const std::string& reference, bool force) = 0;
};

/// A name for a workload that has none: the image's last path component
/// and 8 random hex digits ("busybox-3f9a0c12").
[[nodiscard]] std::string generate_name(std::string_view image);

}  // namespace berth::runtime::daemon
