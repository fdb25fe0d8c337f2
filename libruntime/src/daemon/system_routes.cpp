// SPDX-License-Identifier: Apache-2.0
// GET /v1/ping and GET /v1/version.
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/routes.hpp"

#include <boost/json.hpp>

namespace berth::runtime::daemon {

void add_system_routes(Router& router, DaemonInfo info) {
  router.add("GET", "/v1/ping", [](ApiRequest, std::shared_ptr<core::http::Reply> reply) {
    reply->send(json_response(200, R"({"ok":true})"));
  });
  const std::string version = boost::json::serialize(boost::json::object{
      {"daemon", info.daemon}, {"version", info.version}, {"commit", info.commit}, {"buildDate", info.build_date}});
  router.add("GET", "/v1/version", [version](ApiRequest, std::shared_ptr<core::http::Reply> reply) {
    reply->send(json_response(200, version));
  });
}

}  // namespace berth::runtime::daemon
