// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/workload.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

/// A workload's health as Docker keeps it: "starting" until a probe first
/// passes (failures inside the start period do not count until then),
/// "healthy" after a pass, "unhealthy" after `retries` failures in a row.
/// The probes themselves run in the daemon (see Workloads); this is the
/// bookkeeping, with no clock or process of its own, so a test reaches it.
namespace berth::runtime::daemon {

enum class Health { None, Starting, Healthy, Unhealthy };
[[nodiscard]] std::string_view health_name(Health h);

/// One probe: Docker's convention, exit code 0 passed, 1 failed.
struct ProbeResult {
  std::int64_t start_ms = 0, end_ms = 0;  ///< Unix milliseconds
  int exit_code = 1;
  std::string output;  ///< what the command printed, or why the probe failed; at most kMaxProbeOutput
};
inline constexpr std::size_t kMaxProbeOutput = 4096;
inline constexpr std::size_t kProbeLogSize = 5;  ///< results kept, as Docker's

struct HealthStatus {
  Health status = Health::Starting;
  unsigned failing_streak = 0;
  bool passed_once = false;     ///< since the container's last start
  std::deque<ProbeResult> log;  ///< the last kProbeLogSize results, oldest first
};

/// Takes `result` into `status` by Docker's rules. `started_ms` is the
/// container's last start.
void record_probe(HealthStatus& status, const HealthCheck& check, ProbeResult result, std::int64_t started_ms);

/// An HTTP check's target. The host is the container's own address unless
/// the URL names an IP literal ("{address}", "localhost" and no host at all
/// mean the container); no names (a probe runs in the container's network,
/// where the daemon resolves nothing).
struct HealthUrl {
  std::string host;  ///< an IP literal, or empty: the container's address
  int port = 80;
  std::string path = "/";
};
/// "/healthz", ":8080/healthz", "http://{address}:8080/healthz", "http://127.0.0.1/x".
[[nodiscard]] core::Result<HealthUrl> parse_health_url(std::string_view url);

}  // namespace berth::runtime::daemon
