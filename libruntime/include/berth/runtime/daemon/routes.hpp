// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/daemon/router.hpp"
#include "berth/runtime/image/store.hpp"

#include <string>

/// berthd's control API, `/v1`, in nyxd's shapes (docs/api/openapi.yaml):
/// each add_*_routes puts one group of endpoints on the router. Handlers run
/// on the server's loop: these answer from records and files at once.
namespace berth::runtime::daemon {

struct DaemonInfo {
  std::string daemon = "berthd";
  std::string version;
  std::string commit;
  std::string build_date;
};

/// GET /v1/ping → {"ok":true}; GET /v1/version → {daemon, version, commit, buildDate}.
void add_system_routes(Router& router, DaemonInfo info);

/// GET /v1/images → {"images":[name...], "items":[{name, digest, size}...]}.
void add_image_routes(Router& router, const image::Store& images);

/// GET /v1/containers[?detail=1] → {"containers":[id...]} (and "items");
/// GET /v1/containers/{id} → the container's inspect document.
void add_container_routes(Router& router, const container::Containers& containers);

}  // namespace berth::runtime::daemon
