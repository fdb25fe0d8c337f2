// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/runtime/daemon/router.hpp"
#include "berth/runtime/daemon/workloads.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

/// berthd's control API, `/v1`, in nyxd's shapes (docs/api/openapi.yaml):
/// each add_*_routes puts one group of endpoints on the router. Handlers run
/// on the server's loop; whatever may block (a run, a stop's grace period, a
/// pull) goes to the daemon's worker threads through `Post`, and the reply
/// is sent from there.
namespace berth::runtime::daemon {

struct DaemonInfo {
  std::string daemon = "berthd";
  std::string version;
  std::string commit;
  std::string build_date;
};

/// Requests are small JSON documents (a compose file at most); a longer
/// body is refused (413, JSON) as soon as its Content-Length is read.
inline constexpr std::size_t kMaxRequestBody = std::size_t{4} << 20;

/// Hands a piece of blocking work to a worker thread.
using Post = std::function<void(std::function<void()>)>;

/// GET /v1/ping → {"ok":true}; GET /v1/version → {daemon, version, commit, buildDate}.
void add_system_routes(Router& router, DaemonInfo info);

/// GET /v1/images; POST /v1/images/pull|remove|prune|load.
void add_image_routes(Router& router, std::shared_ptr<Workloads> workloads, Post post);

/// GET /v1/containers[?detail=1], GET /v1/containers/{id} (inspect),
/// POST /v1/containers/run, POST /v1/containers/{id}/stop|kill|remove|wait,
/// GET /v1/containers/{id}/logs.
/// A followed log keeps `workloads` alive while its client reads (it may outlive the daemon's other parts).
void add_container_routes(Router& router, std::shared_ptr<Workloads> workloads, Post post);

/// A workload as inspect shows it (and `ps --json`, one per item).
[[nodiscard]] std::string inspect_json(const WorkloadState& state);

}  // namespace berth::runtime::daemon
